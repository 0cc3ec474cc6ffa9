/**
 * The verbs over a whole list: what each plugin gets on stdin and in which order the
 * plugins run (SPEC section 3, "Execution of Network Configurations").
 */
import { crashPoint } from '../crash-point.js';
import type { Logger } from '../logger.js';
import { CniPluginError, type CniCommand } from './errors.js';
import type { CniEnv } from './invoke.js';
import { invokeObserved, type CniInvokeObserver } from './observe.js';
import type { ResolvedNetwork, ResolvedPlugin } from './resolve.js';
import { convertResult, encodeResult, parseResultText, type CniResult } from './result.js';
import { versionAtLeast } from './version.js';

export interface ChainContext {
  binDirs: readonly string[];
  timeoutMs: number;
  logger: Logger;
  /** Told about every plugin execution (metrics). */
  observer?: CniInvokeObserver;
}

/** The per-attachment arguments, as recorded in the cache. */
export interface RuntimeArgs {
  containerId: string;
  netns: string;
  ifName: string;
  cniArgs: [string, string][];
  capabilityArgs: Record<string, unknown>;
}

/** A (containerID, ifname) pair in the shape GC input uses. */
export interface GcAttachment {
  containerID: string;
  ifname: string;
}

/**
 * runtimeConfig is the capability args the runtime offers, narrowed to the
 * capabilities this plugin declares true (CONVENTIONS.md "Dynamic Plugin specific fields").
 */
export function runtimeConfigFor(plugin: ResolvedPlugin, offered: Record<string, unknown>): Record<string, unknown> {
  const rc: Record<string, unknown> = {};
  for (const [capability, enabled] of Object.entries(plugin.conf.capabilities ?? {})) {
    if (enabled === true && offered[capability] !== undefined) rc[capability] = offered[capability];
  }
  return rc;
}

/** The plugin object with the list's name and version, and whatever the verb adds. */
export function pluginStdin(
  net: ResolvedNetwork,
  plugin: ResolvedPlugin,
  extra: { prevResult?: CniResult; capabilityArgs?: Record<string, unknown>; inject?: Record<string, unknown> } = {},
): string {
  const conf: Record<string, unknown> = { ...plugin.conf, name: net.name, cniVersion: net.cniVersion };
  if (extra.prevResult) conf.prevResult = encodeResult(extra.prevResult, net.cniVersion);
  if (extra.capabilityArgs) {
    const rc = runtimeConfigFor(plugin, extra.capabilityArgs);
    // As libcni: only replace runtimeConfig when there is something to pass.
    if (Object.keys(rc).length > 0) conf.runtimeConfig = rc;
  }
  Object.assign(conf, extra.inject ?? {});
  return JSON.stringify(conf);
}

export function joinCniArgs(pairs: readonly [string, string][]): string {
  return pairs.map(([k, v]) => `${k}=${v}`).join(';');
}

function attachmentEnv(command: CniCommand, rt: RuntimeArgs, ctx: ChainContext): CniEnv {
  return {
    command,
    containerId: rt.containerId,
    netns: rt.netns,
    ifName: rt.ifName,
    args: joinCniArgs(rt.cniArgs),
    path: ctx.binDirs.join(':'),
  };
}

async function run(net: ResolvedNetwork, plugin: ResolvedPlugin, env: CniEnv, stdin: string, ctx: ChainContext) {
  ctx.logger.debug({ network: net.name, plugin: plugin.type, command: env.command, containerId: env.containerId }, 'running CNI plugin');
  return invokeObserved(
    { pluginPath: plugin.path, plugin: plugin.type, network: net.name, env, stdin, timeoutMs: ctx.timeoutMs },
    ctx.logger,
    ctx.observer,
  );
}

/**
 * ADD in list order; from 0.3.0 on each plugin sees the previous result as prevResult.
 * The final result is in the list's version.
 */
