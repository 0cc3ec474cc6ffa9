/**
 * Checks of the node itself: kernel settings, iptables FORWARD, directories, socket, disk.
 * Each reads; none changes anything.
 */
import { execFile } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, readFile, stat, statfs } from 'node:fs/promises';
import net from 'node:net';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { fail, pass, type CheckResult } from './check.js';

const run = promisify(execFile);

async function readTrimmed(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

export async function checkIpForward(procRoot = '/proc'): Promise<CheckResult> {
  const name = 'net.ipv4.ip_forward';
  const v = await readTrimmed(`${procRoot}/sys/net/ipv4/ip_forward`);
  if (v === '1') return pass(name, '1 (the node routes between the pod bridge and the rest)');
  return fail(name, `${v ?? 'unreadable'}: pods can reach nothing beyond their bridge`, 'sysctl -w net.ipv4.ip_forward=1 (and set it in /etc/sysctl.d/ to keep it)');
}

export async function checkBrNetfilter(procRoot = '/proc'): Promise<CheckResult> {
  const name = 'br_netfilter';
  const v = await readTrimmed(`${procRoot}/sys/net/bridge/bridge-nf-call-iptables`);
  if (v === undefined) {
    return fail(name, 'module not loaded: bridged pod traffic bypasses iptables, so Service (kube-proxy) and hostPort rules miss pod-to-pod traffic', 'modprobe br_netfilter (and list it in /etc/modules-load.d/)');
  }
  if (v !== '1') return fail(name, `loaded, but net.bridge.bridge-nf-call-iptables is ${v}`, 'sysctl -w net.bridge.bridge-nf-call-iptables=1');
  return pass(name, 'loaded, bridge-nf-call-iptables=1');
}

/** FORWARD policy from `iptables -S FORWARD`; undefined when iptables cannot be run. */
export async function forwardPolicy(): Promise<string | undefined> {
  try {
    const { stdout } = await run('iptables', ['-w', '5', '-S', 'FORWARD'], { timeout: 10_000 });
    return stdout.match(/^-P FORWARD (\S+)/m)?.[1];
  } catch {
    return undefined;
  }
}

export function checkForward(policy: string | undefined, chainTypes: string[] | undefined): CheckResult {
  const name = 'iptables FORWARD';
  if (policy === undefined) return fail(name, 'cannot run iptables -S FORWARD', 'install iptables (Debian: apt-get install iptables) and run as root');
  if (policy !== 'DROP') return pass(name, `policy ${policy}`);
  if (chainTypes === undefined) return fail(name, 'policy DROP (Docker sets it) and no CNI chain is loaded to open it', 'load a CNI config whose chain ends with {"type":"firewall"}');
  if (chainTypes.includes('firewall')) return pass(name, 'policy DROP (Docker sets it); the firewall plugin in the chain accepts each pod\'s traffic');
  return fail(
    name,
    'policy DROP (Docker sets it) and the CNI chain has no firewall plugin: traffic forwarded to pods on our bridge is dropped',
    'add {"type":"firewall"} at the end of the plugins list of the CNI config (it adds per-pod ACCEPT rules in CNI-FORWARD)',
  );
}

/** The directory, or its nearest existing ancestor, is writable by us. */
async function writableOrCreatable(dir: string): Promise<{ ok: boolean; where: string; exists: boolean }> {
  let cur = dir;
  for (;;) {
    try {
      const st = await stat(cur);
      if (!st.isDirectory()) return { ok: false, where: cur, exists: cur === dir };
      await access(cur, fsConstants.W_OK | fsConstants.X_OK);
      return { ok: true, where: cur, exists: cur === dir };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return { ok: false, where: cur, exists: cur === dir };
    }
    const parent = dirname(cur);
    if (parent === cur) return { ok: false, where: cur, exists: false };
    cur = parent;
  }
}

export async function checkWritableDir(label: string, dir: string): Promise<CheckResult> {
  const name = `${label} ${dir}`;
  const w = await writableOrCreatable(dir);
  if (w.ok) return pass(name, w.exists ? 'writable' : `not there yet; ${w.where} is writable, so it can be created`);
  return fail(name, `${w.where} is not a writable directory`, `run as root, or point the flag at a writable directory (mkdir -p ${dir})`);
}

export async function checkSocket(path: string): Promise<CheckResult> {
  const name = `socket ${path}`;
  let st;
  try {
    st = await stat(path);
  } catch {
    const w = await writableOrCreatable(dirname(path));
    return w.ok
      ? pass(name, `no shim listening yet; ${w.where} is writable, the shim creates the socket with mode 0660`)
      : fail(name, `cannot create it: ${w.where} is not writable`, 'run the shim as root or choose another --listen path');
  }
  if (!st.isSocket()) return fail(name, 'exists and is not a socket', `remove ${path} or choose another --listen path`);
  const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
  if ((st.mode & 0o007) !== 0) return fail(name, `mode ${mode}: anyone on the node can drive the runtime`, `chmod 0660 ${path} (the shim sets 0660 itself)`);
  const live = await connects(path);
  return pass(name, `mode ${mode}, ${live ? 'a shim answers on it' : 'stale (nothing listening); the shim replaces it on start'}`);
}

function connects(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(2000, () => done(false));
  });
}

/** The kubelet's default hard eviction for nodefs is available < 10 %. */
const MIN_FREE_FRACTION = 0.1;
const MIN_FREE_BYTES = 1024 ** 3;

export async function checkDisk(label: string, dir: string): Promise<CheckResult> {
  const name = `free disk (${label} ${dir})`;
  const w = await writableOrCreatable(dir);
  let fs;
  try {
    fs = await statfs(w.where);
  } catch (err) {
    return fail(name, `statfs failed: ${(err as Error).message}`, `check that ${dir} is mounted`);
  }
  const free = fs.bavail * fs.bsize;
  const fraction = fs.blocks > 0 ? fs.bavail / fs.blocks : 0;
  const text = `${(free / 1024 ** 3).toFixed(1)} GiB free (${(fraction * 100).toFixed(0)} %)`;
  if (free < MIN_FREE_BYTES || fraction < MIN_FREE_FRACTION) {
    return fail(name, `${text}: the kubelet evicts pods below 10 % free`, 'free space (docker image prune, docker container prune) or grow the filesystem');
  }
  return pass(name, text);
}
