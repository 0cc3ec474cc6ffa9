/**
 * ListMetricDescriptors / ListPodSandboxMetrics in cAdvisor's vocabulary, so the
 * kubelet's /metrics/cadvisor keeps its names and labels when it reads them from
 * the runtime (KEP-2371). The kubelet registers one Prometheus descriptor per
 * MetricDescriptor and rejects a Metric whose label_values do not match its
 * label_keys one for one, so every metric here goes through `metric()` with the
 * descriptor it belongs to.
 *
 * Labels are cAdvisor's for a Kubernetes container: `container` (CRI name), `id`
 * (cgroup path), `image`, `name` (Docker's container name), `namespace`, `pod`.
 * Network counters belong to the pod and are reported on its pause container as
 * `container="POD"`, as cAdvisor did for Docker. Values are unsigned integers on
 * this wire, so `_seconds_total` counters are whole seconds (containerd and CRI-O
 * truncate the same way).
 */
import type { ContainerStatsSample, PodStatsSample } from './service.js';
import type { InterfaceCounters } from './types.js';

export type MetricKind = 'counter' | 'gauge';

export interface MetricDescriptorDef {
  name: string;
  help: string;
  labelKeys: string[];
}

export interface MetricSample {
  name: string;
  kind: MetricKind;
  labelValues: string[];
  value: bigint;
  /** 0 when read for this call; otherwise when the (cached) value was measured. */
  timestampNs: bigint;
}

export interface PodMetrics {
  podSandboxId: string;
  metrics: MetricSample[];
  containers: Array<{ containerId: string; metrics: MetricSample[] }>;
}

export const BASE_LABEL_KEYS = ['container', 'id', 'image', 'name', 'namespace', 'pod'] as const;

interface Def extends MetricDescriptorDef {
  kind: MetricKind;
}

function def(name: string, kind: MetricKind, help: string, extra: string[] = []): Def {
  return { name, kind, help, labelKeys: [...BASE_LABEL_KEYS, ...extra] };
}

const D = {
  cpuUsage: def('container_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed in seconds.', ['cpu']),
  cpuUser: def('container_cpu_user_seconds_total', 'counter', 'Cumulative user cpu time consumed in seconds.'),
  cpuSystem: def('container_cpu_system_seconds_total', 'counter', 'Cumulative system cpu time consumed in seconds.'),
  cfsPeriods: def('container_cpu_cfs_periods_total', 'counter', 'Number of elapsed enforcement period intervals.'),
  cfsThrottledPeriods: def('container_cpu_cfs_throttled_periods_total', 'counter', 'Number of throttled period intervals.'),
  cfsThrottledSeconds: def('container_cpu_cfs_throttled_seconds_total', 'counter', 'Total time duration the container has been throttled.'),
  memUsage: def('container_memory_usage_bytes', 'gauge', 'Current memory usage in bytes, including all memory regardless of when it was accessed'),
  memWorkingSet: def('container_memory_working_set_bytes', 'gauge', 'Current working set in bytes.'),
  memRss: def('container_memory_rss', 'gauge', 'Size of RSS in bytes.'),
  memCache: def('container_memory_cache', 'gauge', 'Number of bytes of page cache memory.'),
  memMappedFile: def('container_memory_mapped_file', 'gauge', 'Size of memory mapped files in bytes.'),
  memSwap: def('container_memory_swap', 'gauge', 'Container swap usage in bytes.'),
  memMaxUsage: def('container_memory_max_usage_bytes', 'gauge', 'Maximum memory usage recorded in bytes'),
  memFailcnt: def('container_memory_failcnt', 'counter', 'Number of memory usage hits limits'),
  memFailures: def('container_memory_failures_total', 'counter', 'Cumulative count of memory allocation failures.', ['failure_type', 'scope']),
  specMemLimit: def('container_spec_memory_limit_bytes', 'gauge', 'Memory limit for the container.'),
  threads: def('container_threads', 'gauge', 'Number of threads running inside the container'),
  fsUsage: def('container_fs_usage_bytes', 'gauge', "Number of bytes that are consumed by the container's writable layer."),
  netRxBytes: def('container_network_receive_bytes_total', 'counter', 'Cumulative count of bytes received', ['interface']),
  netRxPackets: def('container_network_receive_packets_total', 'counter', 'Cumulative count of packets received', ['interface']),
  netRxDropped: def('container_network_receive_packets_dropped_total', 'counter', 'Cumulative count of packets dropped while receiving', ['interface']),
  netRxErrors: def('container_network_receive_errors_total', 'counter', 'Cumulative count of errors encountered while receiving', ['interface']),
  netTxBytes: def('container_network_transmit_bytes_total', 'counter', 'Cumulative count of bytes transmitted', ['interface']),
  netTxPackets: def('container_network_transmit_packets_total', 'counter', 'Cumulative count of packets transmitted', ['interface']),
  netTxDropped: def('container_network_transmit_packets_dropped_total', 'counter', 'Cumulative count of packets dropped while transmitting', ['interface']),
  netTxErrors: def('container_network_transmit_errors_total', 'counter', 'Cumulative count of errors encountered while transmitting', ['interface']),
} as const;

