/**
 * GetContainerEvents and the in-memory view: what happens to containers on their own
 * (an exit, a `docker kill` by an operator) shows up without the shim polling Docker.
 */
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestShim, uniqueId, type TestShim } from '../../helpers/shim.js';
import { createPodNetEnv, dockerContainersOfPod, removeContainersOfPod, sh, shimConfigFor, type PodNetEnv, waitFor } from '../../helpers/pod-net.js';

const BUSYBOX = 'localhost/cri-shim/busybox:1.0';

interface Collected {
  events: any[];
  ended: Promise<any>;
  cancel(): void;
}

function subscribe(t: TestShim): Collected {
  const call = t.runtime.GetContainerEvents({});
  const events: any[] = [];
  call.on('data', (e: any) => events.push(e));
  const ended = new Promise((resolve) => {
    call.on('error', (err: any) => resolve(err));
    call.on('end', () => resolve(undefined));
  });
  return { events, ended, cancel: () => call.cancel() };
}

describe('container events and the live view', () => {
  let env: PodNetEnv;
  let t: TestShim;
  const uid = uniqueId('events');

  beforeAll(async () => {
    env = createPodNetEnv(8);
    t = await startTestShim(shimConfigFor(env));
  });

  afterAll(async () => {
    await t?.close();
    removeContainersOfPod(uid);
    env?.cleanup();
  });

  it("streams a pod's life in order to every subscriber, and ends cleanly on cancel", async () => {
    const a = subscribe(t);
    const b = subscribe(t);
    await new Promise((r) => setTimeout(r, 200)); // let both subscriptions reach the server
    const config = { metadata: { name: 'ev', uid, namespace: 'crt', attempt: 0 }, linux: {} };
    const { pod_sandbox_id: podId } = await t.call(t.runtime, 'RunPodSandbox', { config });
    const { container_id: cid } = await t.call(t.runtime, 'CreateContainer', {
      pod_sandbox_id: podId,
      config: { metadata: { name: 'short', attempt: 0 }, image: { image: BUSYBOX }, command: ['sh', '-c', 'exit 3'] },
      sandbox_config: config,
    });
    await t.call(t.runtime, 'StartContainer', { container_id: cid });

    // The container exits on its own: the view learns it from Docker's events.
    await waitFor('container seen as exited', async () => {
      const st = await t.call(t.runtime, 'ContainerStatus', { container_id: cid });
      return st.status.state === 'CONTAINER_EXITED' ? st : undefined;
    }).then((st: any) => {
      expect(st.status.exit_code).toBe(3);
      expect(st.status.reason).toBe('Error');
    });
    await t.call(t.runtime, 'RemoveContainer', { container_id: cid });
    await t.call(t.runtime, 'StopPodSandbox', { pod_sandbox_id: podId });
    await t.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: podId });

    const expected = [
      [podId, 'CONTAINER_CREATED_EVENT'],
      [podId, 'CONTAINER_STARTED_EVENT'],
      [cid, 'CONTAINER_CREATED_EVENT'],
      [cid, 'CONTAINER_STARTED_EVENT'],
      [cid, 'CONTAINER_STOPPED_EVENT'],
      [cid, 'CONTAINER_DELETED_EVENT'],
      [podId, 'CONTAINER_STOPPED_EVENT'],
      [podId, 'CONTAINER_DELETED_EVENT'],
    ];
    for (const sub of [a, b]) {
      await waitFor('all events', () => (sub.events.length >= expected.length ? true : undefined));
      const mine = sub.events.filter((e) => e.container_id === podId || e.container_id === cid);
      expect(mine.map((e) => [e.container_id, e.container_event_type])).toEqual(expected);
      const started = mine.find((e) => e.container_id === cid && e.container_event_type === 'CONTAINER_STARTED_EVENT');
      expect(started.pod_sandbox_status).toMatchObject({ id: podId, metadata: { name: 'ev' } });
      expect(BigInt(started.created_at)).toBeGreaterThan(0n);
    }
    a.cancel();
    b.cancel();
    expect(await a.ended).toMatchObject({ code: status.CANCELLED });
    // The shim is still fine after subscribers went away.
    expect((await t.call(t.runtime, 'Version', {})).runtime_name).toBe('cri-shim');
  });

  it('a pause container killed behind our back makes the sandbox NOTREADY', async () => {
    const config = { metadata: { name: 'killed', uid, namespace: 'crt', attempt: 0 }, linux: {} };
    const { pod_sandbox_id: podId } = await t.call(t.runtime, 'RunPodSandbox', { config });
    const pause = sh('docker', ['ps', '-q', '--no-trunc', '--filter', `label=io.cri-shim.sandbox-id=${podId}`]).trim();
    expect(pause).toMatch(/^[0-9a-f]{64}$/);
    sh('docker', ['kill', pause]);
    await waitFor('sandbox NOTREADY', async () => {
      const st = await t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: podId });
      return st.status.state === 'SANDBOX_NOTREADY' || undefined;
    });
    const list = await t.call(t.runtime, 'ListPodSandbox', { filter: { id: podId } });
    expect(list.items[0].state).toBe('SANDBOX_NOTREADY');
    await t.call(t.runtime, 'StopPodSandbox', { pod_sandbox_id: podId });
    await t.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: podId });
    expect(env.reservedIps()).toEqual([]);
  });
});
