/**
 * Over the real socket with real pods: StreamPodSandboxes and StreamContainers give what
 * ListPodSandbox and ListContainers give, filter for filter; UpdatePodSandboxResources
 * is recorded and shown in verbose PodSandboxStatus; PodSandboxStatus carries every
 * container's status with the time it was read (the evented PLEG's input).
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestShim, uniqueId, type TestShim } from '../../helpers/shim.js';
import { createPodNetEnv, removeContainersOfPod, shimConfigFor, waitFor, type PodNetEnv } from '../../helpers/pod-net.js';
import { collectStream } from '../../helpers/stream.js';

const BUSYBOX = 'localhost/cri-shim/busybox:1.0';
const SUITE = uniqueId('streams');

const ids = (items: Array<{ id: string }>) => items.map((i) => i.id).sort();

describe('stream lists, pod resources and container statuses in PodSandboxStatus', () => {
  let env: PodNetEnv;
  let t: TestShim;
  const uids: string[] = [];
  const pods: Record<string, string> = {};
  const containers: Record<string, string> = {};

  async function runPod(name: string): Promise<{ id: string; config: object }> {
    const uid = uniqueId('uid');
    uids.push(uid);
    const config = { metadata: { name, uid, namespace: 'crt', attempt: 0 }, labels: { suite: SUITE, pod: name }, linux: {} };
    const { pod_sandbox_id: id } = await t.call(t.runtime, 'RunPodSandbox', { config });
    pods[name] = id;
    return { id, config };
  }

  async function createContainer(pod: { id: string; config: object }, name: string, command: string[]): Promise<string> {
    const { container_id: id } = await t.call(t.runtime, 'CreateContainer', {
      pod_sandbox_id: pod.id,
      config: { metadata: { name, attempt: 0 }, image: { image: BUSYBOX }, command, labels: { suite: SUITE, container: name } },
      sandbox_config: pod.config,
    });
    containers[name] = id;
    return id;
  }

  beforeAll(async () => {
    env = createPodNetEnv(51);
    t = await startTestShim(shimConfigFor(env));
    const a = await runPod('alpha');
    const b = await runPod('beta');
    await t.call(t.runtime, 'StartContainer', { container_id: await createContainer(a, 'sleeper', ['sleep', '3600']) });
    await t.call(t.runtime, 'StartContainer', { container_id: await createContainer(a, 'quitter', ['sh', '-c', 'exit 7']) });
    await createContainer(b, 'idle', ['sleep', '3600']);
    await t.call(t.runtime, 'StopPodSandbox', { pod_sandbox_id: b.id });
    await waitFor('quitter exited', async () => {
      const st = await t.call(t.runtime, 'ContainerStatus', { container_id: containers.quitter });
      return st.status.state === 'CONTAINER_EXITED' || undefined;
    });
  });

  afterAll(async () => {
    for (const id of Object.values(pods)) {
      await t.call(t.runtime, 'StopPodSandbox', { pod_sandbox_id: id }).catch(() => undefined);
      await t.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: id }).catch(() => undefined);
    }
    await t?.close();
    for (const uid of uids) removeContainersOfPod(uid);
    env?.cleanup();
  });

  it('StreamPodSandboxes answers what ListPodSandbox answers, for each filter', async () => {
    const filters = [
      undefined,
      { label_selector: { suite: SUITE } },
      { label_selector: { suite: SUITE, pod: 'beta' } },
      { state: { state: 'SANDBOX_READY' }, label_selector: { suite: SUITE } },
      { state: { state: 'SANDBOX_NOTREADY' }, label_selector: { suite: SUITE } },
      { id: pods.alpha!.slice(0, 12) },
      { id: 'no-such-pod' },
    ];
    for (const filter of filters) {
      const listed = (await t.call(t.runtime, 'ListPodSandbox', { filter })).items;
      const streamed = (await collectStream(t.runtime, 'StreamPodSandboxes', { filter })).flatMap((m: any) => m.pod_sandboxes);
      expect(ids(streamed), JSON.stringify(filter)).toEqual(ids(listed));
      expect(streamed.sort((x: any, y: any) => x.id.localeCompare(y.id))).toEqual(listed.sort((x: any, y: any) => x.id.localeCompare(y.id)));
    }
    const beta = (await collectStream(t.runtime, 'StreamPodSandboxes', { filter: { state: { state: 'SANDBOX_NOTREADY' }, label_selector: { suite: SUITE } } })).flatMap(
      (m: any) => m.pod_sandboxes,
    );
    expect(ids(beta)).toEqual([pods.beta]);
  });

  it('StreamContainers answers what ListContainers answers, for each filter', async () => {
    const filters = [
      undefined,
      { label_selector: { suite: SUITE } },
      { pod_sandbox_id: pods.alpha },
      { state: { state: 'CONTAINER_RUNNING' }, label_selector: { suite: SUITE } },
      { state: { state: 'CONTAINER_EXITED' }, label_selector: { suite: SUITE } },
      { state: { state: 'CONTAINER_CREATED' }, label_selector: { suite: SUITE } },
      { id: containers.sleeper },
    ];
    for (const filter of filters) {
      const listed = (await t.call(t.runtime, 'ListContainers', { filter })).containers;
      const streamed = (await collectStream(t.runtime, 'StreamContainers', { filter })).flatMap((m: any) => m.containers);
      expect(ids(streamed), JSON.stringify(filter)).toEqual(ids(listed));
    }
    const exited = (await collectStream(t.runtime, 'StreamContainers', { filter: { state: { state: 'CONTAINER_EXITED' }, label_selector: { suite: SUITE } } })).flatMap(
      (m: any) => m.containers,
    );
    expect(ids(exited)).toEqual([containers.quitter]);
  });

  it('PodSandboxStatus carries the status of every container of the pod and when it was read', async () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const res = await t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: pods.alpha });
    const after = BigInt(Date.now()) * 1_000_000n;
    const byName = Object.fromEntries(res.containers_statuses.map((s: any) => [s.metadata.name, s]));
    expect(Object.keys(byName).sort()).toEqual(['quitter', 'sleeper']);
    expect(byName.sleeper).toMatchObject({ id: containers.sleeper, state: 'CONTAINER_RUNNING' });
    expect(byName.quitter).toMatchObject({ id: containers.quitter, state: 'CONTAINER_EXITED', exit_code: 7 });
    // Each is what ContainerStatus answers for it.
    expect(byName.sleeper).toEqual((await t.call(t.runtime, 'ContainerStatus', { container_id: containers.sleeper })).status);
    // Nanoseconds, taken during the call (the kubelet reads time.Unix(0, timestamp)).
    const ts = BigInt(res.timestamp);
    expect(ts >= before - 1_000_000n && ts <= after + 1_000_000n).toBe(true);

    const beta = await t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: pods.beta });
    expect(beta.containers_statuses.map((s: any) => s.id)).toEqual([containers.idle]);
  });

  it('UpdatePodSandboxResources is recorded and shown in verbose PodSandboxStatus; bad input and unknown pods are refused', async () => {
    const resources = { cpu_period: '100000', cpu_quota: '50000', cpu_shares: '512', memory_limit_in_bytes: String(256 * 1024 * 1024) };
    const overhead = { cpu_shares: '10', memory_limit_in_bytes: String(64 * 1024 * 1024) };
    await t.call(t.runtime, 'UpdatePodSandboxResources', { pod_sandbox_id: pods.alpha, resources, overhead });
    const info = JSON.parse((await t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: pods.alpha, verbose: true })).info.info);
    expect(info.resources).toMatchObject({ cpuPeriod: 100000, cpuQuota: 50000, cpuShares: 512, memoryLimitBytes: 256 * 1024 * 1024 });
    expect(info.overhead).toMatchObject({ cpuShares: 10, memoryLimitBytes: 64 * 1024 * 1024 });

    await expect(
      t.call(t.runtime, 'UpdatePodSandboxResources', { pod_sandbox_id: pods.alpha, resources: { cpu_period: '5' } }),
    ).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining('resources.cpu_period') });
    await expect(t.call(t.runtime, 'UpdatePodSandboxResources', { pod_sandbox_id: 'no-such-pod', resources })).rejects.toMatchObject({
      code: status.NOT_FOUND,
    });
    await expect(t.call(t.runtime, 'UpdatePodSandboxResources', { pod_sandbox_id: '', resources })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
    });
    // The refused update left the recorded one alone.
    const again = JSON.parse((await t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: pods.alpha, verbose: true })).info.info);
    expect(again.resources.cpuPeriod).toBe(100000);
  });
});
