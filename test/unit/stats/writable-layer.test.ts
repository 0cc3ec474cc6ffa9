import { describe, expect, it } from 'vitest';
import { WritableLayerCache } from '../../../src/runtime/stats/writable-layer.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('writable layer cache', () => {
  it('waits for the first walk, then answers from the cache within the TTL', async () => {
    let now = 1_000_000;
    const walks: string[] = [];
    const cache = new WritableLayerCache({
      ttlMs: 30_000,
      now: () => now,
      measure: async (dir) => {
        walks.push(dir);
        return { usedBytes: 4096 * walks.length, inodesUsed: 3 };
      },
    });
    expect(await cache.usage('c1', '/l/c1')).toEqual({ usedBytes: 4096n, inodesUsed: 3n, timestampNs: BigInt(now) * 1_000_000n });
    now += 29_999;
    expect((await cache.usage('c1', '/l/c1'))?.usedBytes).toBe(4096n);
    expect(walks).toEqual(['/l/c1']);
  });

  it('after the TTL answers the stale value at once and walks again in the background, once', async () => {
    let now = 0;
    const gate = deferred<{ usedBytes: number; inodesUsed: number }>();
    let calls = 0;
    const cache = new WritableLayerCache({
      ttlMs: 30_000,
      now: () => now,
      measure: async () => (++calls === 1 ? { usedBytes: 100, inodesUsed: 1 } : gate.promise),
    });
    await cache.usage('c', '/d');
    now = 30_000;
    expect((await cache.usage('c', '/d'))?.usedBytes).toBe(100n);
    expect((await cache.usage('c', '/d'))?.usedBytes).toBe(100n);
    expect(calls).toBe(2);
    gate.resolve({ usedBytes: 500, inodesUsed: 2 });
    await flush();
    expect((await cache.usage('c', '/d'))?.usedBytes).toBe(500n);
    expect(calls).toBe(2);
  });

  it('shares one walk between concurrent first callers', async () => {
    let calls = 0;
    const cache = new WritableLayerCache({
      measure: async () => {
        calls++;
        await flush();
        return { usedBytes: 1, inodesUsed: 1 };
      },
    });
    const all = await Promise.all([cache.usage('c', '/d'), cache.usage('c', '/d'), cache.usage('c', '/d')]);
    expect(all.every((u) => u?.usedBytes === 1n)).toBe(true);
    expect(calls).toBe(1);
  });

  it('runs at most `concurrency` walks at once', async () => {
    let active = 0;
    let peak = 0;
    const cache = new WritableLayerCache({
      concurrency: 2,
      measure: async () => {
        active++;
        peak = Math.max(peak, active);
        await flush();
        await flush();
        active--;
        return { usedBytes: 1, inodesUsed: 1 };
      },
    });
    await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((k) => cache.usage(k, `/${k}`)));
    expect(peak).toBe(2);
    expect(cache.size).toBe(6);
    cache.retain(new Set(['a']));
    expect(cache.size).toBe(1);
  });

  it('answers null when the first walk fails, and tries again on the next call', async () => {
    const errors: string[] = [];
    let fail = true;
    const cache = new WritableLayerCache({
      onError: (key) => errors.push(key),
      measure: async () => {
        if (fail) throw new Error('du: no such directory');
        return { usedBytes: 7, inodesUsed: 1 };
      },
    });
    expect(await cache.usage('c', '/gone')).toBeNull();
    expect(errors).toEqual(['c']);
    fail = false;
    expect((await cache.usage('c', '/gone'))?.usedBytes).toBe(7n);
  });
});
