/**
 * What a pod can leave on the node, looked for everywhere at once: Docker containers,
 * host-local IP reservations, CNI cache entries (and their temp files), veths on the
 * suite's bridge, Docker netns mounts, state files, cgroup dirs. `keep` names what a
 * bystander pod legitimately holds.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dockerContainersOfPod, sh, type PodNetEnv } from './pod-net.js';

const DOCKER_NETNS_DIR = '/var/run/docker/netns';
const PROBE_IMAGE = 'localhost/cri-shim/pause:1.0';

export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** What a pod had on the node while it lived: its Docker ids, netns mounts and cgroup dirs. */
export interface Seen {
  ids: string[];
  netns: string[];
  cgroups: string[];
}

/**
 * Looks the pod's containers up before they are removed. The netns mounts are read in
 * dockerd's mount namespace and the cgroup dirs from each running process's own
 * /proc/<pid>/cgroup, so neither depends on this host's cgroup version, driver or on
 * sharing dockerd's mounts. Throws when a running container shows no netns mount or
 * no cgroup dir: a check with nothing to look at must not pass.
 */
export function seenOf(containerIds: string[]): Seen {
  verifyProbes();
  const seen: Seen = { ids: [], netns: [], cgroups: [] };
  for (const c of containerIds) {
    const [id, pid, sandboxKey] = sh('docker', ['inspect', '--format', '{{.Id}} {{.State.Pid}} {{.NetworkSettings.SandboxKey}}', c]).trim().split(' ');
    seen.ids.push(id);
    if (Number(pid) <= 0) continue; // not running: Docker holds no netns or cgroup for it
    const cgroups = cgroupDirsOfProcess(Number(pid));
    if (cgroups.length === 0) throw new Error(`leftover check: running container ${id} has no cgroup dir this host shows`);
    seen.cgroups.push(...cgroups);
    if (sandboxKey?.startsWith(DOCKER_NETNS_DIR)) {
      if (mountedNetns([sandboxKey]).length === 0) throw new Error(`leftover check: netns ${sandboxKey} of running container ${id} is not a mount in dockerd's namespace`);
      seen.netns.push(sandboxKey);
    }
  }
  return seen;
}

/**
 * Which of these netns files are still mounts, in dockerd's mount namespace. Docker
 * unmounts a removed container's netns at once but deletes the file itself in a
 * periodic sweep, so existence says nothing.
 */
export function mountedNetns(paths: string[]): string[] {
  const mountinfo = readFileSync(`/proc/${dockerdPid()}/mountinfo`, 'utf8');
  const points = new Set(mountinfo.split('\n').map((l) => l.split(' ')[4]));
  return paths.filter((p) => points.has(p) || points.has(p.replace(/^\/var\/run\//, '/run/')));
}

function dockerdPid(): number {
  const fromFile = Number(listDir('/var/run').includes('docker.pid') ? readFileSync('/var/run/docker.pid', 'utf8').trim() : NaN);
  const pid = Number.isInteger(fromFile) && fromFile > 0 ? fromFile : Number(sh('pidof', ['-s', 'dockerd']).trim());
  if (!existsSync(`/proc/${pid}/mountinfo`)) throw new Error(`leftover check: dockerd (pid ${pid}) is not visible in /proc`);
  return pid;
}

/**
 * The cgroup dirs of a process, from /proc/<pid>/cgroup ("id:controllers:path") and
 * the cgroup mounts: v1 hierarchies by controller, v2 (empty controller list) by the
 * cgroup2 mount. Hierarchies this host does not mount are skipped.
 */
function cgroupDirsOfProcess(pid: number): string[] {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .flatMap((f) => {
      const dash = f.indexOf('-');
      const fstype = f[dash + 1];
      if (fstype !== 'cgroup' && fstype !== 'cgroup2') return [];
      return [{ root: f[3], point: f[4], v2: fstype === 'cgroup2', options: (f[dash + 3] ?? '').split(',') }];
    });
  const dirs: string[] = [];
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').filter(Boolean)) {
    const [, controllers, path] = line.match(/^\d+:([^:]*):(.*)$/) ?? [];
    if (path === undefined) continue;
    const wanted = controllers ? controllers.split(',') : [];
    const mount = mounts.find((m) => (wanted.length === 0 ? m.v2 : !m.v2 && wanted.every((c) => m.options.includes(c))));
    if (!mount || !path.startsWith(mount.root)) continue;
    const dir = join(mount.point, path.slice(mount.root === '/' ? 0 : mount.root.length));
    if (existsSync(dir)) dirs.push(dir);
  }
  return dirs;
}

let probesVerified = false;

/**
 * Once per run: a throwaway container (no network) must show a netns mount and cgroup
 * dirs while it runs, and neither once it is removed, or the leftover checks would
 * pass on a host where they cannot see anything.
 */
function verifyProbes(): void {
  if (probesVerified) return;
  const id = sh('docker', ['run', '-d', '--network', 'none', '--label', 'io.cri-shim.test-probe=leftovers', PROBE_IMAGE]).trim();
  let live: Seen;
  try {
    probesVerified = true; // seenOf below must not recurse into this
    live = seenOf([id]);
  } catch (err) {
    probesVerified = false;
    throw err;
  } finally {
    sh('docker', ['rm', '-f', id]);
  }
  if (live.netns.length === 0 || live.cgroups.length === 0) {
    probesVerified = false;
    throw new Error(`leftover check: a running probe container showed netns ${JSON.stringify(live.netns)} and cgroups ${JSON.stringify(live.cgroups)}`);
  }
  const left = { netns: mountedNetns(live.netns), cgroups: live.cgroups.filter((d) => existsSync(d)) };
  if (left.netns.length + left.cgroups.length > 0) {
    probesVerified = false;
    throw new Error(`leftover check: a removed probe container still shows ${JSON.stringify(left)}`);
  }
}

export interface Leftovers {
  containers: string[];
  ips: string[];
  cacheEntries: string[];
  cacheTemps: string[];
  veths: number;
  netns: string[];
  stateFiles: string[];
  cgroups: string[];
}

export interface Keep {
  /** Sandbox ids whose cache entries and state files may stay. */
  sandboxIds: string[];
  /** Container ids (pause and workloads) whose state files may stay. */
  containerIds: string[];
  ips: string[];
  veths: number;
}

/**
 * Everything pod `uid` left, minus what `keep` allows; `seen` is what the pod had
 * (look it up with seenOf before removing it).
 */
export function leftovers(env: PodNetEnv, stateDir: string, uid: string, seen: Seen, keep: Keep): Leftovers {
  const kept = (name: string) => [...keep.sandboxIds, ...keep.containerIds].some((id) => name.includes(id));
  return {
    containers: dockerContainersOfPod(uid),
    ips: env.reservedIps().filter((ip) => !keep.ips.includes(ip)),
    cacheEntries: listDir(join(env.cacheDir, 'results')).filter((f) => !kept(f)),
    cacheTemps: listDir(join(env.cacheDir, '.cri-shim-tmp')),
    veths: env.bridgePorts().length - keep.veths,
    netns: mountedNetns(seen.netns),
    stateFiles: [
      ...listDir(join(stateDir, 'sandboxes')).map((f) => `sandboxes/${f}`),
      ...listDir(join(stateDir, 'containers')).map((f) => `containers/${f}`),
    ].filter((f) => !kept(f)),
    cgroups: seen.cgroups.filter((d) => existsSync(d)),
  };
}

export const NOTHING: Leftovers = { containers: [], ips: [], cacheEntries: [], cacheTemps: [], veths: 0, netns: [], stateFiles: [], cgroups: [] };
