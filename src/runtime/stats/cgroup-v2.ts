/**
 * cgroup v2: one directory per cgroup under the unified hierarchy. cpu.stat is in
 * microseconds; memory.stat is always hierarchical; "max" means no limit. Key names
 * as in the kernel's Documentation/admin-guide/cgroup-v2.rst; the working set is
 * cAdvisor's (memory.current − inactive_file), RSS is `anon` as cAdvisor reports it.
 */
import { countLines, readKeyed, readOptionalSync, readValue } from './cgroup-files.js';
import type { CgroupSample, CpuCounters, MemoryCounters, PidsCounters } from './types.js';

const NS_PER_USEC = 1000n;

export function cpuFromV2(stat: Map<string, bigint>): CpuCounters | null {
  const usage = stat.get('usage_usec');
  if (usage === undefined) return null;
  const ns = (key: string) => {
    const v = stat.get(key);
    return v === undefined ? null : v * NS_PER_USEC;
  };
  return {
    usageNs: usage * NS_PER_USEC,
    userNs: ns('user_usec'),
    systemNs: ns('system_usec'),
    // Present only when the cpu controller is enabled for the cgroup.
    periods: stat.get('nr_periods') ?? null,
    throttledPeriods: stat.get('nr_throttled') ?? null,
    throttledNs: ns('throttled_usec'),
  };
}

export function memoryFromV2(
  usage: bigint,
  stat: Map<string, bigint>,
  limit: bigint | null,
  events: Map<string, bigint> | undefined,
  peak: bigint | null,
  swap: bigint | null,
): MemoryCounters {
  const inactiveFile = stat.get('inactive_file') ?? 0n;
  return {
    usage,
    workingSet: usage > inactiveFile ? usage - inactiveFile : 0n,
    rss: stat.get('anon') ?? 0n,
    cache: stat.get('file') ?? 0n,
    mappedFile: stat.get('file_mapped') ?? 0n,
    inactiveFile,
    pgfault: stat.get('pgfault') ?? 0n,
    pgmajfault: stat.get('pgmajfault') ?? 0n,
    limit,
    maxUsage: peak,
    // memory.events "max": times usage hit memory.max, v1's failcnt.
    failcnt: events?.get('max') ?? null,
    swap,
  };
}

function memory(dir: string): MemoryCounters | null {
  const usage = readValue(`${dir}/memory.current`);
  const stat = readKeyed(`${dir}/memory.stat`);
  if (usage === undefined || usage === null || !stat) return null;
  const [limit, events, peak, swap] = [
    readValue(`${dir}/memory.max`),
    readKeyed(`${dir}/memory.events`),
    readValue(`${dir}/memory.peak`),
    readValue(`${dir}/memory.swap.current`),
  ];
  return memoryFromV2(usage, stat, limit ?? null, events, peak ?? null, swap ?? null);
}

function pids(dir: string): PidsCounters | null {
  const current = readValue(`${dir}/pids.current`);
  if (current !== undefined && current !== null) return { current };
  const procs = readOptionalSync(`${dir}/cgroup.procs`);
  return procs === undefined ? null : { current: countLines(procs) };
}

export function readCgroupV2(dir: string): CgroupSample {
  const [stat, m, p] = [readKeyed(`${dir}/cpu.stat`), memory(dir), pids(dir)];
  return { cpu: stat ? cpuFromV2(stat) : null, memory: m, pids: p };
}
