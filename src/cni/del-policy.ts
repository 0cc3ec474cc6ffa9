/**
 * When a DEL that fails is retried, and when it is given up on.
 *
 * The spec asks two things that pull apart. SPEC "DEL": plugins "should generally
 * complete a DEL action without error even if some resources are missing" (an IPAM
 * plugin releases its IP "even if the container network namespace no longer exists"),
 * and a runtime "must delete that cached response on a successful DEL" — so a failed
 * DEL is normally retried: the cache entry stays, the error goes back to the kubelet,
 * the kubelet calls Stop/Remove again. But CRI requires that a pod can always be
 * removed, and a DEL that can never succeed would keep the entry, and the pod, forever.
 *
 * So a failure is judged:
 *  - permanent, given up at once: a plugin of the cached list (or the IPAM plugin it
 *    delegates to) is missing from the bin dirs or refused by our own name checks (no
 *    retry can run it); the ADD never succeeded (the entry has no result: whatever the
 *    chain got half-way is all there is to undo, and the best-effort DEL just ran); the
 *    pod's network namespace is gone and a plugin answered DEL with an error of its
 *    own (not "try again later"): with CNI_NETNS empty it has nothing left to wait for.
 *  - transient, retried: a timeout, a plugin that could not be started, codes 11/50/51
 *    ("try again later", "plugin not available"), or any error while the namespace
 *    still exists. Bounded: once the namespace is gone, after `maxFailures` failed
 *    DELs or `maxFailingMs` of failing, it is given up too.
 *
 * Giving up means: the best-effort DEL has run every plugin we could run; what
 * host-local reserved for the attachment is released by hand (host-local-release.ts);
 * the cache entry goes; an error log names what may be left (iptables rules of the
 * plugins that failed, the IPs of an IPAM we cannot release). For 1.1 networks the
 * periodic GC then tells the plugins the attachment is no longer valid.
 */
import { CniPluginError } from './errors.js';

/** Failures once the namespace is gone before DEL is given up (each Stop/Remove/GC is one). */
export const DEFAULT_MAX_DEL_FAILURES = 3;
/** ... or how long it may keep failing. */
export const DEFAULT_MAX_DEL_FAILING_MS = 10 * 60_000;

/** CNI codes that ask to be called again later (SPEC "Error codes": 11, 50, 51). */
const RETRY_LATER_CODES: ReadonlySet<number> = new Set([11, 50, 51]);

export interface DelLimits {
  maxFailures: number;
  maxFailingMs: number;
}

export interface DelFailureFacts {
  /** Every plugin's DEL failure; empty when the plugins that ran succeeded but some could not run. */
  errors: Error[];
  /** Plugins of the list we could not or would not run, with why. */
  unrunnable: string[];
  /** The cache entry holds the result of a completed ADD. */
  addCompleted: boolean;
  /** The namespace was passed as "" (gone, or never known). */
  netnsGone: boolean;
  /** Failed DELs of this attachment so far, this one included. */
  failures: number;
  /** How long this attachment's DEL has been failing. */
  failingMs: number;
}

export type DelVerdict = { giveUp: false } | { giveUp: true; why: string };

export function judgeDelFailure(f: DelFailureFacts, limits: DelLimits): DelVerdict {
  if (f.unrunnable.length > 0) return { giveUp: true, why: `cannot run ${f.unrunnable.join('; ')}` };
  if (!f.addCompleted) return { giveUp: true, why: 'no completed ADD is recorded for this attachment' };
  if (!f.netnsGone) return { giveUp: false };
  if (f.errors.some(isPluginRefusal)) return { giveUp: true, why: 'the network namespace is gone and a plugin refuses DEL without it' };
  if (f.failures >= limits.maxFailures) return { giveUp: true, why: `DEL failed ${f.failures} times after the network namespace was gone` };
  if (f.failingMs >= limits.maxFailingMs) {
    return { giveUp: true, why: `DEL kept failing for ${Math.round(f.failingMs / 1000)} s after the network namespace was gone` };
  }
  return { giveUp: false };
}

/** The plugin ran and said no, for a reason other than "later". */
function isPluginRefusal(err: Error): boolean {
  // An exit status means it ran to the end; no status means it could not start or was killed.
  if (!(err instanceof CniPluginError) || typeof err.exitCode !== 'number') return false;
  return err.cniCode === undefined || !RETRY_LATER_CODES.has(err.cniCode);
}

/** Failed DEL attempts per attachment, in memory: a restart grants a few more tries, no more. */
export class DelFailureLog {
  private readonly seen = new Map<string, { count: number; since: number }>();

  record(key: string, now = Date.now()): { failures: number; failingMs: number } {
    const entry = this.seen.get(key) ?? { count: 0, since: now };
    entry.count++;
    this.seen.set(key, entry);
    return { failures: entry.count, failingMs: now - entry.since };
  }

  clear(key: string): void {
    this.seen.delete(key);
  }
}
