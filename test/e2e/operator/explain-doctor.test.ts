/**
 * `cri-shim explain` and `cri-shim doctor` against a real pod: real dockerd, real CNI
 * plugins (bridge + portmap + firewall on a bridge of our own), the shim's real state
 * dir and cache, read through the same entry point as the command line.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Explanation } from '../../../src/explain/explanation.js';
import type { CheckResult } from '../../../src/doctor/check.js';
import { runSubcommand } from '../../../src/subcommands.js';
import { uniqueId } from '../../helpers/shim.js';
import { usePodShim } from '../../helpers/pod-shim.js';
import { sh, subnetIpPattern } from '../../helpers/pod-net.js';

const BUSYBOX = 'localhost/cri-shim/busybox:1.0';
const HOST_PORT = 28_101;

/**
 * What this host's kernel and iptables say, read apart from doctor: the node checks'
 * verdicts depend on it (ip_forward, br_netfilter, the FORWARD policy Docker may have set).
 */
function hostState(): { ipForward: boolean; brNetfilter: boolean; forwardPolicy: string | undefined } {
  const read = (path: string): string | undefined => (existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined);
  let forwardPolicy: string | undefined;
  try {
    forwardPolicy = sh('iptables', ['-w', '5', '-S', 'FORWARD']).match(/^-P FORWARD (\S+)/m)?.[1];
  } catch {
    forwardPolicy = undefined;
  }
  return {
    ipForward: read('/proc/sys/net/ipv4/ip_forward') === '1',
    brNetfilter: read('/proc/sys/net/bridge/bridge-nf-call-iptables') === '1',
    forwardPolicy,
  };
}

/** The verdict of the check named `prefix…`; a check that is not in the report fails the test. */
function verdictOf(results: CheckResult[], prefix: string): boolean {
  const found = results.filter((c) => c.name.startsWith(prefix));
  if (found.length !== 1) throw new Error(`doctor reported ${found.length} checks named ${prefix}…`);
  return found[0].ok;
}

/** Host checks doctor must fail on this host whatever our set-up: ip_forward and br_netfilter. */
function hostFailures(host: ReturnType<typeof hostState>): number {
  return Number(!host.ipForward) + Number(!host.brNetfilter);
}

