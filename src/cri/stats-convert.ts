/**
 * Stats samples (src/runtime/stats) → CRI messages: ContainerStats, PodSandboxStats,
 * MetricDescriptor, PodSandboxMetrics; and the two stats filters → runtime filters.
 * UInt64Value and int64 timestamps travel as decimal strings; an absent measurement
 * is an absent message (null), never a 0 the kubelet would believe.
 */
import type { ContainerStatsSample, PodStatsSample } from '../runtime/stats/service.js';
import type { MetricDescriptorDef, MetricSample, PodMetrics } from '../runtime/stats/metrics.js';
import type { CpuStats, FsStats, InterfaceCounters, MemoryStats, NetworkStats, ProcessStats } from '../runtime/stats/types.js';
import type { ContainerFilter, SandboxFilter } from '../runtime/views.js';
import { labelSelector } from './pod-convert.js';
import type {
  ContainerStats,
  ContainerStatsFilter__Output,
  CpuUsage,
  FilesystemUsage,
  MemoryUsage,
  Metric,
  MetricDescriptor,
  NetworkInterfaceUsage,
  NetworkUsage,
  PodSandboxMetrics,
  PodSandboxStats,
  PodSandboxStatsFilter__Output,
  ProcessUsage,
  UInt64Value,
} from './proto.js';

function u64(v: bigint | null | undefined): UInt64Value | null {
  return v === null || v === undefined ? null : { value: v.toString() };
}

// ── filters ──────────────────────────────────────────────────────────────────────

export function containerStatsFilterFromCri(filter: ContainerStatsFilter__Output | null): ContainerFilter {
  if (!filter) return {};
  const out: ContainerFilter = {};
  if (filter.id) out.id = filter.id;
  if (filter.pod_sandbox_id) out.sandboxId = filter.pod_sandbox_id;
  const selector = labelSelector(filter.label_selector);
  if (selector) out.labelSelector = selector;
  return out;
}

export function podSandboxStatsFilterFromCri(filter: PodSandboxStatsFilter__Output | null): SandboxFilter {
  if (!filter) return {};
  const out: SandboxFilter = {};
  if (filter.id) out.id = filter.id;
  const selector = labelSelector(filter.label_selector);
  if (selector) out.labelSelector = selector;
  return out;
}

// ── samples → CRI ────────────────────────────────────────────────────────────────

export function cpuToCri(cpu: CpuStats | null): CpuUsage | null {
  if (!cpu) return null;
  return {
    timestamp: cpu.timestampNs.toString(),
    usage_core_nano_seconds: u64(cpu.usageNs),
    usage_nano_cores: u64(cpu.nanoCores),
  };
}

export function memoryToCri(m: MemoryStats | null): MemoryUsage | null {
  if (!m) return null;
  return {
    timestamp: m.timestampNs.toString(),
    working_set_bytes: u64(m.workingSet),
    available_bytes: u64(m.available),
    usage_bytes: u64(m.usage),
    rss_bytes: u64(m.rss),
    page_faults: u64(m.pgfault),
    major_page_faults: u64(m.pgmajfault),
  };
}

function processToCri(p: ProcessStats | null): ProcessUsage | null {
  return p ? { timestamp: p.timestampNs.toString(), process_count: u64(p.count) } : null;
}

function fsToCri(fs: FsStats | null): FilesystemUsage | null {
  if (!fs) return null;
  return {
    timestamp: fs.timestampNs.toString(),
    fs_id: { mountpoint: fs.mountpoint },
    used_bytes: u64(fs.usedBytes),
    inodes_used: u64(fs.inodesUsed),
  };
}

function interfaceToCri(i: InterfaceCounters): NetworkInterfaceUsage {
  return { name: i.name, rx_bytes: u64(i.rxBytes), rx_errors: u64(i.rxErrors), tx_bytes: u64(i.txBytes), tx_errors: u64(i.txErrors) };
}

export function networkToCri(n: NetworkStats | null): NetworkUsage | null {
  if (!n) return null;
  return {
    timestamp: n.timestampNs.toString(),
    default_interface: n.defaultInterface ? interfaceToCri(n.defaultInterface) : null,
    interfaces: n.interfaces.map(interfaceToCri),
  };
}

export function containerStatsToCri(s: ContainerStatsSample): ContainerStats {
  const { record } = s.view;
  return {
    attributes: {
      id: record.id,
      metadata: { name: record.spec.name, attempt: record.spec.attempt },
      labels: { ...record.spec.labels },
      annotations: { ...record.spec.annotations },
    },
    cpu: cpuToCri(s.cpu),
    memory: memoryToCri(s.memory),
    writable_layer: fsToCri(s.writableLayer),
  };
}

export function podSandboxStatsToCri(s: PodStatsSample): PodSandboxStats {
  const { record } = s.view;
  const md = record.spec.metadata;
  return {
    attributes: {
      id: record.id,
      metadata: { name: md.name, uid: md.uid, namespace: md.namespace, attempt: md.attempt },
      labels: { ...record.spec.labels },
      annotations: { ...record.spec.annotations },
    },
    linux: {
      cpu: cpuToCri(s.cpu),
      memory: memoryToCri(s.memory),
      network: networkToCri(s.network),
      process: processToCri(s.process),
      containers: s.containers.map(containerStatsToCri),
    },
  };
}

// ── metrics ──────────────────────────────────────────────────────────────────────

export function metricDescriptorToCri(d: MetricDescriptorDef): MetricDescriptor {
  return { name: d.name, help: d.help, label_keys: [...d.labelKeys] };
}

function metricToCri(m: MetricSample): Metric {
  return {
    name: m.name,
    timestamp: m.timestampNs.toString(),
    metric_type: m.kind === 'counter' ? 'COUNTER' : 'GAUGE',
    label_values: m.labelValues,
    value: { value: m.value.toString() },
  };
}

export function podSandboxMetricsToCri(p: PodMetrics): PodSandboxMetrics {
  return {
    pod_sandbox_id: p.podSandboxId,
    metrics: p.metrics.map(metricToCri),
    container_metrics: p.containers.map((c) => ({ container_id: c.containerId, metrics: c.metrics.map(metricToCri) })),
  };
}
