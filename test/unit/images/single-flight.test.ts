import { describe, expect, it } from 'vitest';
import { SingleFlight } from '../../../src/runtime/images/single-flight.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('SingleFlight', () => {
  it('runs the work once for concurrent callers of one key, again once it settled', async () => {
    const sf = new SingleFlight<number>();
    let runs = 0;
    const d = deferred<number>();
    const work = () => (runs++, d.promise);
    const all = Promise.all([sf.run('k', work), sf.run('k', work), sf.run('k', work)]);
    expect(sf.size).toBe(1);
    d.resolve(7);
    expect(await all).toEqual([7, 7, 7]);
    expect(runs).toBe(1);
    expect(sf.size).toBe(0);
    expect(await sf.run('k', async () => (runs++, 8))).toBe(8);
    expect(runs).toBe(2);
  });

  it('keeps keys apart and shares failures', async () => {
    const sf = new SingleFlight<string>();
    const d = deferred<string>();
    const a = [sf.run('a', () => d.promise), sf.run('a', () => d.promise)];
    const b = sf.run('b', async () => 'b');
    expect(await b).toBe('b');
    d.reject(new Error('boom'));
    for (const p of a) await expect(p).rejects.toThrow('boom');
  });

  it('a caller that gives up does not abort the work for the others', async () => {
    const sf = new SingleFlight<string>();
    const d = deferred<string>();
    let workSignal!: AbortSignal;
    const work = (s: AbortSignal) => ((workSignal = s), d.promise);
    const impatient = new AbortController();
    const p1 = sf.run('k', work, impatient.signal);
    const p2 = sf.run('k', work, new AbortController().signal);
    impatient.abort(new Error('gave up'));
    await expect(p1).rejects.toThrow('gave up');
    expect(workSignal.aborted).toBe(false);
    d.resolve('ok');
    expect(await p2).toBe('ok');
  });

  it('aborts the work when every caller gave up, and a new caller starts afresh', async () => {
    const sf = new SingleFlight<string>();
    const signals: AbortSignal[] = [];
    const work = (s: AbortSignal) =>
      new Promise<string>((resolve, reject) => {
        signals.push(s);
        s.addEventListener('abort', () => reject(s.reason));
        if (signals.length === 2) resolve('second');
      });
    const c1 = new AbortController();
    const c2 = new AbortController();
    const p1 = sf.run('k', work, c1.signal);
    const p2 = sf.run('k', work, c2.signal);
    c1.abort(new Error('one'));
    c2.abort(new Error('two'));
    await expect(p1).rejects.toThrow('one');
    await expect(p2).rejects.toThrow('two');
    expect(signals[0]!.aborted).toBe(true);
    expect(await sf.run('k', work)).toBe('second');
  });
});
