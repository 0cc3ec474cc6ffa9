/**
 * LiveView over a fake Docker: an inspect a caller already made feeds the view (and a
 * newer read still wins), and a Docker event costs an inspect only when the state we
 * hold was read before the event happened.
 */
import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../src/logger.js';
import { LiveView } from '../../../src/runtime/live-view.js';

function inspectState(status: string, pid = 0) {
  return { Status: status, Running: status === 'running', Pid: pid, ExitCode: 0, StartedAt: '2026-01-01T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z', OOMKilled: false, Error: '' };
}

function fakeDocker(states: Map<string, ReturnType<typeof inspectState>>) {
  const calls: string[] = [];
  return {
    calls,
    docker: {
      getContainer: (id: string) => ({
        inspect: async () => {
          calls.push(id);
          const State = states.get(id);
          if (!State) throw Object.assign(new Error('gone'), { statusCode: 404 });
          return { Id: id, State };
        },
      }),
    } as any,
  };
}

const event = (id: string, action: string, whenMs: number) => ({ id, action, labels: {}, timeNano: String(whenMs * 1e6) });

describe('LiveView', () => {
  it('takes a caller\'s inspect through mark/observe, and a read marked later wins over it', async () => {
    const states = new Map([['p', inspectState('exited')]]);
    const { docker } = fakeDocker(states);
    const view = new LiveView(docker, silentLogger, 'test');
    const early = view.mark();
    await view.refresh('p'); // marked after `early`: newer
    view.observe('p', inspectState('running', 42) as any, early);
    expect(view.get('p')?.state).toBe('exited');
    const late = view.mark();
    view.observe('p', inspectState('running', 43) as any, late);
    expect(view.get('p')).toMatchObject({ state: 'running', pid: 43 });
  });

  it('skips the inspect for an event older than its last read, and makes it for a newer one', async () => {
    const states = new Map([['c', inspectState('running', 7)]]);
    const { docker, calls } = fakeDocker(states);
    const view = new LiveView(docker, silentLogger, 'test');
    const seen: string[] = [];
    view.emitter.on('event', (e: { action: string }) => seen.push(e.action));
    await view.refresh('c');
    expect(calls).toHaveLength(1);
    // Our own start, read just now: the event carries nothing new.
    await (view as any).onEvent(event('c', 'start', Date.now() - 1000));
    expect(calls).toHaveLength(1);
    // The process dies on its own later: the event is newer than our read.
    states.set('c', inspectState('exited'));
    await (view as any).onEvent(event('c', 'die', Date.now() + 1000));
    expect(calls).toHaveLength(2);
    expect(view.get('c')?.state).toBe('exited');
    // An event with no time is never taken as seen.
    await (view as any).onEvent({ ...event('c', 'die', 0), timeNano: '0' });
    expect(calls).toHaveLength(3);
    expect(seen).toEqual(['start', 'die', 'die']);
  });

  it('notes our own stop of a pause container as exited with no inspect, and its die event as seen', async () => {
    const states = new Map([['p', inspectState('running', 9)]]);
    const { docker, calls } = fakeDocker(states);
    const view = new LiveView(docker, silentLogger, 'test');
    await view.refresh('p');
    const stoppedAt = Date.now();
    view.noteExited('p');
    expect(view.get('p')).toMatchObject({ state: 'exited', pid: 0 });
    await (view as any).onEvent(event('p', 'die', stoppedAt - 1));
    expect(calls).toHaveLength(1);
    // Unknown to the view (never seen, or forgotten): nothing is made up.
    view.noteExited('q');
    expect(view.get('q')).toBeUndefined();
  });

  it('shares one inspect between a die event and our own read after a stop, in either order', async () => {
    const states = new Map([['w', inspectState('running', 5)]]);
    const { docker, calls } = fakeDocker(states);
    const view = new LiveView(docker, silentLogger, 'test');
    await view.refresh('w');
    expect(calls).toHaveLength(1);
    // The die event is handled while our stop call is still waiting on Docker.
    const stopIssuedAt = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    states.set('w', { ...inspectState('exited'), ExitCode: 3 } as any);
    const handled = (view as any).onEvent(event('w', 'die', Date.now() - 1));
    const after = await view.refreshAfterStop('w', stopIssuedAt);
    await handled;
    expect(calls).toHaveLength(2);
    expect(after).toMatchObject({ state: 'exited', exitCode: 3 });
    // Our read first, the event after it: the event waits for that read, no inspect of its own.
    states.set('w', inspectState('running', 6));
    await view.refresh('w');
    const stop2 = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    states.set('w', inspectState('exited'));
    const ours = view.refreshAfterStop('w', stop2);
    const dieAt = stop2 + 1;
    const seen: string[] = [];
    view.emitter.on('event', () => seen.push(view.get('w')!.state));
    await (view as any).onEvent(event('w', 'die', dieAt));
    await ours;
    expect(calls).toHaveLength(4);
    expect(seen).toEqual(['exited']);
  });

  it('drops the tombstones of removed containers after a minute, not before', () => {
    const { docker } = fakeDocker(new Map());
    const view = new LiveView(docker, silentLogger, 'test');
    const applied = (view as any).applied as Map<string, number>;
    vi.useFakeTimers();
    try {
      vi.setSystemTime(1_000_000);
      for (let i = 0; i < 300; i++) view.forget(`old-${i}`);
      expect(applied.size).toBe(300);
      vi.setSystemTime(1_000_000 + 30_000);
      view.forget('recent');
      expect(applied.size).toBe(301);
      vi.setSystemTime(1_000_000 + 61_000);
      view.forget('new');
      expect([...applied.keys()].sort()).toEqual(['new', 'recent']);
    } finally {
      vi.useRealTimers();
    }
  });
});
