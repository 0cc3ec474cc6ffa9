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
const CGROUP_ROOT = '/sys/fs/cgroup';

export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** The netns mounts (Docker's SandboxKey) of these containers, while they exist. */
export function netnsOf(containerIds: string[]): string[] {
  if (containerIds.length === 0) return [];
  const out = sh('docker', ['inspect', '--format', '{{.NetworkSettings.SandboxKey}}', ...containerIds]);
  return out.split('\n').filter((p) => p.startsWith(DOCKER_NETNS_DIR));
}

/**
 * Which of these netns files are still mounts. Docker unmounts a removed container's
 * netns at once but deletes the file itself in a periodic sweep, so existence says nothing.
 */
export function mountedNetns(paths: string[]): string[] {
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  return paths.filter((p) => mountinfo.includes(` ${p.replace(/^\/var\/run\//, '/run/')} `));
}

/** Docker's cgroup dirs (cgroupfs driver, default parent) of these containers that still exist. */
export function cgroupDirsOf(containerIds: string[]): string[] {
  const out: string[] = [];
  for (const controller of listDir(CGROUP_ROOT)) {
    for (const id of containerIds) {
      const dir = join(CGROUP_ROOT, controller, 'docker', id);
      if (existsSync(dir)) out.push(dir);
    }
  }
  return out;
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
 * Everything pod `uid` left, minus what `keep` allows; `seen` are the Docker ids and
 * netns mounts the pod had (look them up with netnsOf before removing it).
 */
export function leftovers(env: PodNetEnv, stateDir: string, uid: string, seen: { ids: string[]; netns: string[] }, keep: Keep): Leftovers {
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
    cgroups: cgroupDirsOf(seen.ids),
  };
}

export const NOTHING: Leftovers = { containers: [], ips: [], cacheEntries: [], cacheTemps: [], veths: 0, netns: [], stateFiles: [], cgroups: [] };
