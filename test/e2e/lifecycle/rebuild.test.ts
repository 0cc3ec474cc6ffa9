/**
 * Issue #11 class 7: after the state dir is lost, the records rebuilt from Docker
 * (labels, the pause container's spec memo, the CNI cache) answer PodSandboxStatus
 * (verbose, with the whole spec) and ListPodSandbox exactly as before, for a table
 * of pod configs that exercise what the old labels could not carry.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPodNetEnv, removeContainersOfPod, shimConfigFor, type PodNetEnv } from '../../helpers/pod-net.js';
import { startTestShim, uniqueId, type TestShim } from '../../helpers/shim.js';

const uid = uniqueId('rebuild');

function pod(name: string, extra: Record<string, any>, nsOptions: Record<string, string>) {
  return {
    metadata: { name, uid: `${uid}-${name}`, namespace: 'crt-rebuild', attempt: 1 },
    hostname: name,
    log_directory: `/var/log/pods/crt-rebuild_${name}`,
    labels: { suite: 'rebuild', app: name },
    linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD', ...nsOptions } } },
    ...extra,
  };
}

const TABLE = [
  pod('plain', {}, {}),
  pod('shared-pid', { annotations: { 'example.com/a': 'x', 'kubernetes.io/config.source': 'api' } }, { pid: 'POD' }),
  pod(
    'dns-ports',
    {
      dns_config: { servers: ['10.88.0.10'], searches: ['ns.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] },
      port_mappings: [{ protocol: 'TCP', container_port: 8080, host_port: 0, host_ip: '' }],
    },
    {},
  ),
  pod(
    'kubelet-labels',
    {
      // The kubelet's own keys (which we also write) and a label that looks like an annotation.
      labels: { suite: 'rebuild', 'io.kubernetes.pod.name': 'kubelet-labels', 'io.kubernetes.pod.uid': 'not-the-uid', 'annotation.fake': 'label' },
      annotations: { real: 'annotation' },
    },
    {},
  ),
  pod('sysctls', { linux: { sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' }, security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } } }, {}),
  pod('host-net', { dns_config: { servers: ['10.88.0.10'], searches: [], options: [] } }, { network: 'NODE' }),
];

describe('records rebuilt after the state dir is lost answer as before', () => {
  let env: PodNetEnv;
  let t: TestShim | undefined;

  beforeAll(() => {
    env = createPodNetEnv(82);
  });

  afterAll(async () => {
    await t?.close();
    for (const p of TABLE) removeContainersOfPod(p.metadata.uid);
    env?.cleanup();
  });

  async function snapshot(shim: TestShim, ids: string[]) {
    const statuses = [];
    for (const id of ids) statuses.push(await shim.call(shim.runtime, 'PodSandboxStatus', { pod_sandbox_id: id, verbose: true }));
    const list = await shim.call(shim.runtime, 'ListPodSandbox', { filter: { label_selector: { suite: 'rebuild' } } });
    const items = [...list.items].sort((a: any, b: any) => a.id.localeCompare(b.id));
    // `timestamp` is when the answer was made, not part of the pod.
    return { statuses: statuses.map((s: any) => ({ ...s, timestamp: undefined, info: JSON.parse(s.info.info) })), items };
  }

  it('PodSandboxStatus (verbose) and ListPodSandbox are equal before and after', async () => {
    t = await startTestShim(shimConfigFor(env));
    const ids: string[] = [];
    for (const config of TABLE) ids.push((await t.call(t.runtime, 'RunPodSandbox', { config })).pod_sandbox_id);
    const before = await snapshot(t, ids);
    expect(before.items).toHaveLength(TABLE.length);
    await t.close();
    rmSync(shimConfigFor(env).stateDir, { recursive: true, force: true });

    t = await startTestShim(shimConfigFor(env));
    const after = await snapshot(t, ids);
    expect(after).toEqual(before);
    for (const id of ids) {
      await t.call(t.runtime, 'StopPodSandbox', { pod_sandbox_id: id });
      await t.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: id });
    }
    expect(env.reservedIps()).toEqual([]);
  }, 90_000);
});
