/**
 * What a DEL from a cached config can run. Unlike ADD, DEL must go ahead when part of
 * the list is unusable: every plugin that can run still cleans up its share (an IP,
 * iptables rules), and what could not run is named so the failure is judged permanent.
 */
import type { NetworkListConf } from './config.js';
import { findPlugin, notFoundReason, unsafeTypeReason } from './plugins.js';
import { ipamTypeOf, resolveNetwork, unsafeIpamReason, type ResolveContext, type ResolvedNetwork } from './resolve.js';

export interface DelPlan {
  /** The runnable part of the list; undefined when nothing of it can run. */
  network?: ResolvedNetwork;
  /** Plugins left out, with why: they can never run, so no retry would finish the DEL. */
  skipped: string[];
  /**
   * Plugins that run but delegate to an IPAM plugin that is not installed: their DEL
   * fails for good. Keyed by plugin type.
   */
  doomed: Map<string, string>;
  /** Why the runnable part could not be prepared (a failed VERSION negotiation). */
  error?: Error;
}

export async function planDel(list: NetworkListConf, ctx: ResolveContext, pinnedVersion: string | undefined): Promise<DelPlan> {
  const runnable: NetworkListConf['plugins'] = [];
  const skipped: string[] = [];
  const doomed = new Map<string, string>();
  for (const pc of list.plugins) {
    const refused = unsafeTypeReason(pc.type) ?? unsafeIpamReason(pc);
    if (refused !== undefined) {
      skipped.push(`plugin ${JSON.stringify(pc.type)}: refused (${refused})`);
      continue;
    }
    if ((await findPlugin(pc.type, ctx.binDirs)) === undefined) {
      skipped.push(notFoundReason(pc.type, ctx.binDirs));
      continue;
    }
    const ipam = ipamTypeOf(pc);
    if (ipam !== undefined && (await findPlugin(ipam, ctx.binDirs)) === undefined) {
      doomed.set(pc.type, `IPAM ${notFoundReason(ipam, ctx.binDirs)} (delegated by "${pc.type}")`);
    }
    runnable.push(pc);
  }
  if (runnable.length === 0) return { skipped, doomed };
  const resolved = await resolveNetwork({ ...list, plugins: runnable }, ctx, pinnedVersion);
  if (!resolved.ok) return { skipped, doomed, error: new Error(`cannot run cached network "${list.name}": ${resolved.reason}`) };
  return { network: resolved.network, skipped, doomed };
}
