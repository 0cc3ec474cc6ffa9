/**
 * A pod must always be removable (#11 class 1), with the real bridge, host-local,
 * portmap and firewall plugins: for every kind of CNI config whose DEL cannot succeed,
 * Stop (retried as the kubelet does) and Remove end with nothing left: no container,
 * no state file, no cache entry, no host-local reservation, no veth on the bridge.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestShim, uniqueId, type TestShim } from '../../helpers/shim.js';
import { createPodNetEnv, dockerContainersOfPod, removeContainersOfPod, sh, shimConfigFor, type PodNetEnv } from '../../helpers/pod-net.js';
import type { ShimConfig } from '../../../src/config.js';

/** Our pod-net index for this suite (subnet 10.88.90.0/24); the rows run one after another. */
const NET_INDEX = 70;
/** More Stop calls than the DEL give-up limit (3 failures once the netns is gone). */
const MAX_STOPS = 5;

interface Row {
  name: string;
  /** Plugins appended to bridge+host-local, portmap, firewall. */
  extra?: object[];
  /** Shim settings on top of the environment's. */
  shim?: (env: PodNetEnv) => Partial<ShimConfig>;
  /** What breaks once the pod runs. */
  breakIt?: (env: PodNetEnv) => void;
  /** RunPodSandbox itself fails (and must leave nothing). */
  runFails?: boolean;
}

function firewallRules(): string {
  try {
    return sh('iptables', ['-S', 'CNI-FORWARD']);
  } catch {
    return '';
  }
}

/** A bin dir of links to the real plugins, from which one can be taken away. */
function linkedBinDir(env: PodNetEnv): string {
  const dir = join(env.dir, 'bin');
  mkdirSync(dir, { recursive: true });
  for (const p of ['bridge', 'host-local', 'portmap', 'firewall']) {
    if (!existsSync(join(dir, p))) symlinkSync(join('/usr/lib/cni', p), join(dir, p));
  }
  return dir;
}

const rows: Row[] = [
  {
    name: 'the IPAM plugin binary is gone (host-local reservations released by hand)',
    shim: (env) => ({ cniBinDirs: [linkedBinDir(env)] }),
    breakIt: (env) => rmSync(join(env.dir, 'bin', 'host-local')),
  },
  {
    // (Not firewall: its rules for the pod would stay, as the give-up log says.)
    name: 'a chained plugin binary is gone',
    shim: (env) => ({ cniBinDirs: [linkedBinDir(env)] }),
    breakIt: (env) => rmSync(join(env.dir, 'bin', 'portmap')),
  },
  {
    name: 'a plugin fails every DEL',
    extra: [{ type: 'misbehaves', onDel: 'fail' }],
  },
  {
    name: 'a plugin hangs on every DEL (killed at --cni-plugin-timeout-ms)',
    extra: [{ type: 'misbehaves', onDel: 'hang' }],
    shim: () => ({ cniPluginTimeoutMs: 3000 }),
  },
  {
    name: 'the ADD never succeeded and DEL fails too',
    extra: [{ type: 'misbehaves', onAdd: 'fail', onDel: 'fail' }],
    runFails: true,
  },
  {
    name: 'an IPAM type that is a path (refused by our plugin-name checks)',
    runFails: true,
    shim: (env) => {
      const conf = join(env.confDir, '10-test.conflist');
      const list = JSON.parse(readFileSync(conf, 'utf8'));
      list.plugins[0].ipam.type = '../../../bin/sh';
      writeFileSync(conf, JSON.stringify(list));
      return {};
    },
  },
];

describe('a pod whose CNI DEL cannot succeed is still removable', () => {
  let env: PodNetEnv | undefined;
  let t: TestShim | undefined;
  let uid = '';

  afterEach(async () => {
    await t?.close();
    t = undefined;
    removeContainersOfPod(uid);
    env?.cleanup();
    env = undefined;
  });

  it.each(rows)('$name', async (row) => {
    uid = uniqueId('removable');
    env = createPodNetEnv(NET_INDEX, row.extra ?? []);
    t = await startTestShim({ ...shimConfigFor(env), ...(row.shim?.(env) ?? {}) });
    const config = {
      metadata: { name: 'removable', uid, namespace: 'crt', attempt: 0 },
      hostname: 'removable',
      linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    };
    const ran = await t.call(t.runtime, 'RunPodSandbox', { config }).then(
      (r: any) => r.pod_sandbox_id as string,
      () => undefined,
    );
    expect(ran === undefined, row.runFails ? 'RunPodSandbox must fail' : 'RunPodSandbox must succeed').toBe(!!row.runFails);
    let ip: string | undefined;
    if (ran) {
      expect(env.reservedIps()).toHaveLength(1);
      ip = (await t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: ran })).status.network.ip;
      expect(firewallRules()).toContain(`${ip}/32`);
      row.breakIt?.(env);
    }

    // Whatever the shim lists for the pod, the kubelet stops (retrying) and removes.
    const listed = (await t.call(t.runtime, 'ListPodSandbox', {})).items.map((p: any) => p.id as string);
    for (const id of listed) {
      let stops = 0;
      for (;;) {
        stops++;
        const ok = await t.call(t.runtime, 'StopPodSandbox', { pod_sandbox_id: id }).then(() => true, () => false);
        if (ok) break;
        expect(stops, 'StopPodSandbox keeps failing').toBeLessThan(MAX_STOPS);
      }
      await t.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: id });
    }

    expect((await t.call(t.runtime, 'ListPodSandbox', {})).items).toEqual([]);
    expect(dockerContainersOfPod(uid)).toEqual([]);
    expect(readdirSync(join(env.dir, 'state', 'sandboxes'))).toEqual([]);
    const results = join(env.cacheDir, 'results');
    expect(existsSync(results) ? readdirSync(results) : []).toEqual([]);
    expect(env.reservedIps()).toEqual([]);
    expect(env.bridgePorts()).toEqual([]);
    if (ip) expect(firewallRules()).not.toContain(`${ip}/32`);
    // Also for a failed ADD: the firewall plugin's rules for whatever IP it was given.
    expect(firewallRules()).not.toContain(env.ipPrefix);
  });
});
