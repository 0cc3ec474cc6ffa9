/**
 * `cri-shim explain` and `cri-shim doctor` against a real pod: real dockerd, real CNI
 * plugins (bridge + portmap + firewall on a bridge of our own), the shim's real state
 * dir and cache, read through the same entry point as the command line.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Explanation } from '../../../src/explain/explanation.js';
import type { CheckResult } from '../../../src/doctor/check.js';
import { runSubcommand } from '../../../src/subcommands.js';
import { startTestShim, uniqueId, type TestShim } from '../../helpers/shim.js';
import { createPodNetEnv, removeContainersOfPod, sh, shimConfigFor, subnetIpPattern, waitFor, type PodNetEnv } from '../../helpers/pod-net.js';

const BUSYBOX = 'localhost/cri-shim/busybox:1.0';
const HOST_PORT = 28_101;

async function cli(argv: string[]): Promise<{ code: number | undefined; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runSubcommand(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe('explain and doctor on a real pod', () => {
  let env: PodNetEnv;
  let t: TestShim;
  let podId = '';
  let uid = '';
  let flags: string[] = [];

  beforeAll(async () => {
    env = createPodNetEnv(100);
    t = await startTestShim({ ...shimConfigFor(env), listen: `unix://${join(env.dir, 'cri.sock')}` });
    flags = [
      '--state-dir', t.config.stateDir,
      '--cni-cache-dir', t.config.cniCacheDir,
      '--cni-conf-dir', t.config.cniConfDir,
      ...env.binDirs.flatMap((d) => ['--cni-bin-dir', d]),
      '--listen', t.config.listen,
    ];
    await waitFor('NetworkReady', async () => {
      const res = await t.call(t.runtime, 'Status', {});
      return res.status.conditions.find((c: any) => c.type === 'NetworkReady')?.status === true || undefined;
    });
    uid = uniqueId('uid');
    const config = {
      metadata: { name: 'web', uid, namespace: 'explain', attempt: 0 },
      hostname: 'web',
      log_directory: join(env.dir, 'logs'),
      port_mappings: [{ protocol: 'TCP', container_port: 80, host_port: HOST_PORT, host_ip: '127.0.0.1' }],
      linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    };
    podId = (await t.call(t.runtime, 'RunPodSandbox', { config })).pod_sandbox_id;
    const created = await t.call(t.runtime, 'CreateContainer', {
      pod_sandbox_id: podId,
      config: { metadata: { name: 'httpd', attempt: 0 }, image: { image: BUSYBOX }, command: ['httpd', '-f', '-p', '80', '-h', '/'], log_path: 'httpd.log' },
      sandbox_config: config,
    });
    await t.call(t.runtime, 'StartContainer', { container_id: created.container_id });
  });

  afterAll(async () => {
    if (podId) await t?.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: podId }).catch(() => undefined);
    await t?.close();
    if (uid) removeContainersOfPod(uid);
    env?.cleanup();
  });

  it('explain prints the real veth, bridge and IP, by id prefix and by namespace/name', async () => {
    const ports = env.bridgePorts();
    expect(ports).toHaveLength(1);
    const veth = ports[0].match(/^\d+: ([^@:]+)/)![1];
    const ip = (await t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: podId })).status.network.ip as string;
    expect(ip).toMatch(subnetIpPattern(env));

    const byPrefix = await cli(['explain', podId.slice(0, 12), ...flags]);
    expect(byPrefix.err).toBe('');
    expect(byPrefix.code).toBe(0);
    expect(byPrefix.out).toMatch(new RegExp(`eth0 \\(if\\d+\\)\\s+⇄ ${veth} \\(if\\d+\\) ⇄ ${env.bridge}\\s+⇄ routing/iptables`));
    expect(byPrefix.out).toContain(`inet ${ip}/24`);
    expect(byPrefix.out).toContain(`--to-destination ${ip}:80`);
    expect(byPrefix.out).toContain(`-A CNI-FORWARD -s ${ip}/32 -j ACCEPT`);
    expect(byPrefix.out).toContain('✓ path complete');

    const json = await cli(['explain', 'explain/web', '--json', ...flags]);
    expect(json.code).toBe(0);
    const e = JSON.parse(json.out) as Explanation;
    expect(e.pod.id).toBe(podId);
    expect(e.hostVeth).toMatchObject({ name: veth, master: env.bridge });
    expect(e.bridge?.ports).toEqual([veth]);
    expect(e.podInterface?.addresses).toContain(`${ip}/24`);
    expect(e.podInterface?.peerIfindex).toBe(e.hostVeth?.ifindex);
    const httpd = e.namespaces.find((n) => n.name === 'httpd');
    expect(httpd?.net.shared).toBe('pause');
    expect(httpd?.ipc.shared).toBe('pause');
    expect(e.problems).toEqual([]);
  });

  it('explain flags a deliberately deleted host veth, in text and in JSON, with exit code 1', async () => {
    const veth = env.bridgePorts()[0].match(/^\d+: ([^@:]+)/)![1];
    sh('ip', ['link', 'del', veth]);
    const text = await cli(['explain', podId, ...flags]);
    expect(text.code).toBe(1);
    expect(text.out).toContain(`✗ ${veth} missing`);
    expect(text.out).toContain(`✗ host veth ${veth} (named in the CNI result) does not exist`);
    expect(text.out).toContain('✗ no interface eth0 inside the pod\'s netns (its veth pair is gone)');

    const json = await cli(['explain', podId, '--json', ...flags]);
    expect(json.code).toBe(1);
    const e = JSON.parse(json.out) as Explanation;
    expect(e.hostVeth).toBeNull();
    expect(e.podInterface).toBeNull();
    expect(e.expected.hostVeth).toBe(veth);
    expect(e.problems).toContain(`host veth ${veth} (named in the CNI result) does not exist`);
  });

  it('explain names an unknown pod and exits 2', async () => {
    const r = await cli(['explain', 'nosuch/pod', ...flags]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no pod nosuch/pod in the state dir');
  });

  it('doctor passes on this set-up environment', async () => {
    const r = await cli(['doctor', ...flags]);
    expect(r.out).toMatch(/all \d+ checks passed/);
    expect(r.out).not.toContain('✗');
    expect(r.code).toBe(0);
    const json = JSON.parse((await cli(['doctor', '--json', ...flags])).out) as CheckResult[];
    expect(json.find((c) => c.name.startsWith('CNI config'))?.detail).toContain('chain bridge → portmap → firewall');
    expect(json.find((c) => c.name.startsWith('socket'))?.detail).toBe('mode 0660, a shim answers on it');
  });

  it('doctor names the failing check and its fix when the CNI conf dir is empty', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'cri-shim-empty-net.d-'));
    mkdirSync(join(empty, 'sub')); // a directory is no config either
    try {
      const r = await cli(['doctor', ...flags, '--cni-conf-dir', empty]);
      expect(r.code).toBe(1);
      expect(r.out).toContain(`✗ CNI config ${empty}: no .conf/.conflist/.json file: NetworkReady stays false and no pod can start`);
      expect(r.out).toMatch(new RegExp(`✗ CNI config [^\\n]+\\n    fix: write a \\.conflist into ${empty}`));
      expect(r.out).toContain('✓ dockerd');
      expect(r.out).toMatch(/\n2 of \d+ checks failed\n$/); // the config, and FORWARD with no chain to open it
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('doctor fails on a pause image that is neither present nor pullable (a loopback registry that is not there)', async () => {
    const ref = 'localhost/cri-shim/no-such-pause:0';
    const r = await cli(['doctor', ...flags, '--pause-image', ref]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(new RegExp(`✗ pause image ${ref}: not present and not pullable: [^\n]+\n    fix: docker pull ${ref}`));
    expect(r.out).toContain('1 of ');
  });
});
