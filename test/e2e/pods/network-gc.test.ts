/**
 * IPs leaked for good (#11 class 2), with the real plugins: an attachment whose pause
 * container is gone and whose state record is lost is collected when the shim starts,
 * while another runtime's attachments in the same CNI cache dir and a live pod's IP
 * stay; and a pod whose ADD was cut short (cache entry without result) before the
 * state dir was lost still gets its DEL from Remove.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestShim, uniqueId, type TestShim } from '../../helpers/shim.js';
import {
  createPodNetEnv,
  dockerContainersOfPod,
  removeContainersOfPod,
  sh,
  shimConfigFor,
  waitFor,
  type PodNetEnv,
} from '../../helpers/pod-net.js';

function podConfig(name: string, uid: string): object {
  return {
    metadata: { name, uid, namespace: 'crt', attempt: 0 },
    hostname: name,
    linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
  };
}

function cacheFiles(env: PodNetEnv): string[] {
  const dir = join(env.cacheDir, 'results');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** Leaked entries are old; the GC leaves entries younger than a couple of minutes alone. */
function ageCache(env: PodNetEnv): void {
  const old = new Date(Date.now() - 3_600_000);
  for (const f of cacheFiles(env)) utimesSync(join(env.cacheDir, 'results', f), old, old);
}

async function podIp(t: TestShim, id: string): Promise<string> {
  return (await t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: id })).status.network.ip;
}

describe('leaked attachments are collected at start, and only ours', () => {
  let env: PodNetEnv;
  let t: TestShim | undefined;
  const liveUid = uniqueId('gc-live');
  const leakUid = uniqueId('gc-leak');

  beforeAll(() => {
    env = createPodNetEnv(71);
  });

  afterAll(async () => {
    await t?.close();
    removeContainersOfPod(liveUid);
    removeContainersOfPod(leakUid);
    env?.cleanup();
  });

  /** An attachment made by someone else on the same network and cache dir: entry + reservation. */
  function foreignAttachment(id: string, ip: string, owner?: string): void {
    const config = readFileSync(join(env.confDir, '10-test.conflist'));
    const entry = {
      kind: 'cniCacheV1',
      containerId: id,
      config: config.toString('base64'),
      ifName: 'eth0',
      networkName: env.network,
      netns: `/var/run/netns/${id}`,
      cniArgs: [['IgnoreUnknown', '1']],
      ...(owner ? { criShimOwner: owner } : {}),
      result: { cniVersion: '1.0.0', ips: [{ address: `${ip}/24` }] },
    };
    mkdirSync(join(env.cacheDir, 'results'), { recursive: true });
    writeFileSync(join(env.cacheDir, 'results', `${env.network}-${id}-eth0`), JSON.stringify(entry));
    writeFileSync(join(env.dataDir, env.network, ip), `${id}\r\neth0`);
  }

  it('DELs ours whose pause container is gone; leaves another runtime and a live pod alone', async () => {
    const foreignIps = [`${env.ipPrefix}250`, `${env.ipPrefix}251`];
    t = await startTestShim(shimConfigFor(env));
    const live = (await t.call(t.runtime, 'RunPodSandbox', { config: podConfig('live', liveUid) })).pod_sandbox_id;
    const leak = (await t.call(t.runtime, 'RunPodSandbox', { config: podConfig('leak', leakUid) })).pod_sandbox_id;
    const liveIp = await podIp(t, live);
    const leakIp = await podIp(t, leak);
    await t.close();
    t = undefined;

    // Another runtime on the same cache dir (libcni writes no owner), and another shim.
    foreignAttachment('containerd0123', foreignIps[0]);
    foreignAttachment('othershim0123', foreignIps[1], '/var/lib/another-cri-shim');
    // The unlucky node: the leaked pod's container is gone and so is our state dir.
    for (const c of dockerContainersOfPod(leakUid)) sh('docker', ['rm', '-f', c]);
    rmSync(join(env.dir, 'state'), { recursive: true, force: true });
    ageCache(env);
    expect(env.reservedIps().sort()).toEqual([leakIp, liveIp, foreignIps[0], foreignIps[1]].sort());

    t = await startTestShim(shimConfigFor(env));
    await waitFor('the leaked reservation to be released', () => !env.reservedIps().includes(leakIp), 30_000);

    expect(cacheFiles(env)).toEqual(
      [`${env.network}-${live}-eth0`, `${env.network}-containerd0123-eth0`, `${env.network}-othershim0123-eth0`].sort(),
    );
    expect(env.reservedIps().sort()).toEqual([liveIp, foreignIps[0], foreignIps[1]].sort());
    // The live pod was adopted from its labels and kept its IP.
    expect(await podIp(t, live)).toBe(liveIp);

    await t.call(t.runtime, 'StopPodSandbox', { pod_sandbox_id: live });
    await t.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: live });
    expect(env.reservedIps().sort()).toEqual([foreignIps[0], foreignIps[1]]);
    expect(env.bridgePorts()).toEqual([]);
  });
});

describe('an ADD cut short, then the state dir lost', () => {
  let env: PodNetEnv;
  let t: TestShim | undefined;
  const uid = uniqueId('gc-cut');
  let ip: string | undefined;

  beforeAll(() => {
    env = createPodNetEnv(72);
  });

  afterAll(async () => {
    await t?.close();
    removeContainersOfPod(uid);
    env?.cleanup();
    // Only if the test failed: the firewall plugin's rules for the pod.
    if (ip) removeFirewallRules(ip);
  });

  it('the rebuilt pod still counts as attached: Remove runs the DEL and frees the IP', async () => {
    t = await startTestShim(shimConfigFor(env));
    const id = (await t.call(t.runtime, 'RunPodSandbox', { config: podConfig('cut', uid) })).pod_sandbox_id;
    ip = await podIp(t, id);
    expect(sh('iptables', ['-S', 'CNI-FORWARD'])).toContain(`${ip}/32`);
    await t.close();
    t = undefined;
    // What kill -9 between the plugins' work and the cache's result write leaves.
    const [file] = cacheFiles(env);
    const path = join(env.cacheDir, 'results', file as string);
    const entry = JSON.parse(readFileSync(path, 'utf8'));
    delete entry.result;
    writeFileSync(path, JSON.stringify(entry));
    rmSync(join(env.dir, 'state'), { recursive: true, force: true });
    expect(env.reservedIps()).toHaveLength(1);

    t = await startTestShim(shimConfigFor(env));
    const listed = (await t.call(t.runtime, 'ListPodSandbox', {})).items.map((p: any) => p.id);
    expect(listed).toEqual([id]);
    await t.call(t.runtime, 'StopPodSandbox', { pod_sandbox_id: id });
    await t.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: id });
    expect(dockerContainersOfPod(uid)).toEqual([]);
    expect(env.reservedIps()).toEqual([]);
    expect(cacheFiles(env)).toEqual([]);
    expect(env.bridgePorts()).toEqual([]);
    // Without a cached result, DEL passes the IPs host-local held as prevResult, so the
    // firewall plugin finds its per-IP rules.
    expect(sh('iptables', ['-S', 'CNI-FORWARD'])).not.toContain(`${ip}/32`);
  });
});

function removeFirewallRules(ip: string): void {
  for (const rule of [
    ['-d', `${ip}/32`, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'],
    ['-s', `${ip}/32`, '-j', 'ACCEPT'],
  ]) {
    try {
      sh('iptables', ['-D', 'CNI-FORWARD', ...rule]);
    } catch {
      // not there
    }
  }
}
