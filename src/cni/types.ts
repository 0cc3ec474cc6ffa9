/**
 * The engine's public shapes. Capability args follow CONVENTIONS.md ("Well-known
 * Capabilities"); plugins may define more, so the record stays open.
 */
import type { Logger } from '../logger.js';
import type { CacheWriteHooks } from './cache.js';
import type { DelLimits } from './del-policy.js';
import type { CniInvokeObserver } from './observe.js';

export interface CniEngineOptions {
  /** Where network configs live, e.g. /etc/cni/net.d. */
  confDir: string;
  /** Where plugin binaries are searched, in order, e.g. ['/opt/cni/bin', '/usr/lib/cni']. */
  binDirs: string[];
  /** libcni's cache root, e.g. /var/lib/cni (entries go to <cacheDir>/results). */
  cacheDir: string;
  /** Limit for one plugin process; it is killed (with its children) on expiry. Default 60 s. */
  pluginTimeoutMs?: number;
  logger?: Logger;
  /** Reload on changes in confDir and binDirs. Default true. */
  watch?: boolean;
  /** Quiet time before a burst of file events turns into one reload. Default 500 ms. */
  watchDebounceMs?: number;
  /** How often a missing conf/bin dir is looked for. Default 2000 ms. */
  watchRetryMs?: number;
  /**
   * Marks the cache entries this engine writes as ours (the shim instance): only those
   * are ever garbage-collected, so another runtime sharing the cache dir is left alone.
   */
  owner?: string;
  /** When a DEL that keeps failing is given up (del-policy.ts); defaults there. */
  delLimits?: Partial<DelLimits>;
  /** Test seam for crash-safety tests of the cache. */
  cacheHooks?: CacheWriteHooks;
  /** Told about every plugin execution, with its duration (the shim's metrics). */
  invokeObserver?: CniInvokeObserver;
}

export interface CniPortMapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
}

export interface CniBandwidth {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

export interface CniIpRange {
  subnet: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

export interface CniCapabilityArgs {
  portMappings?: CniPortMapping[];
  bandwidth?: CniBandwidth;
  ipRanges?: CniIpRange[][];
  dns?: { servers?: string[]; searches?: string[]; options?: string[] };
  mac?: string;
  ips?: string[];
  cgroupPath?: string;
  [capability: string]: unknown;
}

/** One container interface on the network. */
export interface CniAttachment {
  containerId: string;
  /** Netns path handed to plugins as CNI_NETNS. */
  netns: string;
  /** Interface inside the sandbox; default "eth0". */
  ifName?: string;
  /** CNI_ARGS pairs (K8S_POD_NAMESPACE, K8S_POD_NAME, …); IgnoreUnknown=1 is always added. */
  args?: Record<string, string>;
  /** Offered to plugins as runtimeConfig, filtered by each plugin's `capabilities`. */
  capabilityArgs?: CniCapabilityArgs;
}

/** DEL needs no netns (it may be gone) and takes args from the cache when there is one. */
export type CniDelRequest = Omit<CniAttachment, 'netns'> & { netns?: string };

export interface CniAttachmentRef {
  containerId: string;
  ifName?: string;
}

export interface CniRejectedFile {
  file: string;
  reason: string;
}

export interface CniNetworkInfo {
  name: string;
  file: string;
  /** Version every call uses (negotiated when the file lists `cniVersions`). */
  cniVersion: string;
  /** The list as loaded (a .conf up-converted). */
  config: Record<string, unknown>;
}

export interface CniLoadReport {
  /** The default network: first valid file in lexical order (or the last good one). */
  network?: CniNetworkInfo;
  /** Files before the chosen one (or all, when none is valid), with why they were refused. */
  rejected: CniRejectedFile[];
  /** True when no file is valid now and the network of an earlier load is still in use. */
  usingLastGood: boolean;
}

/** Becomes CRI NetworkReady. */
export interface CniStatus {
  ready: boolean;
  reason?: string;
  message?: string;
  network?: CniNetworkInfo;
  rejected: CniRejectedFile[];
}

/** Outcome of the STATUS verb. */
export interface CniPluginStatus {
  ready: boolean;
  reason?: string;
  message?: string;
  error?: Error;
}

export interface CniCheckOutcome {
  /** False when CHECK does not apply: disableCheck, or a network older than 0.4.0. */
  ran: boolean;
  reason?: string;
}

export interface CniGcOptions {
  /**
   * Leave cache entries younger than this alone: an ADD that finished after the
   * caller built its list of valid attachments is not stale. Default 0 (libcni's behaviour).
   */
  minAgeMs?: number;
}

export interface CniGcReport {
  network?: string;
  /** Stale cached attachments that were DELeted. */
  deleted: CniAttachmentRef[];
  /** Failed DELs and failed GC calls; the rest still ran. */
  errors: Error[];
}

export type CniStatusListener = (status: CniStatus) => void;
