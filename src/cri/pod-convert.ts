/**
 * CRI pod sandbox messages ↔ the runtime's terms: PodSandboxConfig → SandboxSpec,
 * PodSandboxFilter → SandboxFilter, SandboxView → PodSandbox / PodSandboxStatus.
 * Input is validated here, so src/runtime only ever sees well-formed specs; every
 * error names the request field the way the proto spells it (`config.port_mappings[1].protocol`).
 * The small field helpers are shared with container-convert.ts.
 */
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { podHostname } from './hostname.js';
import { parseQuantity } from '../runtime/pod-network.js';
import type { DnsConfig, NamespaceMode, PortMapping, SandboxSpec, SandboxState } from '../runtime/types.js';
import type { SandboxFilter, SandboxView } from '../runtime/views.js';
import type {
  DNSConfig__Output,
  Int64Value__Output,
  NamespaceMode__Output as CriNamespaceMode,
  PodSandbox,
  PodSandboxConfig__Output,
  PodSandboxFilter__Output,
  PodSandboxState__Output,
  PodSandboxStatus,
  PortMapping__Output,
} from './proto.js';
import { checkPodConfig } from './validate-pod.js';
import { memoItem } from './list-item-encoding.js';

// ── shared field helpers ────────────────────────────────────────────────────────

export function invalid(field: string, problem: string): InvalidArgumentError {
  return new InvalidArgumentError(`${field} ${problem}`);
}

/** An id the RPC cannot do without. An empty one would prefix-match every object we have. */
export function requireId(id: string | undefined, field: string): string {
  if (!id) throw invalid(field, 'is required');
  return id;
}

/** int64 arrives as a decimal string; everything we carry fits a double exactly. */
export function int64(value: string | number, field: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw invalid(field, `is out of range: ${value}`);
  return n;
}

/**
 * CRI Int64Value wrappers: `null` means unset, `{value: '0'}` is an explicit 0
 * (crictl sends `run_as_user: {}` for uid 0).
 */
export function optionalInt64(wrapper: Int64Value__Output | null, field: string): number | null {
  return wrapper ? int64(wrapper.value, `${field}.value`) : null;
}

export function absolutePath(path: string, field: string): string {
  if (!path) throw invalid(field, 'is required');
  if (!isAbsolute(path)) throw invalid(field, `must be absolute, got "${path}"`);
  return path;
}

const NAMESPACE_MODES: Record<string, NamespaceMode> = { POD: 'pod', CONTAINER: 'container', NODE: 'node', TARGET: 'target' };
const CRI_NAMESPACE_MODES: Record<NamespaceMode, CriNamespaceMode> = {
  pod: 'POD',
  container: 'CONTAINER',
  node: 'NODE',
  target: 'TARGET',
};

/** A CRI NamespaceMode name; an unset NamespaceOption means every mode is POD (= 0). */
export function namespaceMode(value: string | number | undefined, field: string): NamespaceMode {
  const mode = NAMESPACE_MODES[String(value ?? 'POD')];
  if (!mode) throw invalid(field, `is not a namespace mode: ${value}`);
  return mode;
}

export function namespaceModeToCri(mode: NamespaceMode): CriNamespaceMode {
  return CRI_NAMESPACE_MODES[mode];
}

/** A CRI label selector: empty means "no constraint". */
export function labelSelector(selector: Record<string, string> | undefined): Record<string, string> | undefined {
  return selector && Object.keys(selector).length ? { ...selector } : undefined;
}

// ── PodSandboxConfig → SandboxSpec ──────────────────────────────────────────────

const PROTOCOLS: Record<string, PortMapping['protocol']> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

function portMapping(p: PortMapping__Output, field: string): PortMapping {
  const protocol = PROTOCOLS[String(p.protocol)];
  if (!protocol) throw invalid(`${field}.protocol`, `is not a known protocol: ${p.protocol}`);
  if (!Number.isInteger(p.container_port) || p.container_port < 1 || p.container_port > 65535) {
    throw invalid(`${field}.container_port`, `must be between 1 and 65535, got ${p.container_port}`);
  }
  // 0 = no host port: the mapping is informational and CNI's portmap skips it.
  if (!Number.isInteger(p.host_port) || p.host_port < 0 || p.host_port > 65535) {
    throw invalid(`${field}.host_port`, `must be between 0 and 65535, got ${p.host_port}`);
  }
  if (p.host_ip && !isIP(p.host_ip)) throw invalid(`${field}.host_ip`, `is not an IP address: "${p.host_ip}"`);
  return { protocol, containerPort: p.container_port, hostPort: p.host_port, hostIp: p.host_ip };
}

