/**
 * The engine with Debian's real plugins (/usr/lib/cni) in network namespaces this
 * suite creates. Everything is test-only and named cnit*: the bridge, the netns,
 * a /24 inside 10.88.10.0–10.88.19.255, host-local's dataDir under a temp dir.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCniEngine, podIpsFromResult, type CniEngine, type CniResult } from '../../../src/cni/index.js';

const isRoot = process.getuid?.() === 0;
const BIN = '/usr/lib/cni';

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryRun(cmd: string, args: string[]): { ok: boolean; out: string } {
  try {
    return { ok: true, out: sh(cmd, args) };
  } catch (err) {
    return { ok: false, out: String((err as { stderr?: string }).stderr ?? err) };
  }
}

/** A /24 in our reserved range that no interface or route on the host uses yet. */
function freeSubnet(): number {
  const used = sh('ip', ['-4', 'route', 'show']) + sh('ip', ['-4', 'addr', 'show']);
  const free = Array.from({ length: 10 }, (_, i) => 10 + i).filter((x) => !used.includes(`10.88.${x}.`));
  if (free.length === 0) throw new Error('no free test subnet in 10.88.10.0-10.88.19.0/24');
  return free[randomInt(free.length)] as number;
}

function connectAndRead(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port, timeout: 5000 });
    let data = '';
    sock.on('data', (d) => (data += d.toString()));
    sock.on('end', () => resolve(data));
    sock.on('timeout', () => sock.destroy(new Error(`timeout connecting to ${host}:${port}`)));
    sock.on('error', reject);
  });
}

function hostVeth(result: CniResult, bridge: string): string {
  const veth = result.interfaces.find((i) => !i.sandbox && i.name !== bridge);
  if (!veth) throw new Error('no host-side veth in result');
  return veth.name;
}

function ifbDevices(): string[] {
  return tryRun('ip', ['-o', 'link', 'show', 'type', 'ifb']).out
    .split('\n')
    .map((l) => l.split(':')[1]?.trim() ?? '')
    .filter(Boolean);
}