/** Fixed for the life of the process, as the kubelet reads them once. */
export const METRIC_DESCRIPTORS: readonly MetricDescriptorDef[] = Object.values(D).map(({ name, help, labelKeys }) => ({
  name,
  help,
  labelKeys: [...labelKeys],
}));

const NS_PER_S = 1_000_000_000n;

function metric(d: Def, base: string[], value: bigint, extra: string[] = [], timestampNs = 0n): MetricSample {
  const labelValues = [...base, ...extra];
  if (labelValues.length !== d.labelKeys.length) {
    throw new Error(`metric ${d.name}: ${labelValues.length} label values for ${d.labelKeys.length} keys`);
  }
  return { name: d.name, kind: d.kind, labelValues, value, timestampNs };
}

function containerMetrics(pod: PodStatsSample, c: ContainerStatsSample): MetricSample[] {
  const md = pod.view.record.spec.metadata;
  const base = [c.view.record.spec.name, c.cgroupPath, c.view.record.spec.image, c.target?.name ?? '', md.namespace, md.name];
  const out: MetricSample[] = [];
  const add = (d: Def, v: bigint | null | undefined, extra: string[] = []) => {
    if (v !== null && v !== undefined) out.push(metric(d, base, v, extra));
  };
  const seconds = (ns: bigint | null) => (ns === null ? null : ns / NS_PER_S);
  if (c.cpu) {
    add(D.cpuUsage, c.cpu.usageNs / NS_PER_S, ['total']);
    add(D.cpuUser, seconds(c.cpu.userNs));
    add(D.cpuSystem, seconds(c.cpu.systemNs));
    add(D.cfsPeriods, c.cpu.periods);
    add(D.cfsThrottledPeriods, c.cpu.throttledPeriods);
    add(D.cfsThrottledSeconds, seconds(c.cpu.throttledNs));
  }
  const m = c.memory;
  if (m) {
    add(D.memUsage, m.usage);
    add(D.memWorkingSet, m.workingSet);
    add(D.memRss, m.rss);
    add(D.memCache, m.cache);
    add(D.memMappedFile, m.mappedFile);
    add(D.memSwap, m.swap);
    add(D.memMaxUsage, m.maxUsage);
    add(D.memFailcnt, m.failcnt);
    // cAdvisor's failure types: page faults, minor and major, for the container and its hierarchy.
    for (const scope of ['container', 'hierarchy']) {
      add(D.memFailures, m.pgfault, ['pgfault', scope]);
      add(D.memFailures, m.pgmajfault, ['pgmajfault', scope]);
    }
    // cAdvisor reports 0 for "no limit".
    add(D.specMemLimit, m.limit ?? 0n);
  }
  if (c.process) add(D.threads, c.process.count);
  if (c.writableLayer) out.push(metric(D.fsUsage, base, c.writableLayer.usedBytes, [], c.writableLayer.timestampNs));
  return out;
}

function interfaceMetrics(base: string[], i: InterfaceCounters): MetricSample[] {
  const pairs: Array<[Def, bigint]> = [
    [D.netRxBytes, i.rxBytes],
    [D.netRxPackets, i.rxPackets],
    [D.netRxDropped, i.rxDropped],
    [D.netRxErrors, i.rxErrors],
    [D.netTxBytes, i.txBytes],
    [D.netTxPackets, i.txPackets],
    [D.netTxDropped, i.txDropped],
    [D.netTxErrors, i.txErrors],
  ];
  return pairs.map(([d, v]) => metric(d, base, v, [i.name]));
}

export function podMetrics(pod: PodStatsSample): PodMetrics {
  const md = pod.view.record.spec.metadata;
  const base = ['POD', pod.cgroupPath, pod.pause?.image ?? '', pod.pause?.name ?? '', md.namespace, md.name];
  const ifaces = pod.network ? [pod.network.defaultInterface, ...pod.network.interfaces].filter((i) => i !== null) : [];
  return {
    podSandboxId: pod.view.record.id,
    metrics: ifaces.flatMap((i) => interfaceMetrics(base, i)),
    containers: pod.containers.map((c) => ({ containerId: c.view.record.id, metrics: containerMetrics(pod, c) })),
  };
}
