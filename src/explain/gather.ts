/**
 * Reads what `explain` needs from the live node: the shim's state records and CNI
 * cache, `ip -j` on the host and (through `nsenter --net`) in the pod, `iptables -S`,
 * and Docker's view of the pod's containers with their /proc namespace inodes.
 * Every reading that fails is recorded as such, never thrown: a broken node is
 * exactly when `explain` is run.
 */
import { execFile } from 'node:child_process';
import { readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { findCacheEntries, entryConfigBytes, cachePath } from '../cni/cache.js';
import { silentLogger } from '../logger.js';
import { readJsonRecords } from '../runtime/json-store.js';
import type { ContainerRecord, SandboxRecord } from '../runtime/types.js';
import type { ContainerInputs, ExplainInputs, IpLink, IpRoute, NsInodes, PodFile } from './inputs.js';

const run = promisify(execFile);
const EXEC_TIMEOUT_MS = 10_000;

async function exec(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await run(cmd, args, { timeout: EXEC_TIMEOUT_MS, maxBuffer: 32 * 1024 * 1024 });
  return stdout;
}

export function sandboxRecords(stateDir: string): Promise<SandboxRecord[]> {
  return readJsonRecords<SandboxRecord>(join(stateDir, 'sandboxes'), silentLogger);
}

/** A path we pass to nsenter must be one our records could hold: absolute, no control characters. */
function safePath(p: string): boolean {
  return p.startsWith('/') && !/[\x00-\x1f\x7f]/.test(p) && !p.split('/').includes('..');
}

async function nsInodes(pid: number): Promise<NsInodes> {
  const out: NsInodes = {};
  if (pid <= 0) return out;
  for (const kind of ['net', 'ipc', 'pid', 'uts'] as const) {
    try {
      const link = await readlink(`/proc/${pid}/ns/${kind}`); // "net:[4026532249]"
      const m = link.match(/\[(\d+)\]/);
      if (m) out[kind] = m[1];
    } catch {
      // process gone between inspect and readlink
    }
  }
  return out;
}

async function inspectContainer(docker: Docker, id: string, name: string): Promise<ContainerInputs> {
  try {
    const info = await docker.getContainer(id).inspect();
    const pid = info.State.Running ? info.State.Pid : 0;
    return { id, name, running: info.State.Running, pid, ns: await nsInodes(pid), resolvConfPath: info.ResolvConfPath, hostsPath: info.HostsPath };
  } catch {
    return { id, name, running: false, pid: 0, ns: {}, resolvConfPath: '', hostsPath: '' };
  }
}

async function podFile(path: string): Promise<PodFile | null> {
  if (!path) return null;
  try {
    return { path, content: await readFile(path, 'utf8') };
  } catch {
    return { path, content: null };
  }
}

export interface GatherOptions {
  stateDir: string;
  cniCacheDir: string;
  docker: Docker;
}

export async function gather(sandbox: SandboxRecord, opts: GatherOptions): Promise<ExplainInputs> {
  const containers = (await readJsonRecords<ContainerRecord>(join(opts.stateDir, 'containers'), silentLogger)).filter((c) => c.sandboxId === sandbox.id);
  const ifName = sandbox.network?.ifName ?? 'eth0';
  const cache = await readCache(opts.cniCacheDir, sandbox.id, ifName);
  let networkConf: Record<string, unknown> | null = null;
  if (cache.entry) {
    try {
      networkConf = JSON.parse(entryConfigBytes(cache.entry).toString('utf8')) as Record<string, unknown>;
    } catch {
      networkConf = null;
    }
  }
  let netnsInode: string | null = null;
  try {
    netnsInode = String((await stat(sandbox.netnsPath)).ino);
  } catch {
    netnsInode = null;
  }
  const host = await readHostLinks();
  const pod =
    netnsInode === null
      ? { links: null, routes: null } // the missing netns file is itself the finding
      : safePath(sandbox.netnsPath)
        ? await readPodSide(sandbox.netnsPath)
        : { links: null, routes: null, error: `refusing netns path ${JSON.stringify(sandbox.netnsPath)}` };
  const ipt = await readIptables();
  const dockerContainers = [
    await inspectContainer(opts.docker, sandbox.pauseContainerId, '(pause)'),
    ...(await Promise.all(containers.map((c) => inspectContainer(opts.docker, c.id, c.spec.name)))),
  ];
  const pause = dockerContainers[0];
  return {
    sandbox,
    containers,
    cache,
    networkConf,
    netnsInode,
    hostLinks: host.links,
    ...(host.error ? { hostError: host.error } : {}),
    podLinks: pod.links,
    podRoutes: pod.routes,
    ...(pod.error ? { podError: pod.error } : {}),
    iptablesFilter: ipt.filter,
    iptablesNat: ipt.nat,
    ...(ipt.error ? { iptablesError: ipt.error } : {}),
    dockerContainers,
    resolvConf: await podFile(pause.resolvConfPath),
    hosts: await podFile(pause.hostsPath),
  };
}

async function readCache(cacheDir: string, id: string, ifName: string): Promise<ExplainInputs['cache']> {
  try {
    const found = await findCacheEntries(cacheDir, id, ifName);
    const ok = found.find((r) => r.state === 'ok');
    if (ok && ok.state === 'ok') return { path: ok.file, entry: ok.entry };
    const bad = found[0];
    if (bad && bad.state === 'corrupt') return { path: bad.file, entry: null, error: bad.reason };
  } catch (err) {
    return { path: join(cacheDir, 'results'), entry: null, error: (err as Error).message };
  }
  return { path: cachePath(cacheDir, '<network>', id, ifName), entry: null, error: 'no file' };
}

async function readHostLinks(): Promise<{ links: IpLink[]; error?: string }> {
  try {
    return { links: JSON.parse(await exec('ip', ['-j', '-d', 'addr', 'show'])) as IpLink[] };
  } catch (err) {
    return { links: [], error: (err as Error).message.split('\n')[0] };
  }
}

async function readPodSide(netns: string): Promise<{ links: IpLink[] | null; routes: IpRoute[] | null; error?: string }> {
  try {
    const links = JSON.parse(await exec('nsenter', [`--net=${netns}`, 'ip', '-j', '-d', 'addr', 'show'])) as IpLink[];
    const routes = JSON.parse(await exec('nsenter', [`--net=${netns}`, 'ip', '-j', 'route', 'show'])) as IpRoute[];
    return { links, routes };
  } catch (err) {
    return { links: null, routes: null, error: (err as Error).message.split('\n')[0] };
  }
}

async function readIptables(): Promise<{ filter: string | null; nat: string | null; error?: string }> {
  try {
    return { filter: await exec('iptables', ['-w', '5', '-S']), nat: await exec('iptables', ['-w', '5', '-t', 'nat', '-S']) };
  } catch (err) {
    return { filter: null, nat: null, error: (err as Error).message.split('\n')[0] };
  }
}
