/**
 * The CNI engine: the default network from the conf dir, attachments through the
 * plugin chain, and the cache that lets DEL and GC work from what ADD actually did.
 */
import { stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { FailedPreconditionError, InternalError, InvalidArgumentError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import {
  CACHE_KIND,
  entryConfigBytes,
  findCacheEntries,
  networkOfCorruptFile,
  readAllCacheEntries,
  removeCacheFile,
  sweepTempFiles,
  writeCacheEntry,
  type CacheRead,
  type CniCacheEntry,
} from './cache.js';
import { addChain, checkChain, delChain, gcChain, statusChain, type ChainContext, type RuntimeArgs } from './chain.js';
import { listConfFiles, parseConfig, readConfFile } from './config.js';
import { CniCacheError, CniNotReadyError } from './errors.js';
import { KeyedMutex, NetworkLocks } from './locks.js';
import { findPlugin } from './plugins.js';
import { resolveNetwork, VersionCache, type ResolveContext, type ResolvedNetwork } from './resolve.js';
import { encodeResult, parseResult, type CniResult } from './result.js';
import type {
  CniAttachment,
  CniAttachmentRef,
  CniCheckOutcome,
  CniDelRequest,
  CniEngineOptions,
  CniGcOptions,
  CniGcReport,
  CniLoadReport,
  CniNetworkInfo,
  CniPluginStatus,
  CniRejectedFile,
  CniStatus,
  CniStatusListener,
} from './types.js';
import { versionAtLeast } from './version.js';
import { watchDirs, type DirWatch } from './watch.js';

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_IFNAME = 'eth0';
const NOT_READY = 'NetworkPluginNotReady';

/** SPEC "Parameters": container ID and interface name rules (they also keep cache paths safe). */
const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

interface LoadedNetwork {
  network: ResolvedNetwork;
  file: string;
}

interface LoadState {
  current?: LoadedNetwork;
  rejected: CniRejectedFile[];
  usingLastGood: boolean;
  /** Why the conf dir itself could not be read. */
  dirError?: string;
}

export class CniEngine {
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly versionCache = new VersionCache();
  private readonly attachmentLocks = new KeyedMutex();
  private readonly networkLocks = new NetworkLocks();
  private readonly listeners = new Set<CniStatusListener>();
  private readonly watcher: DirWatch | undefined;
  private state: LoadState = { rejected: [], usingLastGood: false };
  private loadQueue: Promise<unknown> = Promise.resolve();
  private readonly initialLoad: Promise<CniLoadReport>;
  private lastEmitted = '';

  constructor(private readonly opts: CniEngineOptions) {
    const base = opts.logger ?? silentLogger;
    // Callers often pass a logger already bound to component=cni; do not bind it twice.
    this.log = 'component' in base.bindings() ? base : base.child({ component: 'cni' });
    this.timeoutMs = opts.pluginTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    void sweepTempFiles(opts.cacheDir, this.log);
    this.initialLoad = this.loadNetworks();
    if (opts.watch !== false) {
      this.watcher = watchDirs([opts.confDir, ...opts.binDirs], () => void this.loadNetworks(), {
        debounceMs: opts.watchDebounceMs ?? 500,
        retryMs: opts.watchRetryMs ?? 2000,
        logger: this.log,
      });
    }
  }

  // ---- configuration -------------------------------------------------------------

  /** Rescans the conf dir. Never throws: problems are in the report and in status(). */
  loadNetworks(): Promise<CniLoadReport> {
    const next = this.loadQueue.then(() => this.loadOnce());
    this.loadQueue = next.catch(() => undefined);
    return next;
  }

  private async loadOnce(): Promise<CniLoadReport> {
    let next: LoadState;
    try {
      next = await this.scan();
    } catch (err) {
      next = { rejected: [], usingLastGood: false, dirError: `loading CNI config failed: ${(err as Error).message}` };
    }
    next = await this.keepLastGood(next);
    this.logTransition(this.state, next);
    this.state = next;
    this.emitIfChanged();
    return {
      ...(next.current ? { network: networkInfo(next.current) } : {}),
      rejected: next.rejected,
      usingLastGood: next.usingLastGood,
    };
  }

  /** First valid file in lexical order wins; the ones before it are reported. */
  private async scan(): Promise<LoadState> {
    const listed = await listConfFiles(this.opts.confDir);
    if (!listed.ok) return { rejected: [], usingLastGood: false, dirError: listed.reason };
    const rejected: CniRejectedFile[] = [];
    for (const conf of listed.files) {
      const parsed = await readConfFile(conf);
      if (!parsed.ok) {
        rejected.push({ file: conf.file, reason: parsed.reason });
        continue;
      }
      const resolved = await resolveNetwork(parsed.list, this.resolveContext());
      if (!resolved.ok) {
        rejected.push({ file: conf.file, reason: resolved.reason });
        continue;
      }
      return { current: { network: resolved.network, file: conf.file }, rejected, usingLastGood: false };
    }
    return { rejected, usingLastGood: false };
  }

  /**
   * A config that turned invalid (half-written, a typo) must not take the node's
   * networking down: keep the previous network while its plugins are still installed.
   * An empty conf dir is a deliberate removal and is honoured.
   */
  private async keepLastGood(next: LoadState): Promise<LoadState> {
    const previous = this.state.current;
    if (next.current || !previous || next.rejected.length === 0) return next;
    for (const p of previous.network.plugins) {
      if ((await findPlugin(p.type, this.opts.binDirs)) === undefined) return next;
    }
    return { ...next, current: previous, usingLastGood: true };
  }

  private logTransition(before: LoadState, after: LoadState): void {
    const was = before.current ? `${before.current.file}#${before.current.network.name}@${before.current.network.cniVersion}` : '';
    const now = after.current ? `${after.current.file}#${after.current.network.name}@${after.current.network.cniVersion}` : '';
    if (was !== now) {
      this.log.info({ file: after.current?.file, network: after.current?.network.name }, now ? 'CNI default network selected' : 'no CNI network available');
    }
    if (JSON.stringify(before.rejected) !== JSON.stringify(after.rejected) && after.rejected.length > 0) {
      this.log.warn({ rejected: after.rejected }, 'CNI config files rejected');
    }
  }

  private emitIfChanged(): void {
    const status = this.statusNow();
    const text = JSON.stringify(status);
    if (text === this.lastEmitted) return;
    this.lastEmitted = text;
    for (const listener of this.listeners) {
      try {
        listener(status);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'CNI onChange listener threw');
      }
    }
  }

  async status(): Promise<CniStatus> {
    await this.initialLoad;
    return this.statusNow();
  }

  private statusNow(): CniStatus {
    const { current, rejected, usingLastGood, dirError } = this.state;
    const rejectedText = rejected.map((r) => `${path.basename(r.file)}: ${r.reason}`).join('; ');
    if (!current) {
      let message = dirError ?? `no valid CNI network config in ${this.opts.confDir}`;
      if (!dirError) message += rejected.length > 0 ? `: ${rejectedText}` : ' (no .conf, .conflist or .json file)';
      return { ready: false, reason: NOT_READY, message, rejected };
    }
    const network = networkInfo(current);
    if (usingLastGood) {
      return {
        ready: true,
        reason: 'UsingLastGoodConfig',
        message: `no valid CNI network config in ${this.opts.confDir} (${rejectedText}); still using network "${network.name}" from ${network.file}`,
        network,
        rejected,
      };
    }
    if (rejected.length > 0) {
      return { ready: true, message: `using network "${network.name}" from ${network.file}; skipped ${rejectedText}`, network, rejected };
    }
    return { ready: true, network, rejected };
  }

  onChange(listener: CniStatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.watcher?.close();
    this.listeners.clear();
  }

  // ---- attachments ---------------------------------------------------------------

  /** ADD on the default network. The attachment is recorded before any plugin runs. */
  async add(att: CniAttachment): Promise<CniResult> {
    const rt = runtimeArgs(att, true);
    await this.initialLoad;
    return this.attachmentLocks.run(lockKey(rt), async () => {
      await this.deleteLeftovers(rt);
      const current = this.state.current;
      if (!current) throw new CniNotReadyError(this.statusNow().message ?? 'no CNI network');
      return this.networkLocks.shared(current.network.name, () => this.addLocked(current.network, rt));
    });
  }

  /** The spec forbids a second ADD without DEL; a retried ADD first undoes the old one. */
  private async deleteLeftovers(rt: RuntimeArgs): Promise<void> {
    const reads = await findCacheEntries(this.opts.cacheDir, rt.containerId, rt.ifName);
    if (reads.length === 0) return;
    this.log.warn({ containerId: rt.containerId, ifName: rt.ifName }, 'ADD for an attachment that was never DELeted; deleting it first');
    await this.delLocked(reads, { containerId: rt.containerId, ifName: rt.ifName }, undefined);
  }

  private async addLocked(net: ResolvedNetwork, rt: RuntimeArgs): Promise<CniResult> {
    const entry = cacheEntry(net, rt);
    await this.writeCache(entry);
    let result: CniResult;
    try {
      result = await addChain(net, rt, this.chainContext());
    } catch (err) {
      await this.undoFailedAdd(net, rt, entry);
      throw err;
    }
    await this.writeCache({ ...entry, result: encodeResult(result, net.cniVersion) });
    return result;
  }

  /** ADD must be followed by DEL; doing it here means a failed ADD leaks nothing. */
  private async undoFailedAdd(net: ResolvedNetwork, rt: RuntimeArgs, entry: CniCacheEntry): Promise<void> {
    try {
      await delChain(net, rt, undefined, this.chainContext());
      await removeCacheFile(this.cacheFile(entry));
    } catch (err) {
      this.log.warn(
        { containerId: rt.containerId, network: net.name, err: (err as Error).message },
        'DEL after failed ADD failed; cache entry kept so del() or gc() can retry',
      );
    }
  }

  /** CHECK with the cached config and ADD result. */
  async check(att: CniAttachment): Promise<CniCheckOutcome> {
    const rt = runtimeArgs(att, true);
    await this.initialLoad;
    return this.attachmentLocks.run(lockKey(rt), async () => {
      const entries = this.usable(await findCacheEntries(this.opts.cacheDir, rt.containerId, rt.ifName));
      if (entries.length === 0) {
        throw new FailedPreconditionError(`CHECK ${rt.containerId}/${rt.ifName}: no cached ADD (CHECK is only valid after ADD)`);
      }
      let outcome: CniCheckOutcome = { ran: false };
      for (const { entry } of entries) {
        outcome = await this.networkLocks.shared(entry.networkName, () => this.checkEntry(entry, rt));
      }
      return outcome;
    });
  }

  private async checkEntry(entry: CniCacheEntry, rt: RuntimeArgs): Promise<CniCheckOutcome> {
    const net = await this.networkFromCache(entry);
    if (net.disableCheck) return { ran: false, reason: `network "${net.name}" sets disableCheck` };
    if (!versionAtLeast(net.cniVersion, '0.4.0')) {
      return { ran: false, reason: `network "${net.name}" uses CNI ${net.cniVersion}; CHECK needs 0.4.0 or later` };
    }
    if (!entry.result) {
      throw new FailedPreconditionError(`CHECK ${rt.containerId}/${rt.ifName}: the ADD on network "${net.name}" did not complete`);
    }
    const prev = parseResult(entry.result, net.cniVersion);
    await checkChain(net, cachedRuntimeArgs(entry, rt.netns), prev, this.chainContext());
    return { ran: true };
  }

  /**
   * DEL, idempotent as the spec demands: from the cache when there is an entry (its
   * config, args and result, whatever the conf dir says now), else with the current
   * network and no prevResult; success when there is nothing left to delete.
   */
  async del(req: CniDelRequest): Promise<void> {
    const ref = { containerId: req.containerId, ifName: req.ifName ?? DEFAULT_IFNAME };
    validateRef(ref);
    await this.initialLoad;
    await this.attachmentLocks.run(lockKey(ref), async () => {
      const reads = await findCacheEntries(this.opts.cacheDir, ref.containerId, ref.ifName);
      await this.delLocked(reads, ref, req);
    });
  }

  private async delLocked(reads: CacheRead[], ref: Required<CniAttachmentRef>, req: CniDelRequest | undefined): Promise<void> {
    const entries = this.usable(reads);
    const corrupt = reads.filter((r): r is Extract<CacheRead, { state: 'corrupt' }> => r.state === 'corrupt');
    const errors: Error[] = [];
    for (const { entry, file } of entries) {
      try {
        await this.networkLocks.shared(entry.networkName, () => this.delEntry(entry, file, req?.netns));
      } catch (err) {
        errors.push(err as Error);
      }
    }
    if (entries.length === 0) await this.delWithoutCache(ref, req);
    if (errors.length > 0) throw errors[0];
    for (const c of corrupt) {
      this.log.warn({ file: c.file, network: networkOfCorruptFile(c.file, ref.containerId, ref.ifName) }, 'removing corrupt CNI cache file after DEL');
      await removeCacheFile(c.file);
    }
  }

  private async delWithoutCache(ref: Required<CniAttachmentRef>, req: CniDelRequest | undefined): Promise<void> {
    const current = this.state.current;
    if (!current) {
      this.log.warn({ containerId: ref.containerId, ifName: ref.ifName }, 'DEL with no cache entry and no CNI network: nothing to do');
      return;
    }
    const rt: RuntimeArgs = {
      ...runtimeArgs({ ...ref, netns: '', args: req?.args, capabilityArgs: req?.capabilityArgs }, false),
      netns: await existingNetns(req?.netns),
    };
    await this.networkLocks.shared(current.network.name, () => delChain(current.network, rt, undefined, this.chainContext()));
  }

  /** DEL of one cached attachment, then its entry goes. Callers hold the locks. */
  private async delEntry(entry: CniCacheEntry, file: string, netns: string | undefined): Promise<void> {
    const net = await this.networkFromCache(entry).catch((err: Error) => err);
    if (net instanceof Error) {
      if (net instanceof UnusableCacheError) {
        // Nothing could ever DEL with it; keeping it would make the pod undeletable.
        this.log.error({ file, err: net.message }, 'cached CNI config unusable; dropping the entry without DEL');
        await removeCacheFile(file);
        return;
      }
      throw net;
    }
    let prev: CniResult | undefined;
    if (entry.result) {
      try {
        prev = parseResult(entry.result, net.cniVersion);
      } catch (err) {
        this.log.warn({ file, err: (err as Error).message }, 'cached CNI result unreadable; DEL without prevResult');
      }
    }
    const rt = cachedRuntimeArgs(entry, await existingNetns(netns ?? entry.netns));
    await delChain(net, rt, prev, this.chainContext());
    await removeCacheFile(file);
  }

  private async networkFromCache(entry: CniCacheEntry): Promise<ResolvedNetwork> {
    const parsed = parseConfig(entryConfigBytes(entry), 'list');
    if (!parsed.ok) throw new UnusableCacheError(`cached config of network "${entry.networkName}": ${parsed.reason}`);
    const pinned = typeof entry.result?.cniVersion === 'string' ? entry.result.cniVersion : undefined;
    const resolved = await resolveNetwork(parsed.list, this.resolveContext(), pinned);
    if (!resolved.ok) {
      throw new InternalError(
        `cannot run cached network "${entry.networkName}" for ${entry.containerId}/${entry.ifName}: ${resolved.reason}`,
      );
    }
    return resolved.network;
  }

  private usable(reads: CacheRead[]): { entry: CniCacheEntry; file: string }[] {
    const ok: { entry: CniCacheEntry; file: string }[] = [];
    for (const r of reads) {
      if (r.state === 'ok') ok.push({ entry: r.entry, file: r.file });
      else this.log.warn({ file: r.file, reason: r.reason }, 'ignoring corrupt CNI cache file');
    }
    return ok;
  }

  // ---- network-wide verbs --------------------------------------------------------

  /**
   * GC (1.1): DEL every cached attachment of the default network that is not in
   * `valid`, then send GC to the plugins with the valid list. Holds the network
   * exclusively, so no ADD/DEL on it interleaves.
   */
  async gc(valid: CniAttachmentRef[], opts: CniGcOptions = {}): Promise<CniGcReport> {
    await this.initialLoad;
    const current = this.state.current;
    if (!current) return { skipped: 'no CNI network', deleted: [], errors: [] };
    const net = current.network;
    if (net.disableGC) return { network: net.name, skipped: `network "${net.name}" sets disableGC`, deleted: [], errors: [] };
    const refs = valid.map((v) => ({ containerId: v.containerId, ifName: v.ifName ?? DEFAULT_IFNAME }));
    const keep = new Set(refs.map((r) => `${r.containerId}\0${r.ifName}`));
    const startedAt = Date.now();
    return this.networkLocks.exclusive(net.name, async () => {
      const report: CniGcReport = { network: net.name, deleted: [], errors: [] };
      const entries = this.usable(await readAllCacheEntries(this.opts.cacheDir)).filter((e) => e.entry.networkName === net.name);
      // Attachments we keep on purpose (too young to judge, or whose DEL failed) are
      // still in use as far as the plugins know: GC must not free their IPs.
      const spared: Array<{ containerId: string; ifName: string }> = [];
      for (const { entry, file } of entries) {
        if (keep.has(`${entry.containerId}\0${entry.ifName}`)) continue;
        if (opts.minAgeMs && (await isYoungerThan(file, startedAt, opts.minAgeMs))) {
          spared.push({ containerId: entry.containerId, ifName: entry.ifName });
          continue;
        }
        try {
          await this.delEntry(entry, file, undefined);
          report.deleted.push({ containerId: entry.containerId, ifName: entry.ifName });
        } catch (err) {
          report.errors.push(err as Error);
          spared.push({ containerId: entry.containerId, ifName: entry.ifName });
        }
      }
      if (versionAtLeast(net.cniVersion, '1.1.0')) {
        const list = [...refs, ...spared].map((r) => ({ containerID: r.containerId, ifname: r.ifName }));
        report.errors.push(...(await gcChain(net, list, this.chainContext())));
      }
      if (report.deleted.length > 0 || report.errors.length > 0) {
        this.log.info({ network: net.name, deleted: report.deleted, errors: report.errors.map((e) => e.message) }, 'CNI GC done');
      }
      return report;
    });
  }

  /**
   * The result of the cached ADD for an attachment, on any network: what a runtime that
   * lost its own state needs to learn a pod's IPs again. Undefined when there is none.
   */
  async cachedResult(ref: CniAttachmentRef): Promise<CniResult | undefined> {
    const reads = await findCacheEntries(this.opts.cacheDir, ref.containerId, ref.ifName ?? 'eth0');
    for (const read of reads) {
      if (read.state !== 'ok' || !read.entry.result) continue;
      return parseResult(read.entry.result, String(read.entry.result.cniVersion ?? '1.0.0'));
    }
    return undefined;
  }

  /** STATUS (1.1). Networks older than 1.1 cannot say, and count as ready (as in libcni). */
  async pluginStatus(): Promise<CniPluginStatus> {
    await this.initialLoad;
    const current = this.state.current;
    if (!current) return { ready: false, reason: NOT_READY, message: this.statusNow().message ?? 'no CNI network' };
    if (!versionAtLeast(current.network.cniVersion, '1.1.0')) return { ready: true };
    try {
      await statusChain(current.network, this.chainContext());
      return { ready: true };
    } catch (err) {
      return { ready: false, reason: NOT_READY, message: (err as Error).message, error: err as Error };
    }
  }

  // ---- plumbing ------------------------------------------------------------------

  private chainContext(): ChainContext {
    return { binDirs: this.opts.binDirs, timeoutMs: this.timeoutMs, logger: this.log, observer: this.opts.invokeObserver };
  }

  private resolveContext(): ResolveContext {
    return { ...this.chainContext(), versionCache: this.versionCache };
  }

  private cacheFile(entry: CniCacheEntry): string {
    return path.join(this.opts.cacheDir, 'results', `${entry.networkName}-${entry.containerId}-${entry.ifName}`);
  }

  private async writeCache(entry: CniCacheEntry): Promise<void> {
    try {
      await writeCacheEntry(this.opts.cacheDir, entry, this.opts.cacheHooks);
    } catch (err) {
      throw new CniCacheError(`writing CNI cache for ${entry.containerId}/${entry.ifName}: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** Cached config that does not parse: no DEL can ever be built from it. */
class UnusableCacheError extends InternalError {}

export function createCniEngine(opts: CniEngineOptions): CniEngine {
  return new CniEngine(opts);
}

// ---- helpers -------------------------------------------------------------------

function networkInfo(loaded: LoadedNetwork): CniNetworkInfo {
  return {
    name: loaded.network.name,
    file: loaded.file,
    cniVersion: loaded.network.cniVersion,
    config: loaded.network.conf.raw,
  };
}

function lockKey(ref: { containerId: string; ifName: string }): string {
  return `${ref.containerId}\0${ref.ifName}`;
}

function validateRef(ref: Required<CniAttachmentRef>): void {
  if (!CONTAINER_ID.test(ref.containerId)) {
    throw new InvalidArgumentError(`container id ${JSON.stringify(ref.containerId)} must match ${CONTAINER_ID.source}`);
  }
  const name = ref.ifName;
  if (name === '' || name === '.' || name === '..' || name.length > 15 || /[/:\s\0]/.test(name)) {
    throw new InvalidArgumentError(`interface name ${JSON.stringify(name)} is not a valid Linux interface name`);
  }
}

/** CNI_ARGS is "K=V;K=V": a ';' or '=' in the wrong place would inject other keys. */
function cniArgPairs(args: Record<string, string> | undefined): [string, string][] {
  const pairs: [string, string][] = [['IgnoreUnknown', '1']];
  for (const [k, v] of Object.entries(args ?? {})) {
    if (k === 'IgnoreUnknown') continue;
    if (k === '' || /[=;\0]/.test(k)) throw new InvalidArgumentError(`CNI_ARGS key ${JSON.stringify(k)} is invalid`);
    if (typeof v !== 'string' || /[;\0]/.test(v)) throw new InvalidArgumentError(`CNI_ARGS value for ${k} is invalid`);
    pairs.push([k, v]);
  }
  return pairs;
}

function runtimeArgs(att: CniAttachment, needNetns: boolean): RuntimeArgs {
  const ref = { containerId: att.containerId, ifName: att.ifName ?? DEFAULT_IFNAME };
  validateRef(ref);
  if (needNetns && (typeof att.netns !== 'string' || att.netns === '' || att.netns.includes('\0'))) {
    throw new InvalidArgumentError('netns path is required');
  }
  const capabilityArgs = Object.fromEntries(Object.entries(att.capabilityArgs ?? {}).filter(([, v]) => v !== undefined));
  return { ...ref, netns: att.netns, cniArgs: cniArgPairs(att.args), capabilityArgs };
}

function cachedRuntimeArgs(entry: CniCacheEntry, netns: string): RuntimeArgs {
  return {
    containerId: entry.containerId,
    ifName: entry.ifName,
    netns,
    cniArgs: entry.cniArgs ?? [['IgnoreUnknown', '1']],
    capabilityArgs: entry.capabilityArgs ?? {},
  };
}

function cacheEntry(net: ResolvedNetwork, rt: RuntimeArgs): CniCacheEntry {
  return {
    kind: CACHE_KIND,
    containerId: rt.containerId,
    config: net.conf.bytes.toString('base64'),
    ifName: rt.ifName,
    networkName: net.name,
    netns: rt.netns,
    cniArgs: rt.cniArgs,
    capabilityArgs: rt.capabilityArgs,
  };
}

/** statfs(2) type of nsfs, the filesystem of a live namespace handle. */
const NSFS_MAGIC = 0x6e736673;

/**
 * A netns that is gone is passed as "" (SPEC: without CNI_NETNS plugins clean up what
 * they can), rather than a dangling path some plugins would fail on. "Gone" includes a
 * path that still exists but no longer holds a namespace: Docker unmounts a stopped
 * container's netns and leaves the empty file, on which the bridge plugin fails with
 * "unknown FS magic".
 */
async function existingNetns(netns: string | undefined): Promise<string> {
  if (!netns) return '';
  try {
    const fs = await statfs(netns);
    return fs.type === NSFS_MAGIC ? netns : '';
  } catch {
    return '';
  }
}

async function isYoungerThan(file: string, now: number, ageMs: number): Promise<boolean> {
  const st = await stat(file).catch(() => undefined);
  return st !== undefined && now - st.mtimeMs < ageMs;
}