describe.skipIf(!isRoot)('CNI engine with real plugins (bridge, host-local, portmap, firewall, tuning, bandwidth)', () => {
  const rand = randomBytes(3).toString('hex');
  const bridge = `cnit${rand}`;
  const network = `cnit-${rand}`;
  const netnsA = `cnit-${rand}-a`;
  const netnsB = `cnit-${rand}-b`;
  const netnsLo = `cnit-${rand}-lo`;
  const cidA = `cnit${rand}a`;
  const cidB = `cnit${rand}b`;
  const hostPort = 40000 + randomInt(10000);
  let third = 0;
  let tmp = '';
  let dataDir = '';
  let cacheDir = '';
  let engine: CniEngine;
  let listener: ChildProcess | undefined;
  let resultA: CniResult;
  let resultB: CniResult;
  let ifbA = '';
  const nsPath = (ns: string) => `/var/run/netns/${ns}`;
  const podArgs = (cid: string) => ({
    K8S_POD_NAMESPACE: 'cnit',
    K8S_POD_NAME: cid,
    K8S_POD_INFRA_CONTAINER_ID: cid,
    K8S_POD_UID: `uid-${cid}`,
  });
  const bandwidth = { ingressRate: 10_000_000, ingressBurst: 1_000_000, egressRate: 10_000_000, egressBurst: 1_000_000 };

  beforeAll(async () => {
    third = freeSubnet();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'cnit-e2e-'));
    dataDir = path.join(tmp, 'ipam');
    cacheDir = path.join(tmp, 'cache');
    const confDir = path.join(tmp, 'net.d');
    await mkdir(confDir);
    for (const ns of [netnsA, netnsB, netnsLo]) sh('ip', ['netns', 'add', ns]);
    await writeFile(
      path.join(confDir, '10-cnit.conflist'),
      JSON.stringify({
        // Debian's 1.1.1 plugins stop at 1.0.0: negotiation must land there.
        cniVersion: '0.4.0',
        cniVersions: ['0.4.0', '1.0.0', '1.1.0'],
        name: network,
        plugins: [
          {
            type: 'bridge',
            bridge,
            isGateway: true,
            ipMasq: false,
            ipam: {
              type: 'host-local',
              ranges: [[{ subnet: `10.88.${third}.0/24` }]],
              routes: [{ dst: '0.0.0.0/0' }],
              dataDir,
            },
          },
          { type: 'portmap', capabilities: { portMappings: true } },
          { type: 'firewall' },
          { type: 'tuning', sysctl: { 'net.core.somaxconn': '1234' } },
          { type: 'bandwidth', capabilities: { bandwidth: true } },
        ],
      }),
    );
    engine = createCniEngine({ confDir, binDirs: [BIN], cacheDir, watch: false, pluginTimeoutMs: 30_000 });
  });

  afterAll(async () => {
    if (listener?.pid) {
      try {
        process.kill(-listener.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // DEL is idempotent: this also removes portmap/firewall/bandwidth state of a test that failed midway.
    for (const cid of [cidA, cidB]) await engine?.del({ containerId: cid }).catch(() => undefined);
    engine?.close();
    for (const ns of [netnsA, netnsB, netnsLo]) tryRun('ip', ['netns', 'del', ns]);
    tryRun('ip', ['link', 'del', bridge]);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('negotiates the highest version the real plugins support', async () => {
    const status = await engine.status();
    expect(status).toMatchObject({ ready: true, network: { name: network, cniVersion: '1.0.0' } });
  });

  it('ADD gives the netns an IP on the bridge and sets up every plugin; CHECK passes', async () => {
    const ifbBefore = ifbDevices();
    resultA = await engine.add({ containerId: cidA, netns: nsPath(netnsA), args: podArgs(cidA), capabilityArgs: { bandwidth } });
    const ips = podIpsFromResult(resultA, 'eth0');
    expect(ips.ipv4).toMatch(new RegExp(`^10\\.88\\.${third}\\.\\d+$`));
    const ip = ips.ipv4 as string;
    expect(ip).not.toBe(`10.88.${third}.1`);

    expect(sh('ip', ['-n', netnsA, '-4', 'addr', 'show', 'dev', 'eth0'])).toContain(`inet ${ip}/24`);
    expect(sh('ip', ['-4', 'addr', 'show', 'dev', bridge])).toContain(`inet 10.88.${third}.1/24`);
    expect(readFileSync(path.join(dataDir, network, ip), 'utf8')).toContain(cidA);
    // firewall: accept rules for the pod IP.
    expect(sh('iptables', ['-S', 'CNI-FORWARD'])).toContain(`${ip}/32`);
    // tuning ran inside the pod's netns only.
    expect(sh('ip', ['netns', 'exec', netnsA, 'cat', '/proc/sys/net/core/somaxconn']).trim()).toBe('1234');
    expect(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim()).not.toBe('1234');
    // bandwidth: a tbf on the host veth for ingress, and its egress redirected to a new ifb.
    const veth = hostVeth(resultA, bridge);
    expect(sh('tc', ['qdisc', 'show', 'dev', veth])).toContain('tbf');
    ifbA = /Redirect to device (\S+)\)/.exec(sh('tc', ['filter', 'show', 'dev', veth, 'ingress']))?.[1] ?? '';
    expect(ifbBefore).not.toContain(ifbA);
    expect(ifbDevices()).toContain(ifbA);

    expect(await engine.check({ containerId: cidA, netns: nsPath(netnsA) })).toEqual({ ran: true });
    expect(tryRun('ip', ['-n', netnsA, 'link', 'show', 'eth0']).ok).toBe(true);
  });

  it('a second pod gets another IP; it is reachable directly and through its host port (portmap)', async () => {
    // No CHECK here: portmap 1.1.1 fails CHECK on IPv4-only pods with port mappings
    // (containernetworking/plugins#819, fixed after Debian's version).
    resultB = await engine.add({
      containerId: cidB,
      netns: nsPath(netnsB),
      args: podArgs(cidB),
      capabilityArgs: { portMappings: [{ hostPort, containerPort: 8080, protocol: 'tcp' }] },
    });
    const ip = podIpsFromResult(resultB).ipv4 as string;
    expect(ip).toMatch(new RegExp(`^10\\.88\\.${third}\\.\\d+$`));
    expect(ip).not.toBe(podIpsFromResult(resultA).ipv4);
    expect(sh('iptables-save', ['-t', 'nat'])).toContain(`id: \\"${cidB}\\"`);
    listener = spawn(
      'ip',
      ['netns', 'exec', netnsB, 'socat', 'TCP-LISTEN:8080,reuseaddr,fork', 'SYSTEM:echo hello-from-pod'],
      { detached: true, stdio: 'ignore' },
    );
    await expect.poll(() => tryRun('ip', ['netns', 'exec', netnsB, 'ss', '-ltn']).out.includes(':8080'), { timeout: 5000 }).toBe(true);
    expect((await connectAndRead(ip, 8080)).trim()).toBe('hello-from-pod');
    expect((await connectAndRead(`10.88.${third}.1`, hostPort)).trim()).toBe('hello-from-pod');
  });

  it('CHECK fails once the pod interface lost its address', async () => {
    const ip = podIpsFromResult(resultA).ipv4 as string;
    sh('ip', ['-n', netnsA, 'addr', 'del', `${ip}/24`, 'dev', 'eth0']);
    await expect(engine.check({ containerId: cidA, netns: nsPath(netnsA) })).rejects.toThrow(/CNI plugin "bridge" failed on CHECK/);
  });

  it('DEL removes the veth, the rules and the IP; a second DEL succeeds', async () => {
    const ip = podIpsFromResult(resultA).ipv4 as string;
    const veth = hostVeth(resultA, bridge);

    await engine.del({ containerId: cidA, netns: nsPath(netnsA) });
    expect(tryRun('ip', ['link', 'show', veth]).ok).toBe(false);
    expect(tryRun('ip', ['-n', netnsA, 'link', 'show', 'eth0']).ok).toBe(false);
    expect(existsSync(path.join(dataDir, network, ip))).toBe(false);
    expect(sh('iptables', ['-S', 'CNI-FORWARD'])).not.toContain(`${ip}/32`);
    expect(ifbDevices()).not.toContain(ifbA);
    expect(readdirSync(path.join(cacheDir, 'results')).filter((f) => f.includes(cidA))).toEqual([]);

    await expect(engine.del({ containerId: cidA, netns: nsPath(netnsA) })).resolves.toBeUndefined();
  });

  it('DEL after the netns was deleted succeeds, frees the IP and drops the port mapping', async () => {
    const ip = podIpsFromResult(resultB).ipv4 as string;
    const veth = hostVeth(resultB, bridge);
    expect(existsSync(path.join(dataDir, network, ip))).toBe(true);
    if (listener?.pid) process.kill(-listener.pid, 'SIGKILL');
    listener = undefined;
    sh('ip', ['netns', 'del', netnsB]);
    await engine.del({ containerId: cidB, netns: nsPath(netnsB) });
    expect(existsSync(path.join(dataDir, network, ip))).toBe(false);
    expect(tryRun('ip', ['link', 'show', veth]).ok).toBe(false);
    expect(sh('iptables', ['-S', 'CNI-FORWARD'])).not.toContain(`${ip}/32`);
    expect(sh('iptables-save', ['-t', 'nat'])).not.toContain(`id: \\"${cidB}\\"`);
    expect(readdirSync(path.join(cacheDir, 'results'))).toEqual([]);
    await expect(engine.del({ containerId: cidB })).resolves.toBeUndefined();
  });

  it('runs an old single-plugin .conf (loopback, 0.3.1) after up-conversion', async () => {
    const confDir = path.join(tmp, 'lo.d');
    await mkdir(confDir);
    await writeFile(path.join(confDir, '99-loopback.conf'), JSON.stringify({ cniVersion: '0.3.1', name: `cnit-lo-${rand}`, type: 'loopback' }));
    const lo = createCniEngine({ confDir, binDirs: [BIN], cacheDir: path.join(tmp, 'lo-cache'), watch: false });
    try {
      expect(sh('ip', ['-n', netnsLo, 'link', 'show', 'lo'])).not.toContain('UP');
      const result = await lo.add({ containerId: `cnit${rand}lo`, netns: nsPath(netnsLo), ifName: 'lo' });
      expect(result.cniVersion).toBe('0.3.1');
      expect(podIpsFromResult(result, 'lo').ipv4).toBe('127.0.0.1');
      expect(sh('ip', ['-n', netnsLo, 'link', 'show', 'lo'])).toContain('UP');
      expect(await lo.check({ containerId: `cnit${rand}lo`, netns: nsPath(netnsLo), ifName: 'lo' })).toMatchObject({ ran: false });
      await lo.del({ containerId: `cnit${rand}lo`, netns: nsPath(netnsLo), ifName: 'lo' });
      expect(sh('ip', ['-n', netnsLo, 'link', 'show', 'lo'])).not.toContain('UP');
    } finally {
      lo.close();
    }
  });
});
