/**
 * Resource samples in the stats layer's own terms. Counters are bigint: cumulative
 * CPU nanoseconds and Unix-nanosecond timestamps pass 2^53, and cgroup v1 writes an
 * "unlimited" memory limit as 2^63 rounded down to a page. src/cri/stats-convert.ts
 * turns these into CRI messages (UInt64Value as decimal strings).
 */

/** What one cgroup's files say, before any rate is computed. A section is null when its controller is absent. */
export interface CgroupSample {
  cpu: CpuCounters | null;
  memory: MemoryCounters | null;
  pids: PidsCounters | null;
}

export interface CpuCounters {
  /** Cumulative CPU time of every task in the cgroup, ns. */
  usageNs: bigint;
  userNs: bigint | null;
  systemNs: bigint | null;
  /** CFS bandwidth control (cpu.cfs_quota_us / cpu.max); 0 when no quota is set. */
  periods: bigint | null;
  throttledPeriods: bigint | null;
  throttledNs: bigint | null;
}

export interface MemoryCounters {
  usage: bigint;
  /** usage − inactive file cache, floored at 0: what the kubelet evicts on (cAdvisor's definition). */
  workingSet: bigint;
  rss: bigint;
  cache: bigint;
  mappedFile: bigint;
  inactiveFile: bigint;
  pgfault: bigint;
  pgmajfault: bigint;
  /** null when the cgroup has no limit. */
  limit: bigint | null;
  maxUsage: bigint | null;
  failcnt: bigint | null;
  swap: bigint | null;
}

export interface PidsCounters {
  /** Tasks (threads included) in the cgroup and its descendants. */
  current: bigint;
}

export interface CpuStats extends CpuCounters {
  timestampNs: bigint;
  /** Average over the window since the previous sample; null until there are two. */
  nanoCores: bigint | null;
}

export interface MemoryStats extends MemoryCounters {
  timestampNs: bigint;
  /** limit − working set; null when there is no limit. */
  available: bigint | null;
}

export interface ProcessStats {
  timestampNs: bigint;
  count: bigint;
}

export interface FsStats {
  timestampNs: bigint;
  /** The filesystem the layer lives on, as ImageFsInfo names it (Docker's data root). */
  mountpoint: string;
  usedBytes: bigint;
  inodesUsed: bigint;
}

export interface InterfaceCounters {
  name: string;
  rxBytes: bigint;
  rxPackets: bigint;
  rxErrors: bigint;
  rxDropped: bigint;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  txDropped: bigint;
}

export interface NetworkStats {
  timestampNs: bigint;
  /** The CNI interface (eth0); null if the namespace has no such interface. */
  defaultInterface: InterfaceCounters | null;
  /** Every other interface but loopback. */
  interfaces: InterfaceCounters[];
}
