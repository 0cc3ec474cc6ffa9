/**
 * The live view over a fake dockerd (its event stream and inspect): an `oom` event makes
 * the exit an OOMKilled one even when Docker's inspect says otherwise, in either order,
 * as dockerd 20.10 loses the flag when containerd's OOM event comes after the exit.
 */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { createLogger } from '../../../src/logger.js';
import { LiveView } from '../../../src/runtime/live-view.js';

const INSTANCE = '/var/lib/cri-shim-test';

function fakeDocker() {
  const events = new PassThrough();
  const states = new Map<string, Record<string, unknown>>();
  const docker = {
    getEvents: async () => events,
    listContainers: async () => [...states.keys()].map((Id) => ({ Id })),
    getContainer: (id: string) => ({
      inspect: async () => {
        const State = states.get(id);
        if (!State) throw Object.assign(new Error('no such container'), { statusCode: 404 });
        return { State };
      },
    }),
  } as unknown as Docker;
  let t = Math.floor(Date.now() / 1000) * 1e9;
  const emit = (id: string, Action: string) => {
    t += 1000;
    events.write(JSON.stringify({ Type: 'container', Action, Actor: { ID: id, Attributes: {} }, timeNano: t }) + '\n');
  };
  return { docker, states, emit };
}

const exited = (ExitCode: number, OOMKilled = false) => ({
  Status: 'exited', Running: false, OOMKilled, ExitCode, Pid: 0, Error: '', StartedAt: '2026-12-03T10:00:00Z', FinishedAt: '2026-12-03T10:00:01Z',
});
const running = { ...exited(0), Status: 'running', Running: true, Pid: 42, FinishedAt: '0001-01-01T00:00:00Z' };

/** Waits until every event written so far went through the view (its 'event' emits, in order). */
function seen(view: LiveView, n: number): Promise<void> {
  return new Promise((resolve) => {
    let count = 0;
    view.emitter.on('event', () => {
      if (++count === n) resolve();
    });
  });
}

describe('LiveView and OOM kills', () => {
  let view: LiveView | undefined;
  afterEach(() => view?.stop());

  it.each([
    ['oom before die', ['oom', 'die']],
    ['die before oom (the exit event won the race)', ['die', 'oom']],
  ])('%s: reason OOMKilled though inspect says OOMKilled=false', async (_name, order) => {
    const { docker, states, emit } = fakeDocker();
    states.set('c1', running);
    view = new LiveView(docker, createLogger('silent'), INSTANCE);
    await view.start();
    expect(view.get('c1')?.state).toBe('running');
    const done = seen(view, 2);
    states.set('c1', exited(137, false));
    for (const action of order) emit('c1', action);
    await done;
    expect(view.get('c1')).toMatchObject({ state: 'exited', exitCode: 137, reason: 'OOMKilled' });
  });

  it('without an oom event the exit code decides, and a removed container forgets its OOM', async () => {
    const { docker, states, emit } = fakeDocker();
    states.set('c2', exited(137, false));
    states.set('c3', running);
    view = new LiveView(docker, createLogger('silent'), INSTANCE);
    await view.start();
    expect(view.get('c2')?.reason).toBe('Error');

    const done = seen(view, 3);
    emit('c3', 'oom');
    states.delete('c3');
    emit('c3', 'destroy');
    states.set('c3', exited(0));
    emit('c3', 'die'); // a late event for the same id after destroy: no OOM left over
    await done;
    expect(view.get('c3')).toMatchObject({ state: 'exited', reason: 'Completed' });
  });
});
