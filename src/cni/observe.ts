/**
 * An optional observer of plugin executions (the shim's metrics use it): one call
 * per plugin process with its type, verb, outcome and duration. It wraps
 * invokePlugin from outside, so the execution itself stays as it is.
 */
import type { Logger } from '../logger.js';
import { CniTimeoutError, type CniCommand } from './errors.js';
import { invokePlugin, type InvokeOutput, type InvokeRequest } from './invoke.js';

export interface CniInvocation {
  /** The config's `type` (bridge, portmap, …). */
  plugin: string;
  command: CniCommand;
  result: 'ok' | 'error' | 'timeout';
  seconds: number;
}

/** Must not throw: it runs on the plugin call's path. */
export type CniInvokeObserver = (invocation: CniInvocation) => void;

export async function invokeObserved(req: InvokeRequest, logger: Logger, observer: CniInvokeObserver | undefined): Promise<InvokeOutput> {
  if (!observer) return invokePlugin(req, logger);
  const started = process.hrtime.bigint();
  const report = (result: CniInvocation['result']) =>
    observer({ plugin: req.plugin, command: req.env.command, result, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
  try {
    const out = await invokePlugin(req, logger);
    report('ok');
    return out;
  } catch (err) {
    report(err instanceof CniTimeoutError ? 'timeout' : 'error');
    throw err;
  }
}
