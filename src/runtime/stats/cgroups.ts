/**
 * Where a container's cgroup lives and how to read it. The layout (v1 controllers
 * mounted one per hierarchy, or the v2 unified hierarchy) comes from the shim's own
 * /proc/self/mountinfo; a process's cgroup from /proc/<pid>/cgroup, which is right
 * for either cgroup driver (cgroupfs `/docker/<id>`, systemd `…/docker-<id>.scope`).
 * Hybrid hosts (v1 controllers plus an empty v2 tree at /sys/fs/cgroup/unified, as
 * here) are v1 for every resource, as runc and cAdvisor treat them.
 */
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { readCgroupV1, type V1Dirs } from './cgroup-v1.js';
import { readCgroupV2 } from './cgroup-v2.js';
import type { CgroupSample, CpuCounters, MemoryCounters, PidsCounters } from './types.js';

interface Mount {
  mountpoint: string;
  /** The cgroup path mounted there ("/" unless the host bind-mounts a sub-tree). */
  root: string;
}

export type CgroupLayout = { version: 1; controllers: Map<string, Mount> } | { version: 2; mount: Mount };

/** A cgroup we can read: its path in the hierarchy (cAdvisor's `id` label) and its directories. */
export interface CgroupRef {
  path: string;
  v1?: V1Dirs;
  v2?: string;
}

const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids'] as const;

/** mountinfo escapes space, tab, newline and backslash as octal (\040). */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): CgroupLayout | null {
  const controllers = new Map<string, Mount>();
  const v2: Mount[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const before = line.slice(0, sep).split(' ');
    const [fstype, , superOptions = ''] = line.slice(sep + 3).split(' ');
    const root = unescapeMountField(before[3] ?? '/');
    const mountpoint = unescapeMountField(before[4] ?? '');
    if (fstype === 'cgroup') {
      const opts = superOptions.split(',');
      for (const c of V1_CONTROLLERS) if (opts.includes(c) && !controllers.has(c)) controllers.set(c, { mountpoint, root });
    } else if (fstype === 'cgroup2') {
      v2.push({ mountpoint, root });
    }
  }
  if (controllers.has('memory') || controllers.has('cpuacct')) return { version: 1, controllers };
  const unified = v2.find((m) => m.mountpoint === '/sys/fs/cgroup') ?? v2[0];
  return unified ? { version: 2, mount: unified } : null;
}

export async function detectLayout(procRoot = '/proc'): Promise<CgroupLayout | null> {
  return parseMountinfo(await readFile(join(procRoot, 'self', 'mountinfo'), 'utf8'));
}

/** /proc/<pid>/cgroup (`hierarchy:controllers:path`) → controller → path; v2's line is keyed "". */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, , list, path] = m;
    if (list === '') out.set('', path!);
    else for (const c of list!.split(',')) out.set(c, path!);
  }
  return out;
}

function dirIn(mount: Mount, path: string): string {
  let rel = path;
  if (mount.root !== '/' && (rel === mount.root || rel.startsWith(`${mount.root}/`))) rel = rel.slice(mount.root.length) || '/';
  return join(mount.mountpoint, rel);
}

/** The cgroup at `path` in every hierarchy we read (cgroupfs naming: the same path everywhere). */
export function refForPath(layout: CgroupLayout, path: string): CgroupRef {
  if (layout.version === 2) return { path, v2: dirIn(layout.mount, path) };
  const v1: V1Dirs = {};
  for (const [c, mount] of layout.controllers) v1[c as keyof V1Dirs] = dirIn(mount, path);
  return { path, v1 };
}

/** The cgroup a process is in, from its /proc/<pid>/cgroup; null when the line we need is missing. */
export function refFromProcCgroup(layout: CgroupLayout, paths: Map<string, string>): CgroupRef | null {
  if (layout.version === 2) {
    const path = paths.get('');
    return path === undefined ? null : { path, v2: dirIn(layout.mount, path) };
  }
  const v1: V1Dirs = {};
  for (const [c, mount] of layout.controllers) {
    const path = paths.get(c);
    if (path !== undefined) v1[c as keyof V1Dirs] = dirIn(mount, path);
  }
  const path = paths.get('memory') ?? paths.get('cpuacct');
  return path === undefined ? null : { path, v1 };
}

/** The enclosing cgroup (a pod's, for a container placed in its cgroup_parent). */
export function parentRef(ref: CgroupRef): CgroupRef {
  const up = (d: string) => posix.dirname(d);
  if (ref.v2 !== undefined) return { path: up(ref.path), v2: up(ref.v2) };
  const v1: V1Dirs = {};
  for (const [c, d] of Object.entries(ref.v1 ?? {})) if (d) v1[c as keyof V1Dirs] = up(d);
  return { path: up(ref.path), v1 };
}

/** Synchronous: a few kernel-generated files (see cgroup-files.ts), no promise per file. */
export function readCgroup(ref: CgroupRef): CgroupSample {
  return ref.v2 !== undefined ? readCgroupV2(ref.v2) : readCgroupV1(ref.v1 ?? {});
}

export function isEmptySample(s: CgroupSample): boolean {
  return !s.cpu && !s.memory && !s.pids;
}

function sumOptional(values: Array<bigint | null>): bigint | null {
  const present = values.filter((v): v is bigint => v !== null);
  return present.length ? present.reduce((a, b) => a + b, 0n) : null;
}

function sumSection<T>(items: Array<T | null>, combine: (present: T[]) => T): T | null {
  const present = items.filter((x): x is T => x !== null);
  return present.length ? combine(present) : null;
}

/**
 * A pod without a cgroup_parent has no cgroup of its own (Docker puts each container
 * in /docker/<id>): its usage is the sum of its containers'. Limits and peaks do not
 * add up, so the sum has none.
 */
export function sumSamples(samples: CgroupSample[]): CgroupSample {
  const total = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);
  return {
    cpu: sumSection<CpuCounters>(samples.map((s) => s.cpu), (cs) => ({
      usageNs: total(cs.map((c) => c.usageNs)),
      userNs: sumOptional(cs.map((c) => c.userNs)),
      systemNs: sumOptional(cs.map((c) => c.systemNs)),
      periods: sumOptional(cs.map((c) => c.periods)),
      throttledPeriods: sumOptional(cs.map((c) => c.throttledPeriods)),
      throttledNs: sumOptional(cs.map((c) => c.throttledNs)),
    })),
    memory: sumSection<MemoryCounters>(samples.map((s) => s.memory), (ms) => ({
      usage: total(ms.map((m) => m.usage)),
      workingSet: total(ms.map((m) => m.workingSet)),
      rss: total(ms.map((m) => m.rss)),
      cache: total(ms.map((m) => m.cache)),
      mappedFile: total(ms.map((m) => m.mappedFile)),
      inactiveFile: total(ms.map((m) => m.inactiveFile)),
      pgfault: total(ms.map((m) => m.pgfault)),
      pgmajfault: total(ms.map((m) => m.pgmajfault)),
      limit: null,
      maxUsage: null,
      failcnt: sumOptional(ms.map((m) => m.failcnt)),
      swap: sumOptional(ms.map((m) => m.swap)),
    })),
    pids: sumSection<PidsCounters>(samples.map((s) => s.pids), (ps) => ({ current: total(ps.map((p) => p.current)) })),
  };
}
