/** Exec/Attach/PortForward RPC handlers with a fake pod runtime: validation and URLs. */
import { describe, expect, it } from 'vitest';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../../src/errors.js';
import { streamingHandlers } from '../../../src/cri/streaming-handlers.js';
import type { PodRuntime } from '../../../src/runtime/pods.js';
import type { StreamRequest } from '../../../src/streaming/index.js';

const FULL_ID = 'a'.repeat(64);

function fixture() {
  const registered: StreamRequest[] = [];
  const pods = {
    containerStatus: async (id: string) => {
      if (id === 'missing') throw new NotFoundError('container "missing" not found');
      return { record: { id: FULL_ID }, live: { state: id === 'exited' ? 'exited' : 'running', pid: 1 } };
    },
    sandboxStatus: async (id: string) => ({ record: { id: FULL_ID }, state: id === 'stopped' ? 'notready' : 'ready', pausePid: 7 }),
  } as unknown as PodRuntime;
  const handlers = streamingHandlers(pods, {
    register: (r) => {
      registered.push(r);
      return `http://127.0.0.1:1/${r.kind}/tok${registered.length}`;
    },
  });
  const ctx = {} as never;
  return { registered, call: (rpc: string, req: object) => handlers[rpc]!(req, ctx) as Promise<{ url: string }> };
}

const exec = (over: object = {}) => ({ container_id: 'abc', cmd: ['sh'], tty: false, stdin: false, stdout: true, stderr: false, ...over });

describe('streaming RPC handlers', () => {
  it('Exec stores the request under the full container id and returns the URL', async () => {
    const f = fixture();
    expect(await f.call('Exec', exec({ stdin: true, tty: true }))).toEqual({ url: 'http://127.0.0.1:1/exec/tok1' });
    expect(f.registered).toEqual([{ kind: 'exec', containerId: FULL_ID, cmd: ['sh'], stdin: true, stdout: true, stderr: false, tty: true }]);
  });

  it('Attach and PortForward likewise', async () => {
    const f = fixture();
    await f.call('Attach', { container_id: 'abc', stdin: true, stdout: true, stderr: true, tty: false });
    await f.call('PortForward', { pod_sandbox_id: 'p', port: [80, 8080] });
    expect(f.registered).toEqual([
      { kind: 'attach', containerId: FULL_ID, stdin: true, stdout: true, stderr: true, tty: false },
      { kind: 'portforward', sandboxId: FULL_ID, ports: [80, 8080] },
    ]);
  });

  it.each([
    ['Exec', exec({ tty: true, stderr: true }), InvalidArgumentError, /tty and stderr/],
    ['Exec', exec({ stdout: false }), InvalidArgumentError, /must be set/],
    ['Exec', exec({ cmd: [] }), InvalidArgumentError, /cmd/],
    ['Exec', exec({ container_id: '' }), InvalidArgumentError, /container_id/],
    ['Exec', exec({ container_id: 'missing' }), NotFoundError, /not found/],
    ['Exec', exec({ container_id: 'exited' }), FailedPreconditionError, /not running/],
    ['Attach', { container_id: 'abc', tty: true, stdout: true, stderr: true, stdin: false }, InvalidArgumentError, /tty and stderr/],
    ['PortForward', { pod_sandbox_id: 'stopped', port: [80] }, FailedPreconditionError, /not ready/],
    ['PortForward', { pod_sandbox_id: 'p', port: [0] }, InvalidArgumentError, /port\[0\]/],
    ['PortForward', { pod_sandbox_id: '', port: [80] }, InvalidArgumentError, /pod_sandbox_id/],
  ])('%s %j → %s', async (rpc, req, kind, message) => {
    const f = fixture();
    await expect(f.call(rpc, req)).rejects.toSatisfy((e: Error) => e instanceof kind && message.test(e.message));
    expect(f.registered).toEqual([]);
  });
});
