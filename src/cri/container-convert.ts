/**
 * CRI container messages ↔ the runtime's terms: ContainerConfig → ContainerSpec,
 * ContainerFilter → ContainerFilter, ContainerView → Container / ContainerStatus.
 * As in pod-convert.ts, validation happens here and every error names its field.
 */
import type {
  ContainerSpec,
  ContainerStateName,
  Device,
  Mount,
  Resources,
  SeccompProfile,
  SecurityContext,
} from '../runtime/types.js';
import type { ContainerFilter, ContainerView } from '../runtime/views.js';
import { absolutePath, int64, invalid, labelSelector, namespaceMode, optionalInt64 } from './pod-convert.js';
import type {
  Container,
  ContainerConfig__Output,
  ContainerFilter__Output,
  ContainerState__Output,
  ContainerStatus,
  Device__Output,
  KeyValue__Output,
  LinuxContainerResources,
  LinuxContainerResources__Output,
  LinuxContainerSecurityContext__Output,
  Mount as CriMount,
  MountPropagation__Output,
  Mount__Output,
  SecurityProfile__Output,
} from './proto.js';
import { checkContainerConfig } from './validate-container.js';
import { memoItem } from './list-item-encoding.js';

// ── ContainerConfig → ContainerSpec ───────────────────────────────────────────────

const PROPAGATION: Record<string, Mount['propagation']> = {
  PROPAGATION_PRIVATE: 'private',
  PROPAGATION_HOST_TO_CONTAINER: 'rslave',
  PROPAGATION_BIDIRECTIONAL: 'rshared',
};
const CRI_PROPAGATION: Record<Mount['propagation'], MountPropagation__Output> = {
  private: 'PROPAGATION_PRIVATE',
  rslave: 'PROPAGATION_HOST_TO_CONTAINER',
  rshared: 'PROPAGATION_BIDIRECTIONAL',
};

function mount(m: Mount__Output, field: string): Mount {
  // Image volumes and recursive read-only mounts are features we do not announce
  // (Status.runtime_handlers): refuse them rather than silently mount something else.
  if (m.image?.image) throw invalid(`${field}.image`, 'is not supported (image volumes)');
  if (m.recursive_read_only) throw invalid(`${field}.recursive_read_only`, 'is not supported');
  const propagation = PROPAGATION[String(m.propagation)];
  if (!propagation) throw invalid(`${field}.propagation`, `is not a mount propagation: ${m.propagation}`);
  return {
    containerPath: absolutePath(m.container_path, `${field}.container_path`),
    // A relative source would make Docker create a named volume instead of a bind.
    hostPath: absolutePath(m.host_path, `${field}.host_path`),
    readonly: m.readonly,
    propagation,
    selinuxRelabel: m.selinux_relabel,
  };
}

function device(d: Device__Output, field: string): Device {
  if (!/^[rwm]*$/.test(d.permissions)) throw invalid(`${field}.permissions`, `must be made of r, w and m, got "${d.permissions}"`);
  return {
    containerPath: absolutePath(d.container_path, `${field}.container_path`),
    hostPath: absolutePath(d.host_path, `${field}.host_path`),
    permissions: d.permissions,
  };
}

/** KeyValue.value is `bytes` in our schema: grpc-js hands us a Buffer. */
function env(kv: KeyValue__Output, field: string): { key: string; value: string } {
  if (!kv.key) throw invalid(`${field}.key`, 'is required');
  if (kv.key.includes('=')) throw invalid(`${field}.key`, `must not contain "=": "${kv.key}"`);
  const raw = kv.value as Buffer | Uint8Array | string | null | undefined;
  const value = raw == null ? '' : typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
  return { key: kv.key, value };
}

function resources(r: LinuxContainerResources__Output | null, field: string): Resources | null {
  if (!r) return null;
  const num = (name: keyof LinuxContainerResources__Output & string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const n = int64(r[name] as string, `${field}.${name}`);
    if (n < min || n > max) throw invalid(`${field}.${name}`, `must be between ${min} and ${max}, got ${n}`);
    return n;
  };
  return {
    cpuPeriod: num('cpu_period', 0),
    // -1 is the kernel's "no limit".
    cpuQuota: num('cpu_quota', -1),
    cpuShares: num('cpu_shares', 0),
    memoryLimitBytes: num('memory_limit_in_bytes', 0),
    cpusetCpus: r.cpuset_cpus,
    cpusetMems: r.cpuset_mems,
    oomScoreAdj: num('oom_score_adj', -1000, 1000),
  };
}

/**
 * `seccomp` wins; the deprecated `seccomp_profile_path` string applies only when it is
 * unset, and neither means "not specified" (null), exactly as containerd reads them.
 */