export async function addChain(
  net: ResolvedNetwork,
  rt: RuntimeArgs,
  ctx: ChainContext,
  onResult?: (partial: CniResult) => void,
): Promise<CniResult> {
  const chaining = versionAtLeast(net.cniVersion, '0.3.0');
  let result: CniResult | undefined;
  for (const plugin of net.plugins) {
    const stdin = pluginStdin(net, plugin, {
      ...(chaining && result ? { prevResult: result } : {}),
      capabilityArgs: rt.capabilityArgs,
    });
    const out = await run(net, plugin, attachmentEnv('ADD', rt, ctx), stdin, ctx);
    result = convertResult(parseResultText(out.stdout, net.cniVersion), net.cniVersion);
    onResult?.(result);
    if (plugin !== net.plugins.at(-1)) crashPoint('cni-add:mid-chain');
  }
  return result as CniResult;
}

/** CHECK in list order, each with the cached ADD result; the first failure ends it. */
export async function checkChain(net: ResolvedNetwork, rt: RuntimeArgs, prevResult: CniResult, ctx: ChainContext): Promise<void> {
  for (const plugin of net.plugins) {
    const stdin = pluginStdin(net, plugin, { prevResult, capabilityArgs: rt.capabilityArgs });
    await run(net, plugin, attachmentEnv('CHECK', rt, ctx), stdin, ctx);
  }
}

/**
 * DEL in reverse list order. Every plugin runs even if one fails, so one broken
 * plugin does not leak what the others hold (an IP, iptables rules); every plugin's
 * failure is returned (empty when DEL succeeded) for the caller to judge (del-policy.ts).
 * Code 3 ("container unknown") means there is nothing to clean up: success.
 */
export async function delChainCollect(
  net: ResolvedNetwork,
  rt: RuntimeArgs,
  prevResult: CniResult | undefined,
  ctx: ChainContext,
): Promise<Error[]> {
  // prevResult on DEL came with 0.4.0 (SPEC); older plugins would not expect it.
  const withPrev = prevResult && versionAtLeast(net.cniVersion, '0.4.0') ? { prevResult } : {};
  const errors: Error[] = [];
  for (const plugin of [...net.plugins].reverse()) {
    const stdin = pluginStdin(net, plugin, { ...withPrev, capabilityArgs: rt.capabilityArgs });
    try {
      await run(net, plugin, attachmentEnv('DEL', rt, ctx), stdin, ctx);
      if (plugin !== net.plugins[0]) crashPoint('cni-del:mid-chain');
    } catch (err) {
      if (err instanceof CniPluginError && err.cniCode === 3) {
        ctx.logger.debug({ network: net.name, plugin: plugin.type }, 'CNI DEL: container unknown to plugin, nothing to clean');
        continue;
      }
      ctx.logger.warn({ network: net.name, plugin: plugin.type, err: (err as Error).message }, 'CNI DEL failed; continuing with the rest of the list');
      errors.push(err as Error);
    }
  }
  return errors;
}

/**
 * GC (1.1) to every plugin. The spec names the key cni.dev/valid-attachments; an
 * earlier draft said cni.dev/attachments and plugins exist that read it, so libcni
 * sends both and so do we.
 */
export async function gcChain(net: ResolvedNetwork, valid: readonly GcAttachment[], ctx: ChainContext): Promise<Error[]> {
  const errors: Error[] = [];
  const list = valid.map((a) => ({ containerID: a.containerID, ifname: a.ifname }));
  for (const plugin of net.plugins) {
    const stdin = pluginStdin(net, plugin, { inject: { 'cni.dev/valid-attachments': list, 'cni.dev/attachments': list } });
    try {
      await run(net, plugin, { command: 'GC', path: ctx.binDirs.join(':') }, stdin, ctx);
    } catch (err) {
      errors.push(err as Error);
    }
  }
  return errors;
}

/** STATUS (1.1) in list order; the first plugin that is not ready answers for the network. */
export async function statusChain(net: ResolvedNetwork, ctx: ChainContext): Promise<void> {
  for (const plugin of net.plugins) {
    await run(net, plugin, { command: 'STATUS', path: ctx.binDirs.join(':') }, pluginStdin(net, plugin), ctx);
  }
}
