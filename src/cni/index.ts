/**
 * CNI engine: loads the default network from a conf dir, runs plugin chains
 * (ADD/CHECK/DEL/GC/STATUS/VERSION) and keeps libcni's result cache. Knows nothing
 * about gRPC or Docker; src/runtime's pod-sandbox code drives it.
 */
export { CniEngine, createCniEngine } from './engine.js';
export { CniCacheError, CniNotReadyError, CniPluginError, CniResultError, CniTimeoutError, cniCodeMeaning } from './errors.js';
export type { CniCommand } from './errors.js';
export { podIpsFromResult } from './result.js';
export type { CniDns, CniInterface, CniIpConfig, CniResult, CniRoute, PodIps } from './result.js';
export { SUPPORTED_CNI_VERSIONS } from './version.js';
export type { CniInvocation, CniInvokeObserver } from './observe.js';
export type {
  CniAttachment,
  CniAttachmentRef,
  CniBandwidth,
  CniCapabilityArgs,
  CniCheckOutcome,
  CniDelRequest,
  CniEngineOptions,
  CniGcOptions,
  CniGcReport,
  CniIpRange,
  CniLoadReport,
  CniNetworkInfo,
  CniPluginStatus,
  CniPortMapping,
  CniRejectedFile,
  CniStatus,
  CniStatusListener,
} from './types.js';