/** An absent or all-empty dns_config means "the host's resolv.conf", as in containerd. */
function dnsConfig(dns: DNSConfig__Output | null, field: string): DnsConfig | null {
  if (!dns || (!dns.servers.length && !dns.searches.length && !dns.options.length)) return null;
  dns.servers.forEach((s, i) => {
    if (!isIP(s)) throw invalid(`${field}.servers[${i}]`, `is not an IP address: "${s}"`);
  });
  return { servers: [...dns.servers], searches: [...dns.searches], options: [...dns.options] };
}

const BANDWIDTH_ANNOTATIONS = ['kubernetes.io/ingress-bandwidth', 'kubernetes.io/egress-bandwidth'];
/** The bounds the kubelet's own bandwidth check (ExtractPodBandwidthResources) enforces. */
const MIN_BANDWIDTH = 1e3;
const MAX_BANDWIDTH = 1e15;

/** Bandwidth annotations are checked here so a typo fails the RPC as INVALID_ARGUMENT, before any CNI work. */
function checkBandwidth(annotations: Record<string, string>, field: string): void {
  for (const key of BANDWIDTH_ANNOTATIONS) {
    const raw = annotations[key];
    if (raw === undefined) continue;
    const where = `${field}["${key}"]`;
    const bits = parseQuantity(raw);
    if (bits === null) throw invalid(where, `is not a bandwidth quantity (such as 10M or 1Gi): "${raw}"`);
    if (bits < MIN_BANDWIDTH || bits > MAX_BANDWIDTH) throw invalid(where, `must be between 1k and 1P bits per second, got "${raw}"`);
  }
}

function sandboxNamespace(value: string | number | undefined, field: string): NamespaceMode {
  const mode = namespaceMode(value, field);
  if (mode === 'target') throw invalid(field, 'cannot be TARGET for a pod sandbox (only a container may target another container)');
  return mode;
}

export function sandboxSpecFromCri(config: PodSandboxConfig__Output | null, runtimeHandler: string): SandboxSpec {
  if (!config) throw invalid('config', 'is required');
  const md = config.metadata;
  if (!md) throw invalid('config.metadata', 'is required');
  if (!md.name) throw invalid('config.metadata.name', 'is required');
  checkPodConfig(config);
  if (config.log_directory && !isAbsolute(config.log_directory)) {
    throw invalid('config.log_directory', `must be absolute, got "${config.log_directory}"`);
  }
  const linux = config.linux;
  const sc = linux?.security_context ?? null;
  const nsField = 'config.linux.security_context.namespace_options';
  const ns = sc?.namespace_options ?? null;
  const annotations = { ...config.annotations };
  checkBandwidth(annotations, 'config.annotations');
  return {
    metadata: { name: md.name, uid: md.uid, namespace: md.namespace, attempt: md.attempt },
    hostname: podHostname(config.hostname, 'config.hostname'),
    logDirectory: config.log_directory,
    dns: dnsConfig(config.dns_config, 'config.dns_config'),
    // All of them: which ones open a host port is the network layer's business.
    portMappings: config.port_mappings.map((p, i) => portMapping(p, `config.port_mappings[${i}]`)),
    labels: { ...config.labels },
    annotations,
    cgroupParent: linux?.cgroup_parent ?? '',
    sysctls: { ...(linux?.sysctls ?? {}) },
    namespaces: {
      network: sandboxNamespace(ns?.network, `${nsField}.network`),
      pid: sandboxNamespace(ns?.pid, `${nsField}.pid`),
      ipc: sandboxNamespace(ns?.ipc, `${nsField}.ipc`),
    },
    runtimeHandler,
    privileged: sc?.privileged ?? false,
  };
}

// ── filters ──────────────────────────────────────────────────────────────────────

