/**
 * Where to pick up a container's log after a restart, without losing or repeating a
 * line.
 *
 * Docker's json-file copy of the log is the source; its `since` filter keeps messages
 * whose timestamp is >= since (nanosecond precision, inclusive). Timestamps are not
 * strictly increasing in the file: stdout and stderr are stamped by two goroutines
 * before they take the file's lock, and every piece of a partial line — the closing one
 * included — carries the time of its FIRST piece (Docker 20.10's copier, `partialTS`).
 * So "the last timestamp we wrote" is not a position. But the same filter applied to
 * what we already wrote and to what Docker replays selects the same sequence, in the
 * same order: resume with some `since` and drop as many entries as we had already
 * written with a timestamp >= that.
 *
 * Normally `since = newest - WINDOW`: the window only has to cover the disorder between
 * the streams (microseconds), so a second is plenty and keeps the count small. But a
 * line still open on a stream (its P pieces written, its F not yet) may have started
 * long before that — a slow progress bar without a TTY sends a 16 KiB piece now and
 * then, all stamped with its first time — and its remaining pieces would be filtered
 * out. So each stream's open series is tracked with a count of the entries written
 * since its start that Docker's filter would replay, and `since` goes back to the
 * oldest open series' time when that is older.
 */
import type { LogStream, LogTag } from './cri-format.js';

export const WINDOW_NS = 1_000_000_000n;

export interface ResumePoint {
  /** Unix ns for Docker's `since`; 0 = from the beginning. */
  since: bigint;
  /** Entries Docker will replay that are already written. */
  skip: number;
}

/** What the window needs of one entry written to the CRI file. */
export interface WindowEntry {
  ts: bigint;
  stream: LogStream;
  tag: LogTag;
}

/** A line of one stream whose P pieces are written and whose F is not yet. */
export interface OpenSeries {
  stream: LogStream;
  /** The time all its pieces carry: when its first piece was logged. */
  ts: bigint;
  /** Entries written (of both streams) with a timestamp >= ts: what a resume at `ts` skips. */
  count: number;
}

/** The window's state, as kept in the checkpoint across a log reopen. */
export interface WindowState {
  stamps: bigint[];
  open: OpenSeries[];
}

/**
 * The timestamps of the entries written lately (all of those >= newest - WINDOW_NS),
 * and each stream's open partial series.
 */
export class ResumeWindow {
  private stamps: bigint[] = [];
  /** stamps[0..head) are known to be stale. */
  private head = 0;
  private newest = -1n;
  private readonly open = new Map<LogStream, OpenSeries>();

  constructor(state?: WindowState) {
    if (!state) return;
    for (const ts of state.stamps) this.stamp(ts);
    for (const o of state.open) this.open.set(o.stream, { ...o });
  }

  /** One more entry written to the file (in file order). */
  add(e: WindowEntry): void {
    for (const o of this.open.values()) if (e.ts >= o.ts) o.count++;
    const open = this.open.get(e.stream);
    if (e.tag === 'P' && !open) {
      // A new series. Docker stamps its first piece when it logs it, so it is within the
      // window of the newest: the window holds every entry already written that a
      // resume at its time would replay.
      this.open.set(e.stream, { stream: e.stream, ts: e.ts, count: 1 + this.countFrom(e.ts) });
    } else if (e.tag === 'F' && open) {
      this.open.delete(e.stream);
    }
    this.stamp(e.ts);
  }

  private stamp(ts: bigint): void {
    if (ts > this.newest) this.newest = ts;
    const floor = this.newest - WINDOW_NS;
    if (ts < floor) return;
    this.stamps.push(ts);
    // Mostly in order: stale ones leave from the front; the few out-of-order ones left
    // in the middle are filtered by prune().
    while (this.head < this.stamps.length && this.stamps[this.head]! < floor) this.head++;
    if (this.head > 1024 && this.head * 2 > this.stamps.length) this.prune();
  }

  private countFrom(since: bigint): number {
    let n = 0;
    for (let i = this.head; i < this.stamps.length; i++) if (this.stamps[i]! >= since) n++;
    return n;
  }

  private prune(): void {
    const floor = this.newest - WINDOW_NS;
    this.stamps = this.stamps.slice(this.head).filter((ts) => ts >= floor);
    this.head = 0;
  }

  point(): ResumePoint {
    if (this.newest < 0n) return { since: 0n, skip: 0 };
    this.prune();
    let since = this.newest - WINDOW_NS;
    let skip = this.stamps.length;
    for (const o of this.open.values()) {
      if (o.ts < since) {
        since = o.ts;
        skip = o.count;
      }
    }
    return { since: since > 0n ? since : 0n, skip };
  }

  /** The open series, oldest first. */
  get openSeries(): OpenSeries[] {
    return [...this.open.values()].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0)).map((o) => ({ ...o }));
  }

  /**
   * Forgets the open series: for a window rebuilt from a file tail that could not be
   * read back to their start, whose counts would be too small (and repeat lines).
   * Returns what was forgotten.
   */
  forgetOpenSeries(): OpenSeries[] {
    const gone = this.openSeries;
    this.open.clear();
    return gone;
  }

  /** The window's state (for the checkpoint kept across a log reopen). */
  snapshot(): WindowState {
    this.prune();
    return { stamps: [...this.stamps], open: this.openSeries };
  }
}