function seccomp(profile: SecurityProfile__Output | null, path: string, field: string): SeccompProfile | null {
  if (profile) {
    const type = String(profile.profile_type);
    if (type !== 'Localhost' && profile.localhost_ref) {
      throw invalid(`${field}.seccomp.localhost_ref`, `is only allowed with profile_type Localhost, not ${type}`);
    }
    switch (type) {
      case 'RuntimeDefault':
        return { kind: 'runtime-default' };
      case 'Unconfined':
        return { kind: 'unconfined' };
      case 'Localhost': {
        // The kubelet gives an absolute path; older ones prefixed it with "localhost/".
        const ref = profile.localhost_ref.replace(/^localhost\//, '');
        return { kind: 'localhost', path: absolutePath(ref, `${field}.seccomp.localhost_ref`) };
      }
      default:
        throw invalid(`${field}.seccomp.profile_type`, `is not a profile type: ${profile.profile_type}`);
    }
  }
  switch (path) {
    case '':
      return null;
    case 'unconfined':
      return { kind: 'unconfined' };
    case 'runtime/default':
    case 'docker/default':
      return { kind: 'runtime-default' };
    default:
      if (!path.startsWith('localhost/')) {
        throw invalid(`${field}.seccomp_profile_path`, `must be unconfined, runtime/default, docker/default or localhost/<path>, got "${path}"`);
      }
      return { kind: 'localhost', path: absolutePath(path.slice('localhost/'.length), `${field}.seccomp_profile_path`) };
  }
}

function nonNegative(value: number | null, field: string): number | null {
  if (value !== null && value < 0) throw invalid(field, `must not be negative, got ${value}`);
  return value;
}

function security(sc: LinuxContainerSecurityContext__Output | null, field: string): SecurityContext {
  const ns = sc?.namespace_options ?? null;
  const nsField = `${field}.namespace_options`;
  const namespaces = {
    pid: namespaceMode(ns?.pid, `${nsField}.pid`),
    ipc: namespaceMode(ns?.ipc, `${nsField}.ipc`),
    network: namespaceMode(ns?.network, `${nsField}.network`),
    targetId: ns?.target_id ?? '',
  };
  // Only the PID namespace can be another container's (ephemeral debug containers).
  if (namespaces.network === 'target') throw invalid(`${nsField}.network`, 'cannot be TARGET');
  if (namespaces.ipc === 'target') throw invalid(`${nsField}.ipc`, 'cannot be TARGET');
  if (namespaces.pid === 'target' && !namespaces.targetId) throw invalid(`${nsField}.target_id`, 'is required when pid is TARGET');
  if (!sc) {
    return {
      runAsUser: null, runAsGroup: null, runAsUsername: '', supplementalGroups: [], readonlyRootfs: false,
      privileged: false, capAdd: [], capDrop: [], noNewPrivs: false, maskedPaths: [], readonlyPaths: [],
      seccomp: null, namespaces,
    };
  }
  const runAsUser = nonNegative(optionalInt64(sc.run_as_user, `${field}.run_as_user`), `${field}.run_as_user.value`);
  const runAsGroup = nonNegative(optionalInt64(sc.run_as_group, `${field}.run_as_group`), `${field}.run_as_group.value`);
  if (runAsGroup !== null && runAsUser === null && !sc.run_as_username) {
    throw invalid(`${field}.run_as_group`, 'needs run_as_user or run_as_username');
  }
  // Docker's GroupAdd adds to the groups of /etc/group: that is Merge, and Strict cannot be honoured.
  if (String(sc.supplemental_groups_policy) === 'Strict') {
    throw invalid(`${field}.supplemental_groups_policy`, 'Strict is not supported');
  }
  return {
    runAsUser,
    runAsGroup,
    runAsUsername: sc.run_as_username,
    supplementalGroups: sc.supplemental_groups.map((g, i) => {
      const n = int64(g, `${field}.supplemental_groups[${i}]`);
      if (n < 0) throw invalid(`${field}.supplemental_groups[${i}]`, `must not be negative, got ${n}`);
      return n;
    }),
    readonlyRootfs: sc.readonly_rootfs,
    privileged: sc.privileged,
    capAdd: [...(sc.capabilities?.add_capabilities ?? [])],
    capDrop: [...(sc.capabilities?.drop_capabilities ?? [])],
    noNewPrivs: sc.no_new_privs,
    maskedPaths: [...sc.masked_paths],
    readonlyPaths: [...sc.readonly_paths],
    seccomp: seccomp(sc.seccomp, sc.seccomp_profile_path, field),
    namespaces,
  };
}

export function containerSpecFromCri(config: ContainerConfig__Output | null): ContainerSpec {
  if (!config) throw invalid('config', 'is required');
  const md = config.metadata;
  if (!md) throw invalid('config.metadata', 'is required');
  if (!md.name) throw invalid('config.metadata.name', 'is required');
  const image = config.image?.image;
  if (!image) throw invalid('config.image.image', 'is required');
  checkContainerConfig(config);
  const linux = config.linux;
  return {
    name: md.name,
    attempt: md.attempt,
    image,
    command: [...config.command],
    args: [...config.args],
    workingDir: config.working_dir,
    envs: config.envs.map((kv, i) => env(kv, `config.envs[${i}]`)),
    labels: { ...config.labels },
    annotations: { ...config.annotations },
    mounts: config.mounts.map((m, i) => mount(m, `config.mounts[${i}]`)),
    devices: config.devices.map((d, i) => device(d, `config.devices[${i}]`)),
    // Relative to the sandbox's log_directory; joined when reported (containerStatusToCri).
    logPath: config.log_path,
    stdin: config.stdin,
    stdinOnce: config.stdin_once,
    tty: config.tty,
    resources: resources(linux?.resources ?? null, 'config.linux.resources'),
    security: security(linux?.security_context ?? null, 'config.linux.security_context'),
  };
}

// ── filters ──────────────────────────────────────────────────────────────────────

const STATES: Record<string, ContainerStateName> = {
  CONTAINER_CREATED: 'created',
  CONTAINER_RUNNING: 'running',
  CONTAINER_EXITED: 'exited',
  CONTAINER_UNKNOWN: 'unknown',
};
const CRI_STATES: Record<ContainerStateName, ContainerState__Output> = {
  created: 'CONTAINER_CREATED',
  running: 'CONTAINER_RUNNING',
  exited: 'CONTAINER_EXITED',
  unknown: 'CONTAINER_UNKNOWN',
};

export function containerStateToCri(state: ContainerStateName): ContainerState__Output {
  return CRI_STATES[state];
}

export function containerFilterFromCri(filter: ContainerFilter__Output | null): ContainerFilter {
  if (!filter) return {};
  const out: ContainerFilter = {};
  if (filter.id) out.id = filter.id;
  if (filter.state) {
    const state = STATES[String(filter.state.state)];
    if (!state) throw invalid('filter.state.state', `is not a container state: ${filter.state.state}`);
    out.state = state;
  }
  if (filter.pod_sandbox_id) out.sandboxId = filter.pod_sandbox_id;
  const selector = labelSelector(filter.label_selector);
  if (selector) out.labelSelector = selector;
  return out;
}

// ── ContainerView → Container / ContainerStatus ───────────────────────────────────

/** List items by record, reused while what they read is unchanged (list-item-encoding.ts). */
const listItems = new WeakMap<ContainerView['record'], { stamp: readonly unknown[]; item: Container }>();

/** Frozen and shared between calls: a relist re-encodes only the containers that changed. */
export function containerToCri(view: ContainerView): Container {
  const { record } = view;
  // Everything the item reads: the spec object is never changed in place, the record is.
  const stamp = [view.live.state, record.spec, record.imageRef, record.createdAt, record.sandboxId, record.id];
  return memoItem(listItems, record, stamp, () => ({
    id: record.id,
    pod_sandbox_id: record.sandboxId,
    metadata: { name: record.spec.name, attempt: record.spec.attempt },
    image: { image: view.record.spec.image },
    // The image id (sha256:…): the kubelet matches it against PullImage.image_ref and Image.id.
    image_ref: record.imageRef,
    state: containerStateToCri(view.live.state),
    created_at: record.createdAt,
    labels: { ...record.spec.labels },
    annotations: { ...record.spec.annotations },
    image_id: record.imageRef,
  }));
}

function mountToCri(m: Mount): CriMount {
  return {
    container_path: m.containerPath,
    host_path: m.hostPath,
    readonly: m.readonly,
    selinux_relabel: m.selinuxRelabel,
    propagation: CRI_PROPAGATION[m.propagation],
  };
}

function resourcesToCri(r: Resources): LinuxContainerResources {
  return {
    cpu_period: String(r.cpuPeriod),
    cpu_quota: String(r.cpuQuota),
    cpu_shares: String(r.cpuShares),
    memory_limit_in_bytes: String(r.memoryLimitBytes),
    oom_score_adj: String(r.oomScoreAdj),
    cpuset_cpus: r.cpusetCpus,
    cpuset_mems: r.cpusetMems,
  };
}

export function containerStatusToCri(view: ContainerView): ContainerStatus {
  const { record, live } = view;
  const state = live.state;
  // As containerd: no start time before the container ran, no finish time before it ended.
  const started = state === 'running' || state === 'exited' || state === 'unknown';
  const finished = state === 'exited' || state === 'unknown';
  return {
    id: record.id,
    metadata: { name: record.spec.name, attempt: record.spec.attempt },
    state: containerStateToCri(state),
    created_at: record.createdAt,
    started_at: started ? live.startedAt : '0',
    finished_at: finished ? live.finishedAt : '0',
    exit_code: live.exitCode,
    image: { image: view.record.spec.image },
    image_ref: record.imageRef,
    reason: live.reason,
    message: live.message,
    labels: { ...record.spec.labels },
    annotations: { ...record.spec.annotations },
    mounts: record.spec.mounts.map(mountToCri),
    log_path: record.logPath,
    resources: record.spec.resources ? { linux: resourcesToCri(record.spec.resources) } : null,
    image_id: record.imageRef,
  };
}

/** The verbose `info` map of ContainerStatus: one JSON document, containerd's key names where it has them. */
export function containerInfo(view: ContainerView): Record<string, string> {
  const { record, live } = view;
  return {
    info: JSON.stringify({
      sandboxID: record.sandboxId,
      pid: live.pid,
      imageRef: record.imageRef,
      logPath: record.logPath,
      config: record.spec,
    }),
  };
}
