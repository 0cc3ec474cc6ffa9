/**
 * Errors the CNI engine throws. They extend the shim's ShimError hierarchy so
 * src/cri/instrument.ts maps them to gRPC codes without knowing about CNI.
 */
import {
  DeadlineExceededError,
  FailedPreconditionError,
  InternalError,
  ShimError,
  type ShimErrorCode,
} from '../errors.js';

/** Which operation ran the plugin; named in every error so logs read on their own. */
export type CniCommand = 'ADD' | 'CHECK' | 'DEL' | 'GC' | 'STATUS' | 'VERSION';

/**
 * Meanings of the well-known error codes (SPEC.md "Error codes"; 0-99 are reserved,
 * 100+ belong to plugins).
 */
const CNI_CODE_MEANINGS: ReadonlyMap<number, string> = new Map([
  [1, 'incompatible CNI version'],
  [2, 'unsupported field in network configuration'],
  [3, 'container unknown or does not exist'],
  [4, 'invalid necessary environment variables'],
  [5, 'I/O failure'],
  [6, 'failed to decode content'],
  [7, 'invalid network config'],
  [11, 'try again later'],
  [50, 'plugin not available'],
  [51, 'plugin not available, existing containers may have limited connectivity'],
]);

export function cniCodeMeaning(code: number): string {
  return CNI_CODE_MEANINGS.get(code) ?? (code >= 100 ? 'plugin-specific error' : 'unknown error code');
}

/** Codes that mean "transient, retry later": the kubelet should see UNAVAILABLE, not INTERNAL. */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([11, 50, 51]);

export interface CniPluginErrorInit {
  network?: string;
  plugin: string;
  command: CniCommand;
  /** The `code` of the plugin's error JSON; absent when the plugin printed none. */
  cniCode?: number;
  /** The plugin's `msg`, or our description of how it failed (exit status, stderr). */
  msg: string;
  details?: string;
  stderr?: string;
  exitCode?: number | null;
  signal?: string | null;
}

/** A plugin ran and reported failure (error JSON, or a non-zero exit without one). */
export class CniPluginError extends ShimError {
  override readonly code: ShimErrorCode;
  readonly network: string | undefined;
  readonly plugin: string;
  readonly command: CniCommand;
  readonly cniCode: number | undefined;
  readonly msg: string;
  readonly details: string | undefined;
  readonly stderr: string | undefined;
  readonly exitCode: number | null | undefined;

  constructor(init: CniPluginErrorInit) {
    super(describePluginFailure(init));
    this.code = init.cniCode !== undefined && TRANSIENT_CODES.has(init.cniCode) ? 'UNAVAILABLE' : 'INTERNAL';
    this.network = init.network;
    this.plugin = init.plugin;
    this.command = init.command;
    this.cniCode = init.cniCode;
    this.msg = init.msg;
    this.details = init.details;
    this.stderr = init.stderr;
    this.exitCode = init.exitCode;
  }
}

function describePluginFailure(init: CniPluginErrorInit): string {
  const where = init.network === undefined ? '' : `network "${init.network}": `;
  let text = `${where}CNI plugin "${init.plugin}" failed on ${init.command}: `;
  if (init.cniCode !== undefined) {
    text += `code ${init.cniCode} (${cniCodeMeaning(init.cniCode)}): `;
  }
  text += init.msg;
  if (init.details) text += ` (details: ${init.details})`;
  return text;
}

/** The plugin did not finish within the per-call timeout; its process group was killed. */
export class CniTimeoutError extends DeadlineExceededError {
  constructor(
    readonly network: string | undefined,
    readonly plugin: string,
    readonly command: CniCommand,
    readonly timeoutMs: number,
  ) {
    const where = network === undefined ? '' : `network "${network}": `;
    super(`${where}CNI plugin "${plugin}" timed out on ${command} after ${timeoutMs} ms and was killed`);
  }
}

/** No usable network configuration: the message is the same text status() reports. */
export class CniNotReadyError extends FailedPreconditionError {}

/** A plugin answered successfully but with output we cannot use (bad result JSON). */
export class CniResultError extends InternalError {}

/** The cache could not be written; the attachment may exist without a record. */
export class CniCacheError extends InternalError {}
