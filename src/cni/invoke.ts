/**
 * Running one plugin process: the CNI_* environment, config on stdin, result or error
 * JSON on stdout, a timeout that kills the whole process group, and the ETXTBSY retry
 * libcni does for binaries that are being replaced while we exec them (the execution
 * itself is src/process-runner's; this file says what a CNI call is and what its
 * failures mean).
 */
import { processRunner, type ProcessRunner } from '../process-runner/runner.js';
import type { ProcessOutcome } from '../process-runner/run-local.js';
import type { Logger } from '../logger.js';
import { CniPluginError, CniTimeoutError, type CniCommand } from './errors.js';

/** The CNI_* variables of one call. Unset fields are left out of the environment. */
export interface CniEnv {
  command: CniCommand;
  containerId?: string;
  netns?: string;
  ifName?: string;
  /** Already joined "K=V;K2=V2". */
  args?: string;
  path: string;
}

export interface InvokeRequest {
  pluginPath: string;
  /** The config's `type`, for messages. */
  plugin: string;
  /** Network name, for messages. */
  network?: string;
  env: CniEnv;
  stdin: string;
  timeoutMs: number;
}

export interface InvokeOutput {
  stdout: string;
  stderr: string;
}

const CNI_VARIABLES = ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH'];
/** Results are a few KiB; anything past this is a broken plugin, not data. */
const MAX_STDOUT_BYTES = 8 * 1024 * 1024;
const MAX_STDERR_BYTES = 64 * 1024;
/** libcni retries "text file busy" 5 times; a binary being copied in is usually done within a second. */
const ETXTBSY_RETRIES = 5;
const ETXTBSY_DELAY_MS = 200;
/** After the plugin exits, how long a grandchild that kept stdout open may delay us. */
const DRAIN_GRACE_MS = 1000;

/**
 * The shim's own environment minus any CNI_* it inherited: a variable the call does
 * not set (CNI_CONTAINERID on GC, say) must be absent, not leaked from our parent.
 */
export function buildEnvironment(env: CniEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!CNI_VARIABLES.includes(k)) out[k] = v;
  }
  out.CNI_COMMAND = env.command;
  if (env.containerId !== undefined) out.CNI_CONTAINERID = env.containerId;
  if (env.netns !== undefined) out.CNI_NETNS = env.netns;
  if (env.ifName !== undefined) out.CNI_IFNAME = env.ifName;
  if (env.args !== undefined) out.CNI_ARGS = env.args;
  out.CNI_PATH = env.path;
  return out;
}

export async function invokePlugin(req: InvokeRequest, logger: Logger, runner: ProcessRunner = processRunner): Promise<InvokeOutput> {
  // Run from the process runner's helper: a spawn from the shim itself would block
  // every RPC for the length of a fork of the whole shim (see process-runner/runner.ts).
  const run = await runner.run({
    file: req.pluginPath,
    args: [],
    env: buildEnvironment(req.env),
    stdin: req.stdin,
    timeoutMs: req.timeoutMs,
    maxStdoutBytes: MAX_STDOUT_BYTES,
    maxStderrBytes: MAX_STDERR_BYTES,
    // The plugin leads its own process group, so a timeout kills the IPAM plugin it delegated to as well.
    detached: true,
    busyRetries: ETXTBSY_RETRIES,
    busyDelayMs: ETXTBSY_DELAY_MS,
    drainGraceMs: DRAIN_GRACE_MS,
  });
  if (run.spawnError) {
    throw new CniPluginError({
      network: req.network,
      plugin: req.plugin,
      command: req.env.command,
      msg: `cannot execute ${req.pluginPath}: ${run.spawnError.message}`,
    });
  }
  if (run.timedOut) throw new CniTimeoutError(req.network, req.plugin, req.env.command, req.timeoutMs);
  if (run.exitCode === 0) {
    if (run.stderr.trim() !== '') {
      logger.debug({ plugin: req.plugin, command: req.env.command, stderr: run.stderr }, 'CNI plugin wrote to stderr');
    }
    return { stdout: run.stdout, stderr: run.stderr };
  }
  throw pluginFailure(req, run);
}

/** The spec's error JSON when the plugin printed one; otherwise what it did print, quoted. */
function pluginFailure(req: InvokeRequest, run: ProcessOutcome): CniPluginError {
  const base = {
    network: req.network,
    plugin: req.plugin,
    command: req.env.command,
    stderr: run.stderr,
    exitCode: run.exitCode,
    signal: run.signal,
  };
  const parsed = parseErrorJson(run.stdout);
  if (parsed) return new CniPluginError({ ...base, ...parsed });
  const how = run.signal ? `was killed by ${run.signal}` : `exited with status ${run.exitCode}`;
  const out = run.stdout.trim();
  const err = run.stderr.trim();
  let msg = how;
  if (out) msg += `; stdout: ${quote(out)}`;
  if (err) msg += `; stderr: ${quote(err)}`;
  if (!out && !err) msg += ' with no output';
  return new CniPluginError({ ...base, msg });
}

function parseErrorJson(stdout: string): { cniCode: number; msg: string; details?: string } | undefined {
  let data: unknown;
  try {
    data = JSON.parse(stdout);
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  const e = data as { code?: unknown; msg?: unknown; details?: unknown };
  if (typeof e.code !== 'number') return undefined;
  return {
    cniCode: e.code,
    msg: typeof e.msg === 'string' && e.msg !== '' ? e.msg : '(no message)',
    ...(typeof e.details === 'string' && e.details !== '' ? { details: e.details } : {}),
  };
}

const QUOTE_LIMIT = 2000;

function quote(text: string): string {
  const clipped = text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT)}…` : text;
  return JSON.stringify(clipped);
}