const SANDBOX_STATES: Record<string, SandboxState> = { SANDBOX_READY: 'ready', SANDBOX_NOTREADY: 'notready' };

export function sandboxFilterFromCri(filter: PodSandboxFilter__Output | null): SandboxFilter {
  if (!filter) return {};
  const out: SandboxFilter = {};
  if (filter.id) out.id = filter.id;
  if (filter.state) {
    const state = SANDBOX_STATES[String(filter.state.state)];
    if (!state) throw invalid('filter.state.state', `is not a sandbox state: ${filter.state.state}`);
    out.state = state;
  }
  const selector = labelSelector(filter.label_selector);
  if (selector) out.labelSelector = selector;
  return out;
}

// ── SandboxView → PodSandbox / PodSandboxStatus ───────────────────────────────────

export function sandboxStateToCri(state: SandboxState): PodSandboxState__Output {
  return state === 'ready' ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY';
}

function podMetadata(view: SandboxView) {
  const md = view.record.spec.metadata;
  return { name: md.name, uid: md.uid, namespace: md.namespace, attempt: md.attempt };
}

/** List items by record, reused while what they read is unchanged (list-item-encoding.ts). */
const listItems = new WeakMap<SandboxView['record'], { stamp: readonly unknown[]; item: PodSandbox }>();

/** Frozen and shared between calls: a relist re-encodes only the pods that changed. */
export function podSandboxToCri(view: SandboxView): PodSandbox {
  const { record } = view;
  // Everything the item reads: the spec object is never changed in place, the record is.
  const stamp = [view.state, record.spec, record.createdAt, record.id];
  return memoItem(listItems, record, stamp, () => ({
    id: record.id,
    metadata: podMetadata(view),
    state: sandboxStateToCri(view.state),
    created_at: record.createdAt,
    labels: { ...record.spec.labels },
    annotations: { ...record.spec.annotations },
    runtime_handler: record.spec.runtimeHandler,
  }));
}

/**
 * IPs are reported while the pod's network is attached. Host-network pods have none of
 * their own, and after StopPodSandbox's CNI DEL the address may already belong to
 * another pod (containerd likewise reports "" once the netns is closed).
 */
function reportedIps(view: SandboxView): string[] {
  return view.record.network?.attached ? view.record.ips : [];
}

export function podSandboxStatusToCri(view: SandboxView): PodSandboxStatus {
  const { record } = view;
  const ns = record.spec.namespaces;
  const [ip = '', ...additional] = reportedIps(view);
  return {
    id: record.id,
    metadata: podMetadata(view),
    state: sandboxStateToCri(view.state),
    created_at: record.createdAt,
    // Always present, "" for host-network pods, as containerd does: the kubelet logs
    // a complaint for every status without it.
    network: { ip, additional_ips: additional.map((a) => ({ ip: a })) },
    linux: {
      namespaces: {
        options: {
          network: namespaceModeToCri(ns.network),
          pid: namespaceModeToCri(ns.pid),
          ipc: namespaceModeToCri(ns.ipc),
        },
      },
    },
    labels: { ...record.spec.labels },
    annotations: { ...record.spec.annotations },
    runtime_handler: record.spec.runtimeHandler,
  };
}

/**
 * The verbose `info` map of PodSandboxStatus. crictl parses each value as JSON, so
 * everything goes into one JSON document under "info", with containerd's key names
 * where it has one (pid, processStatus, netNamespaceClosed, runtimeHandler, cniResult, config).
 */
export function podSandboxInfo(view: SandboxView): Record<string, string> {
  const { record } = view;
  return {
    info: JSON.stringify({
      pid: view.pausePid,
      processStatus: view.pausePid > 0 ? 'running' : 'stopped',
      pauseContainerId: record.pauseContainerId,
      netNamespace: record.netnsPath,
      netNamespaceClosed: record.network ? !record.network.attached : false,
      ips: record.ips,
      runtimeHandler: record.spec.runtimeHandler,
      cniResult: record.network?.result ?? null,
      config: record.spec,
      // As containerd's info: what UpdatePodSandboxResources last reported.
      overhead: record.podResources?.overhead ?? null,
      resources: record.podResources?.resources ?? null,
    }),
  };
}