async function cli(argv: string[]): Promise<{ code: number | undefined; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runSubcommand(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe('explain and doctor on a real pod', () => {
  const s = usePodShim(100);
  let podId = '';
  let flags: string[] = [];

  beforeAll(async () => {
    const { t, env } = s;
    flags = [
      '--state-dir', t.config.stateDir,
      '--cni-cache-dir', t.config.cniCacheDir,
      '--cni-conf-dir', t.config.cniConfDir,
      ...env.binDirs.flatMap((d) => ['--cni-bin-dir', d]),
      '--listen', t.config.listen,
    ];
    const config = {
      metadata: { name: 'web', uid: uniqueId('uid'), namespace: 'explain', attempt: 0 },
      hostname: 'web',
      log_directory: join(s.env.dir, 'logs'),
      port_mappings: [{ protocol: 'TCP', container_port: 80, host_port: HOST_PORT, host_ip: '127.0.0.1' }],
      linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    };
    podId = (await s.call('RunPodSandbox', { config })).pod_sandbox_id;
    const created = await s.call('CreateContainer', {
      pod_sandbox_id: podId,
      config: { metadata: { name: 'httpd', attempt: 0 }, image: { image: BUSYBOX }, command: ['httpd', '-f', '-p', '80', '-h', '/'], log_path: 'httpd.log' },
      sandbox_config: config,
    });
    await s.call('StartContainer', { container_id: created.container_id });
  });

  it('explain prints the real veth, bridge and IP, by id prefix and by namespace/name', async () => {
    const ports = s.env.bridgePorts();
    expect(ports).toHaveLength(1);
    const veth = ports[0].match(/^\d+: ([^@:]+)/)![1];
    const ip = (await s.call('PodSandboxStatus', { pod_sandbox_id: podId })).status.network.ip as string;
    expect(ip).toMatch(subnetIpPattern(s.env));

    const byPrefix = await cli(['explain', podId.slice(0, 12), ...flags]);
    expect(byPrefix.err).toBe('');
    expect(byPrefix.code).toBe(0);
    expect(byPrefix.out).toMatch(new RegExp(`eth0 \\(if\\d+\\)\\s+⇄ ${veth} \\(if\\d+\\) ⇄ ${s.env.bridge}\\s+⇄ routing/iptables`));
    expect(byPrefix.out).toContain(`inet ${ip}/24`);
    expect(byPrefix.out).toContain(`--to-destination ${ip}:80`);
    expect(byPrefix.out).toContain(`-A CNI-FORWARD -s ${ip}/32 -j ACCEPT`);
    expect(byPrefix.out).toContain('✓ path complete');

    const json = await cli(['explain', 'explain/web', '--json', ...flags]);
    expect(json.code).toBe(0);
    const e = JSON.parse(json.out) as Explanation;
    expect(e.pod.id).toBe(podId);
    expect(e.hostVeth).toMatchObject({ name: veth, master: s.env.bridge });
    expect(e.bridge?.ports).toEqual([veth]);
    expect(e.podInterface?.addresses).toContain(`${ip}/24`);
    expect(e.podInterface?.peerIfindex).toBe(e.hostVeth?.ifindex);
    const httpd = e.namespaces.find((n) => n.name === 'httpd');
    expect(httpd?.net.shared).toBe('pause');
    expect(httpd?.ipc.shared).toBe('pause');
    expect(e.problems).toEqual([]);
  });

  it('explain flags a deliberately deleted host veth, in text and in JSON, with exit code 1', async () => {
    const veth = s.env.bridgePorts()[0].match(/^\d+: ([^@:]+)/)![1];
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

  it('doctor passes every check of our set-up, and judges the host\'s kernel and FORWARD state as it is', async () => {
    const host = hostState();
    const json = JSON.parse((await cli(['doctor', '--json', ...flags])).out) as CheckResult[];
    expect(verdictOf(json, 'net.ipv4.ip_forward')).toBe(host.ipForward);
    expect(verdictOf(json, 'br_netfilter')).toBe(host.brNetfilter);
    // Our chain ends with the firewall plugin, so a DROP policy passes as well as ACCEPT.
    expect(verdictOf(json, 'iptables FORWARD')).toBe(host.forwardPolicy !== undefined);
    const hostDependent = ['net.ipv4.ip_forward', 'br_netfilter', 'iptables FORWARD'];
    const ours = json.filter((c) => !hostDependent.some((h) => c.name.startsWith(h)));
    expect(ours.filter((c) => !c.ok)).toEqual([]);
    expect(json.find((c) => c.name.startsWith('CNI config'))?.detail).toContain('chain bridge → portmap → firewall');
    expect(json.find((c) => c.name.startsWith('socket'))?.detail).toBe('mode 0660, a shim answers on it');

    const failed = json.filter((c) => !c.ok).length;
    const r = await cli(['doctor', ...flags]);
    expect(r.code).toBe(failed === 0 ? 0 : 1);
    expect(r.out).toMatch(failed === 0 ? /\nall \d+ checks passed\n$/ : new RegExp(`\\n${failed} of \\d+ checks failed\\n$`));
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
      // The config; FORWARD too unless its policy lets traffic through without a chain; and the host's own.
      const host = hostState();
      const failed = 1 + Number(host.forwardPolicy === undefined || host.forwardPolicy === 'DROP') + hostFailures(host);
      expect(r.out).toMatch(new RegExp(`\\n${failed} of \\d+ checks failed\\n$`));
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('doctor fails on a pause image that is neither present nor pullable (a loopback registry that is not there)', async () => {
    const ref = 'localhost/cri-shim/no-such-pause:0';
    const r = await cli(['doctor', ...flags, '--pause-image', ref]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(new RegExp(`✗ pause image ${ref}: not present and not pullable: [^\n]+\n    fix: docker pull ${ref}`));
    expect(r.out).toMatch(new RegExp(`\\n${1 + hostFailures(hostState())} of \\d+ checks failed\\n$`));
  });
});
