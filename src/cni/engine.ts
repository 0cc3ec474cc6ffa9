/**
 * The CNI engine: the default network from the conf dir, attachments through the
 * plugin chain, and the cache that lets DEL and GC work from what ADD actually did.
 */
import { crashPoint } from '../crash-point.js';
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
import {
  addChain,
  checkChain,
  delChainCollect,
  gcChain,
  statusChain,
  type ChainContext,
  type GcAttachment,
  type RuntimeArgs,
} from './chain.js';
import { parseConfig, type PluginConf } from './config.js';
import { planDel } from './del-plan.js';
import {
  DEFAULT_MAX_DEL_FAILING_MS,
  DEFAULT_MAX_DEL_FAILURES,
  DelFailureLog,
  judgeDelFailure,
  type DelLimits,
} from './del-policy.js';
import { releaseHostLocal, reservedIps } from './host-local-release.js';
import { CniCacheError, CniNotReadyError } from './errors.js';
import { KeyedMutex, NetworkLocks } from './locks.js';
import { findPlugin } from './plugins.js';
import { scanConfDir } from './scan.js';
import { resolveNetwork, VersionCache, type ResolveContext, type ResolvedNetwork } from './resolve.js';
import { encodeResult, parseResult, podIpsFromResult, type CniResult } from './result.js';
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
  private readonly delFailures = new DelFailureLog();
  private readonly delLimits: DelLimits;

  constructor(private readonly opts: CniEngineOptions) {
    const base = opts.logger ?? silentLogger;
    // Callers often pass a logger already bound to component=cni; do not bind it twice.
    this.log = 'component' in base.bindings() ? base : base.child({ component: 'cni' });
    this.timeoutMs = opts.pluginTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.delLimits = {
      maxFailures: opts.delLimits?.maxFailures ?? DEFAULT_MAX_DEL_FAILURES,
      maxFailingMs: opts.delLimits?.maxFailingMs ?? DEFAULT_MAX_DEL_FAILING_MS,
    };
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
    const { chosen, rejected, dirError } = await scanConfDir(this.opts.confDir, this.resolveContext());
    return { ...(chosen ? { current: chosen } : {}), rejected, usingLastGood: false, ...(dirError !== undefined ? { dirError } : {}) };
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
    const entry = cacheEntry(net, rt, this.opts.owner);
    await this.writeCache(entry);
    crashPoint('cni-add:after-cache-entry');
    let result: CniResult;
    let partial: CniResult | undefined;
    try {
      result = await addChain(net, rt, this.chainContext(), (r) => (partial = r));
    } catch (err) {
      await this.undoFailedAdd(net, rt, entry, partial);
      throw err;
    }
    crashPoint('cni-add:after-chain');
    await this.writeCache({ ...entry, result: encodeResult(result, net.cniVersion) });
    return result;
  }

  /**
   * ADD must be followed by DEL; doing it here means a failed ADD leaks nothing. The
   * DEL gets what the chain produced before it failed as prevResult: without it a
   * plugin that keys its cleanup on the pod's IPs (firewall) finds nothing to remove.
   * If that DEL fails too it is not retried (del-policy.ts: the ADD never succeeded).
   */
  private async undoFailedAdd(net: ResolvedNetwork, rt: RuntimeArgs, entry: CniCacheEntry, partial: CniResult | undefined): Promise<void> {
    const file = this.cacheFile(entry);
    const errors = await delChainCollect(net, rt, partial, this.chainContext());
    try {
      if (errors.length === 0) {
        await removeCacheFile(file);
        this.delFailures.clear(file);
        return;
      }
      await this.settleDelFailure({ entry, file, plugins: net.conf.plugins, errors, skipped: [], doomed: new Map(), netnsGone: rt.netns === '' });
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

  /**
   * No cache entry: nothing recorded an ADD (we write the entry before any plugin
   * runs), so this DEL is a courtesy to the plugins and a failure is not retried.
   */
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
    const net = current.network;
    const errors = await this.networkLocks.shared(net.name, () => delChainCollect(net, rt, undefined, this.chainContext()));
    if (errors.length === 0) return;
    const entry = { ...cacheEntry(net, rt, this.opts.owner) };
    await this.settleDelFailure({ entry, plugins: net.conf.plugins, errors, skipped: [], doomed: new Map(), netnsGone: rt.netns === '' });
  }

  /**
   * DEL of one cached attachment, then its entry goes. Plugins that can no longer run
   * are skipped and the rest still run; a failure is judged by del-policy.ts (thrown
   * to be retried, or given up on). Callers hold the locks.
   */
  private async delEntry(entry: CniCacheEntry, file: string, netns: string | undefined): Promise<void> {
    const parsed = parseConfig(entryConfigBytes(entry), 'list');
    if (!parsed.ok) {
      // Nothing could ever DEL with it; keeping it would make the pod undeletable.
      this.log.error({ file, err: `cached config of network "${entry.networkName}": ${parsed.reason}` }, 'cached CNI config unusable; dropping the entry without DEL');
      await removeCacheFile(file);
      this.delFailures.clear(file);
      return;
    }
    const pinned = typeof entry.result?.cniVersion === 'string' ? entry.result.cniVersion : undefined;
    const plan = await planDel(parsed.list, this.resolveContext(), pinned);
    const rt = cachedRuntimeArgs(entry, await existingNetns(netns ?? entry.netns));
    const errors: Error[] = plan.error ? [plan.error] : [];
    if (plan.network) {
      const prev = this.cachedPrevResult(entry, plan.network, file) ?? (await standInPrevResult(parsed.list.plugins, entry, plan.network));
      errors.push(...(await delChainCollect(plan.network, rt, prev, this.chainContext())));
      crashPoint('cni-del:after-chain');
    }
    if (errors.length === 0 && plan.skipped.length === 0) {
      await removeCacheFile(file);
      this.delFailures.clear(file);
      return;
    }
    await this.settleDelFailure({
      entry,
      file,
      plugins: parsed.list.plugins,
      errors,
      skipped: plan.skipped,
      doomed: plan.doomed,
      netnsGone: rt.netns === '',
    });
  }

  private cachedPrevResult(entry: CniCacheEntry, net: ResolvedNetwork, file: string): CniResult | undefined {
    if (!entry.result) return undefined;
    try {
      return parseResult(entry.result, net.cniVersion);
    } catch (err) {
      this.log.warn({ file, err: (err as Error).message }, 'cached CNI result unreadable; DEL without prevResult');
      return undefined;
    }
  }

  /** Throws the first error when the DEL is to be retried; gives up on the attachment otherwise. */
  private async settleDelFailure(f: FailedDel): Promise<void> {
    const key = f.file ?? `nocache\0${lockKey(f.entry)}`;
    const { failures, failingMs } = this.delFailures.record(key);
    const doomedHit = f.errors.flatMap((e) => {
      const why = f.doomed.get(String((e as { plugin?: unknown }).plugin));
      return why === undefined ? [] : [why];
    });
    const verdict = judgeDelFailure(
      { errors: f.errors, unrunnable: [...f.skipped, ...doomedHit], addCompleted: Boolean(f.entry.result), netnsGone: f.netnsGone, failures, failingMs },
      this.delLimits,
    );
    if (!verdict.giveUp) {
      this.log.warn(
        { containerId: f.entry.containerId, ifName: f.entry.ifName, network: f.entry.networkName, failures, err: f.errors[0]?.message },
        'CNI DEL failed; it will be retried',
      );
      throw f.errors[0];
    }
    await this.giveUpDel(f, key, verdict.why);
  }

  /**
   * The last resort of del-policy.ts: free host-local's reservations by hand, forget
   * the attachment, and say loudly what may be left.
   */
  private async giveUpDel(f: FailedDel, key: string, why: string): Promise<void> {
    const { containerId, ifName, networkName } = f.entry;
    let released: string[] = [];
    try {
      released = await releaseHostLocal(f.plugins, networkName, containerId, ifName);
    } catch (err) {
      this.log.error({ containerId, ifName, network: networkName, err: (err as Error).message }, 'cannot release host-local reservations');
    }
    if (f.file) await removeCacheFile(f.file);
    this.delFailures.clear(key);
    const notCleaned = [
      ...new Set([...f.errors.map((e) => String((e as { plugin?: unknown }).plugin ?? 'unknown')), ...f.skipped]),
    ];
    this.log.error(
      {
        containerId,
        ifName,
        network: networkName,
        why,
        errors: f.errors.map((e) => e.message),
        notCleanedBy: notCleaned,
        ipsOfAdd: addResultIps(f.entry, ifName),
        releasedHostLocalIps: released,
      },
      `CNI DEL given up (${why}); attachment forgotten. What the plugins in notCleanedBy set up (iptables rules, ` +
        `reservations of an IPAM other than host-local) may remain`,
    );
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
   * Whether an attachment is recorded at all, with its ADD's result when the ADD
   * completed: an entry without a result is an ADD that was cut short, which still
   * needs a DEL. What a runtime that lost its own state needs to learn a pod's IPs again.
   */
  async cachedAttachment(ref: CniAttachmentRef): Promise<{ result?: CniResult } | undefined> {
    const ok = this.usable(await findCacheEntries(this.opts.cacheDir, ref.containerId, ref.ifName ?? DEFAULT_IFNAME));
    if (ok.length === 0) return undefined;
    const completed = ok.find(({ entry }) => entry.result);
    if (!completed?.entry.result) return {};
    const result = completed.entry.result;
    return { result: parseResult(result, String(result.cniVersion ?? '1.0.0')) };
  }

  // ---- garbage collection of our leaked attachments --------------------------------

  /**
   * Collects attachments we made whose container is gone: kill -9 in the middle of
   * an ADD plus a lost state dir leaves a cache entry (and an IP) nobody would DEL.
   * Only entries marked with our `owner` are candidates, so another runtime's entries
   * in a shared cache dir are never touched; `live` lists our containers that still
   * exist. Each stale entry gets a DEL from its cached config (SPEC 1.1: GC is no
   * substitute for DEL), judged by del-policy.ts like any other. Then, for a 1.1
   * network, GC tells the plugins which attachments are valid: every cache entry of
   * the network, whoever made it, and every live container of ours.
   */
  async collectStale(live: () => Promise<CniAttachmentRef[]>, opts: CniGcOptions = {}): Promise<CniGcReport[]> {
    const owner = this.opts.owner;
    if (owner === undefined) return [];
    await this.initialLoad;
    const networks = new Set<string>();
    for (const { entry } of this.usable(await readAllCacheEntries(this.opts.cacheDir))) {
      if (entry.criShimOwner === owner) networks.add(entry.networkName);
    }
    const current = this.state.current?.network;
    const gcNet = current && versionAtLeast(current.cniVersion, '1.1.0') && !current.disableGC ? current : undefined;
    if (gcNet) networks.add(gcNet.name);
    const reports: CniGcReport[] = [];
    for (const name of [...networks].sort()) {
      const net = gcNet?.name === name ? gcNet : undefined;
      reports.push(await this.networkLocks.exclusive(name, () => this.collectNetwork(name, owner, live, opts.minAgeMs ?? 0, net)));
    }
    return reports;
  }

  private async collectNetwork(
    name: string,
    owner: string,
    live: () => Promise<CniAttachmentRef[]>,
    minAgeMs: number,
    gcNet: ResolvedNetwork | undefined,
  ): Promise<CniGcReport> {
    const report: CniGcReport = { network: name, deleted: [], errors: [] };
    // Listed under the network's lock: no ADD on it runs now, and every ADD's container
    // exists before its cache entry is written, so an entry whose container is missing
    // from this list belongs to a container that is gone.
    const liveRefs = await live();
    const liveIds = new Set(liveRefs.map((r) => r.containerId));
    const now = Date.now();
    const entries = this.usable(await readAllCacheEntries(this.opts.cacheDir)).filter((e) => e.entry.networkName === name);
    const valid: GcAttachment[] = [];
    for (const { entry, file } of entries) {
      const ref = { containerId: entry.containerId, ifName: entry.ifName };
      const stale = entry.criShimOwner === owner && !liveIds.has(entry.containerId) && !(minAgeMs > 0 && (await isYoungerThan(file, now, minAgeMs)));
      if (stale) {
        try {
          await this.delEntry(entry, file, undefined);
          report.deleted.push(ref);
          continue;
        } catch (err) {
          report.errors.push(err as Error);
        }
      }
      valid.push({ containerID: entry.containerId, ifname: entry.ifName });
    }
    if (gcNet) {
      for (const r of liveRefs) valid.push({ containerID: r.containerId, ifname: r.ifName ?? DEFAULT_IFNAME });
      const unique = [...new Map(valid.map((v) => [`${v.containerID}\0${v.ifname}`, v])).values()];
      report.errors.push(...(await gcChain(gcNet, unique, this.chainContext())));
    }
    if (report.deleted.length > 0 || report.errors.length > 0) {
      this.log.info({ network: name, deleted: report.deleted, errors: report.errors.map((e) => e.message) }, 'collected stale CNI attachments');
    }
    return report;
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

/** A DEL that did not fully succeed, with what is needed to judge and settle it. */
interface FailedDel {
  entry: CniCacheEntry;
  /** The cache file; absent for a DEL without one. */
  file?: string;
  /** The cached list's plugins (for host-local's data dirs). */
  plugins: readonly PluginConf[];
  errors: Error[];
  skipped: string[];
  doomed: ReadonlyMap<string, string>;
  netnsGone: boolean;
}

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

/**
 * An ADD cut short (kill -9 before its result was cached) left no prevResult, and a
 * plugin that keys its cleanup on the pod's IPs (firewall: its per-IP rules) would
 * clean nothing. The IPs host-local holds for the attachment are the ones the chain
 * got: DEL gets them as a stand-in result (host prefix lengths; SPEC allows omitting
 * prevResult on DEL when not available, and this is all that is available).
 */
async function standInPrevResult(plugins: readonly PluginConf[], entry: CniCacheEntry, net: ResolvedNetwork): Promise<CniResult | undefined> {
  if (!versionAtLeast(net.cniVersion, '0.4.0')) return undefined;
  const ips = await reservedIps(plugins, entry.networkName, entry.containerId, entry.ifName).catch(() => []);
  if (ips.length === 0) return undefined;
  const addresses = ips.map((ip) => ({ address: `${ip}/${ip.includes(':') ? 128 : 32}` }));
  try {
    return parseResult({ cniVersion: net.cniVersion, ips: addresses }, net.cniVersion);
  } catch {
    return undefined;
  }
}

function addResultIps(entry: CniCacheEntry, ifName: string): string[] {
  if (!entry.result) return [];
  try {
    return podIpsFromResult(parseResult(entry.result, String(entry.result.cniVersion ?? '1.0.0')), ifName).ips;
  } catch {
    return [];
  }
}

function cacheEntry(net: ResolvedNetwork, rt: RuntimeArgs, owner: string | undefined): CniCacheEntry {
  return {
    kind: CACHE_KIND,
    ...(owner !== undefined ? { criShimOwner: owner } : {}),
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
