/**
 * What the runtime layer needs to know about pods and containers, in its own terms.
 * src/cri converts CRI messages to and from these; nothing here knows gRPC.
 */
import type { ResourcesUpdate } from './update-resources.js';

/** Whose namespace a pod or container uses (CRI NamespaceMode). */
export type NamespaceMode = 'pod' | 'container' | 'node' | 'target';

export interface PodMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}

export interface PortMapping {
  protocol: 'tcp' | 'udp' | 'sctp';
  containerPort: number;
  hostPort: number;
  hostIp: string;
}

export interface DnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface SandboxSpec {
  metadata: PodMetadata;
  hostname: string;
  logDirectory: string;
  dns: DnsConfig | null;
  portMappings: PortMapping[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  cgroupParent: string;
  sysctls: Record<string, string>;
  namespaces: { network: NamespaceMode; pid: NamespaceMode; ipc: NamespaceMode };
  runtimeHandler: string;
  privileged: boolean;
}

export type SandboxState = 'ready' | 'notready';

/**
 * Pod-level resources the kubelet last reported through UpdatePodSandboxResources,
 * after it had set the pod's cgroup itself. Fields at 0 / "" were not given.
 */
export interface PodResources {
  overhead: ResourcesUpdate | null;
  resources: ResourcesUpdate | null;
  /** Unix time in nanoseconds of the update, as a decimal string. */
  updatedAt: string;
}

/** One sandbox as the shim remembers it (state dir, one JSON file each). */
export interface SandboxRecord {
  id: string;
  pauseContainerId: string;
  spec: SandboxSpec;
  /** Unix time in nanoseconds, as a decimal string (exceeds 2^53). */
  createdAt: string;
  state: SandboxState;
  netnsPath: string;
  /** Pod IPs from the CNI result, first is the primary. Never changes while the sandbox lives. */
  ips: string[];
  /** What CNI DEL needs even when the pause container is gone. */
  network: { attached: boolean; ifName: string; result: unknown } | null;
  /** Absent until the kubelet first calls UpdatePodSandboxResources. */
  podResources?: PodResources;
}

export interface Mount {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
  propagation: 'private' | 'rslave' | 'rshared';
  selinuxRelabel: boolean;
}

export interface Device {
  containerPath: string;
  hostPath: string;
  permissions: string;
}

export interface Resources {
  cpuPeriod: number;
  cpuQuota: number;
  cpuShares: number;
  memoryLimitBytes: number;
  cpusetCpus: string;
  cpusetMems: string;
  oomScoreAdj: number;
}

export type SeccompProfile = { kind: 'unconfined' } | { kind: 'runtime-default' } | { kind: 'localhost'; path: string };

export interface SecurityContext {
  runAsUser: number | null;
  runAsGroup: number | null;
  runAsUsername: string;
  supplementalGroups: number[];
  readonlyRootfs: boolean;
  privileged: boolean;
  capAdd: string[];
  capDrop: string[];
  noNewPrivs: boolean;
  maskedPaths: string[];
  readonlyPaths: string[];
  seccomp: SeccompProfile | null;
  namespaces: { pid: NamespaceMode; ipc: NamespaceMode; network: NamespaceMode; targetId: string };
}

export interface ContainerSpec {
  name: string;
  attempt: number;
  image: string;
  command: string[];
  args: string[];
  workingDir: string;
  envs: Array<{ key: string; value: string }>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  mounts: Mount[];
  devices: Device[];
  logPath: string;
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
  resources: Resources | null;
  security: SecurityContext;
}

/** One container as the shim remembers it; live state comes from Docker. */
export interface ContainerRecord {
  id: string;
  sandboxId: string;
  spec: ContainerSpec;
  /** The image id (`sha256:…`) the container was created from: CRI image_ref. */
  imageRef: string;
  createdAt: string;
  /**
   * Absolute path of the CRI log file: the sandbox's log_directory joined with the
   * container's log_path; empty when either is missing (as in containerd: no log file).
   */
  logPath: string;
}

export type ContainerStateName = 'created' | 'running' | 'exited' | 'unknown';

export interface ContainerLiveState {
  state: ContainerStateName;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  reason: string;
  message: string;
  pid: number;
}
