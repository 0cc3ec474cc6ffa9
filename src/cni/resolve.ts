/**
 * Turning a parsed list into something runnable: every plugin located in the bin
 * dirs and one spec version chosen for the whole list.
 */
import { stat } from 'node:fs/promises';
import type { Logger } from '../logger.js';
import type { NetworkListConf, PluginConf } from './config.js';
import { CniPluginError } from './errors.js';
import { invokeObserved, type CniInvokeObserver } from './observe.js';
import { findPlugin, notFoundReason } from './plugins.js';
import {
  LATEST_CNI_VERSION,
  UNKNOWN_VERSION_COMMAND,
  negotiateVersion,
  parseVersionAnswer,
  type PluginVersions,
} from './version.js';

export interface ResolvedPlugin {
  type: string;
  path: string;
  conf: PluginConf;
}

export interface ResolvedNetwork {
  name: string;
  /** The version every call uses: `cniVersion`, or the one negotiated from `cniVersions`. */
  cniVersion: string;
  disableCheck: boolean;
  disableGC: boolean;
  plugins: ResolvedPlugin[];
  conf: NetworkListConf;
}

export type ResolveOutcome = { ok: true; network: ResolvedNetwork } | { ok: false; reason: string };

export interface ResolveContext {
  binDirs: readonly string[];
  timeoutMs: number;
  logger: Logger;
  observer?: CniInvokeObserver;
  versionCache: VersionCache;
}

/**
 * VERSION answers keyed by binary identity, so reloading an unchanged conf dir does
 * not exec every plugin again; a replaced binary has a new mtime/size and is asked anew.
 */
export class VersionCache {
  private readonly answers = new Map<string, string[]>();

  async get(pluginPath: string, ask: () => Promise<string[]>): Promise<string[]> {
    const st = await stat(pluginPath);
    const key = `${pluginPath}\0${st.mtimeMs}\0${st.size}\0${st.ino}`;
    const known = this.answers.get(key);
    if (known) return known;
    const versions = await ask();
    this.answers.set(key, versions);
    return versions;
  }
}

/**
 * @param pinnedVersion the version an earlier ADD used (from the cache): DEL and CHECK
 *   must speak it again, whatever negotiation would pick today.
 */
export async function resolveNetwork(
  conf: NetworkListConf,
  ctx: ResolveContext,
  pinnedVersion?: string,
): Promise<ResolveOutcome> {
  const plugins: ResolvedPlugin[] = [];
  for (const [i, pc] of conf.plugins.entries()) {
    const found = await findPlugin(pc.type, ctx.binDirs);
    if (found === undefined) {
      const prefix = conf.plugins.length > 1 ? `plugins[${i}]: ` : '';
      return { ok: false, reason: prefix + notFoundReason(pc.type, ctx.binDirs) };
    }
    plugins.push({ type: pc.type, path: found, conf: pc });
  }
  const version = await chooseVersion(conf, plugins, ctx, pinnedVersion);
  if (!version.ok) return version;
  return {
    ok: true,
    network: {
      name: conf.name,
      cniVersion: version.version,
      disableCheck: conf.disableCheck,
      disableGC: conf.disableGC,
      plugins,
      conf,
    },
  };
}

type VersionChoice = { ok: true; version: string } | { ok: false; reason: string };

async function chooseVersion(
  conf: NetworkListConf,
  plugins: ResolvedPlugin[],
  ctx: ResolveContext,
  pinnedVersion: string | undefined,
): Promise<VersionChoice> {
  const offered = [...(conf.cniVersions ?? []), ...(conf.cniVersion !== undefined ? [conf.cniVersion] : [])];
  if (pinnedVersion !== undefined && offered.includes(pinnedVersion)) return { ok: true, version: pinnedVersion };
  // A single cniVersion is a statement, not an offer: no negotiation, as in libcni.
  if (conf.cniVersions === undefined) return { ok: true, version: conf.cniVersion as string };
  const answers: PluginVersions[] = [];
  for (const p of plugins) {
    try {
      const versions = await ctx.versionCache.get(p.path, () => askVersions(p, conf.name, ctx));
      answers.push({ plugin: p.type, versions });
    } catch (err) {
      return { ok: false, reason: `VERSION of plugin "${p.type}" failed: ${(err as Error).message}` };
    }
  }
  return negotiateVersion(offered, answers);
}

/** The VERSION verb. Plugins from before it existed answer with skel's "unknown command". */
export async function askVersions(p: ResolvedPlugin, network: string, ctx: ResolveContext): Promise<string[]> {
  try {
    const out = await invokeObserved(
      {
        pluginPath: p.path,
        plugin: p.type,
        network,
        // Old skel insists on CNI_NETNS/CNI_IFNAME even for VERSION; libcni sends dummies too.
        env: { command: 'VERSION', netns: 'dummy', ifName: 'dummy', path: ctx.binDirs.join(':') },
        stdin: JSON.stringify({ cniVersion: LATEST_CNI_VERSION }),
        timeoutMs: ctx.timeoutMs,
      },
      ctx.logger,
      ctx.observer,
    );
    return parseVersionAnswer(out.stdout);
  } catch (err) {
    if (err instanceof CniPluginError && err.msg === UNKNOWN_VERSION_COMMAND) return ['0.1.0'];
    throw err;
  }
}
