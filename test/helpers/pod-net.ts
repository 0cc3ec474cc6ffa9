/**
 * A CNI environment of a test suite's own: conf dir, bridge, subnet, host-local data
 * dir and cache dir, none shared with the node's real network or other suites.
 * Pod suites use subnets 10.88.20.0/24 … 10.88.29.0/24 (one per suite, by index).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'pods');

export interface PodNetEnv {
  dir: string;
  confDir: string;
  cacheDir: string;
  dataDir: string;
  binDirs: string[];
  bridge: string;
  subnet: string;
  /** The CNI network name in the conflist (and in host-local's data dir). */
  network: string;
  /** The subnet's /24 prefix with its trailing dot ("10.88.20."): `${ipPrefix}250` is an address in it. */
  ipPrefix: string;
  /** host-local files that are IP reservations (not its lock or last-reserved markers). */
  reservedIps(): string[];
  /** Host-side veths still attached to our bridge. */
  bridgePorts(): string[];
  cleanup(): void;
}

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function createPodNetEnv(index: number, extraPlugins: object[] = []): PodNetEnv {
  const dir = mkdtempSync(join(tmpdir(), 'cri-shim-pods-'));
  const confDir = join(dir, 'net.d');
  const cacheDir = join(dir, 'cni-cache');
  const dataDir = join(dir, 'ipam');
  mkdirSync(confDir);
  const bridge = `crt${index}${Math.random().toString(36).slice(2, 7)}`;
  const ipPrefix = `10.88.${20 + index}.`;
  const subnet = `${ipPrefix}0/24`;
  const network = `crt-${index}`;
  const conflist = {
    cniVersion: '1.0.0',
    name: network,
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: { type: 'host-local', dataDir, ranges: [[{ subnet }]] },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'firewall' },
      ...extraPlugins,
    ],
  };
  writeFileSync(join(confDir, '10-test.conflist'), JSON.stringify(conflist, null, 2));
  const netDir = join(dataDir, network);
  return {
    dir,
    confDir,
    cacheDir,
    dataDir,
    binDirs: ['/usr/lib/cni', FIXTURES],
    bridge,
    subnet,
    network,
    ipPrefix,
    reservedIps: () =>
      existsSync(netDir) ? readdirSync(netDir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip')) : [],
    bridgePorts: () => {
      try {
        return sh('ip', ['-o', 'link', 'show', 'master', bridge])
          .split('\n')
          .filter(Boolean);
      } catch {
        return [];
      }
    },
    cleanup: () => {
      try {
        sh('ip', ['link', 'del', bridge]);
      } catch {
        // already gone
      }
      removeFirewallRulesOf(subnet);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The `firewall` plugin's per-pod ACCEPT rules in CNI-FORWARD for this suite's subnet: only a
 * CNI DEL removes them, so a test that failed before its pod's DEL leaves them behind, and
 * host-local hands the same IPs out again next run (where "no rule for this IP" then fails).
 */
function removeFirewallRulesOf(subnet: string): void {
  const prefix = subnet.replace(/0\/24$/, '');
  let rules: string[];
  try {
    rules = sh('iptables', ['-w', '-S', 'CNI-FORWARD']).split('\n');
  } catch {
    return; // no firewall plugin ever ran here
  }
  for (const rule of rules) {
    if (!rule.startsWith('-A CNI-FORWARD ') || !rule.includes(` ${prefix}`)) continue;
    try {
      sh('iptables', ['-w', '-D', ...rule.slice(3).split(' ')]);
    } catch {
      // removed meanwhile
    }
  }
}

/** Docker containers of the pod with this uid, running or not. */
export function dockerContainersOfPod(uid: string): string[] {
  return sh('docker', ['ps', '-aq', '--filter', `label=io.kubernetes.pod.uid=${uid}`]).split('\n').filter(Boolean);
}

/** A suite's safety net: whatever a failed test left of the pod goes. */
export function removeContainersOfPod(uid: string): void {
  for (const c of dockerContainersOfPod(uid)) sh('docker', ['rm', '-f', c]);
}

/** Shim settings that point a test shim at this environment. */
/** Matches one address of the suite's subnet, for `expect(ip).toMatch(...)`. */
export function subnetIpPattern(env: PodNetEnv): RegExp {
  return new RegExp(`^${env.ipPrefix.replaceAll('.', '\\.')}\\d+$`);
}

export function shimConfigFor(env: PodNetEnv): { stateDir: string; cniConfDir: string; cniBinDirs: string[]; cniCacheDir: string } {
  return { stateDir: join(env.dir, 'state'), cniConfDir: env.confDir, cniBinDirs: env.binDirs, cniCacheDir: env.cacheDir };
}

/** Docker containers carrying our sandbox id label, running or not. */
export function dockerContainersOfSandbox(sandboxId: string): string[] {
  return sh('docker', ['ps', '-aq', '--filter', `label=io.cri-shim.sandbox-id=${sandboxId}`]).split('\n').filter(Boolean);
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export async function httpGet(url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}
