/**
 * cgroup v1: each controller is its own hierarchy, so one cgroup is a directory
 * per controller (cpuacct, cpu, memory, pids). memory.stat's `total_*` keys are
 * hierarchical (the cgroup and its descendants), which is what a pod's parent cgroup
 * needs; for a leaf they equal the plain keys. Files mirror what cAdvisor and
 * containerd's cgroups library read. File paths are `${dir}/${name}`, not path.join:
 * the directories are already normal absolute paths, and join's normalisation was the
 * largest allocator of a stats call (a heap sampling profile at 100 pods).
 */
import { countLines, readKeyed, readOptionalSync, readValue } from './cgroup-files.js';
import type { CgroupSample, CpuCounters, MemoryCounters, PidsCounters } from './types.js';

export interface V1Dirs {
  cpuacct?: string;
  cpu?: string;
  memory?: string;
  pids?: string;
}

/** cpuacct.stat is in USER_HZ ticks, which Linux fixes at 100 per second for userspace. */
const NS_PER_TICK = 10_000_000n;

/** A v1 limit at or above 2^62 is the kernel's "unlimited" (PAGE_COUNTER_MAX rounded); cAdvisor draws the line there too. */
export const V1_UNLIMITED = 1n << 62n;

function cpu(dirs: V1Dirs): CpuCounters | null {
  if (!dirs.cpuacct) return null;
  const usageNs = readValue(`${dirs.cpuacct}/cpuacct.usage`);
  if (usageNs === undefined || usageNs === null) return null;
  // cpuacct.usage_user/_sys are ns (Linux 4.7+); cpuacct.stat is the older tick count.
  let userNs = readValue(`${dirs.cpuacct}/cpuacct.usage_user`);
  let systemNs = readValue(`${dirs.cpuacct}/cpuacct.usage_sys`);
  if (userNs === undefined || systemNs === undefined) {
    const stat = readKeyed(`${dirs.cpuacct}/cpuacct.stat`);
    const user = stat?.get('user');
    const system = stat?.get('system');
    userNs = user === undefined ? null : user * NS_PER_TICK;
    systemNs = system === undefined ? null : system * NS_PER_TICK;
  }
  const throttling = dirs.cpu ? readKeyed(`${dirs.cpu}/cpu.stat`) : undefined;
  return {
    usageNs,
    userNs: userNs ?? null,
    systemNs: systemNs ?? null,
    periods: throttling?.get('nr_periods') ?? null,
    throttledPeriods: throttling?.get('nr_throttled') ?? null,
    throttledNs: throttling?.get('throttled_time') ?? null,
  };
}

/** Hierarchical value when the kernel gives one, else the cgroup's own. */
function hier(stat: Map<string, bigint>, key: string): bigint {
  return stat.get(`total_${key}`) ?? stat.get(key) ?? 0n;
}

export function memoryFromV1(
  usage: bigint,
  stat: Map<string, bigint>,
  limit: bigint | null,
  maxUsage: bigint | null,
  failcnt: bigint | null,
): MemoryCounters {
  const inactiveFile = hier(stat, 'inactive_file');
  const swapKey = stat.has('total_swap') ? 'total_swap' : stat.has('swap') ? 'swap' : undefined;
  return {
    usage,
    workingSet: usage > inactiveFile ? usage - inactiveFile : 0n,
    rss: hier(stat, 'rss'),
    cache: hier(stat, 'cache'),
    mappedFile: hier(stat, 'mapped_file'),
    inactiveFile,
    pgfault: hier(stat, 'pgfault'),
    pgmajfault: hier(stat, 'pgmajfault'),
    limit: limit === null || limit >= V1_UNLIMITED ? null : limit,
    maxUsage,
    failcnt,
    swap: swapKey ? stat.get(swapKey)! : null,
  };
}

function memory(dir: string | undefined): MemoryCounters | null {
  if (!dir) return null;
  const usage = readValue(`${dir}/memory.usage_in_bytes`);
  const stat = readKeyed(`${dir}/memory.stat`);
  if (usage === undefined || usage === null || !stat) return null;
  const [limit, maxUsage, failcnt] = [
    readValue(`${dir}/memory.limit_in_bytes`),
    readValue(`${dir}/memory.max_usage_in_bytes`),
    readValue(`${dir}/memory.failcnt`),
  ];
  return memoryFromV1(usage, stat, limit ?? null, maxUsage ?? null, failcnt ?? null);
}

function pids(dirs: V1Dirs): PidsCounters | null {
  if (dirs.pids) {
    const current = readValue(`${dirs.pids}/pids.current`);
    if (current !== undefined && current !== null) return { current };
  }
  // Without the pids controller, count the cgroup's own processes (not its descendants').
  const dir = dirs.memory ?? dirs.cpuacct;
  const procs = dir ? readOptionalSync(`${dir}/cgroup.procs`) : undefined;
  return procs === undefined ? null : { current: countLines(procs) };
}

export function readCgroupV1(dirs: V1Dirs): CgroupSample {
  const [c, m, p] = [cpu(dirs), memory(dirs.memory), pids(dirs)];
  return { cpu: c, memory: m, pids: p };
}
