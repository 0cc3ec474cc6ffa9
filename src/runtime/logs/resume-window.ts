/**
 * Where to pick up a container's log after a restart, without losing or repeating a
 * line.
 *
 * Docker's json-file copy of the log is the source; its `since` filter keeps messages
 * whose timestamp is >= since (nanosecond precision, inclusive). Timestamps are not
 * strictly increasing in the file: the pieces of a long line share the first piece's
 * time, and stdout and stderr are stamped by two goroutines before they take the file's
 * lock. So "the last timestamp we wrote" is not a position. But the same filter applied
 * to what we already wrote and to what Docker replays selects the same sequence, in the
 * same order: resume with `since = newest - WINDOW` and drop as many entries as we had
 * already written with a timestamp >= that. The window only has to cover the disorder
 * (microseconds between streams), so a second is plenty and keeps the count small.
 */

export const WINDOW_NS = 1_000_000_000n;

export interface ResumePoint {
  /** Unix ns for Docker's `since`; 0 = from the beginning. */
  since: bigint;
  /** Entries Docker will replay that are already written. */
  skip: number;
}

/** The timestamps of the entries written lately: all of those >= newest - WINDOW_NS. */
export class ResumeWindow {
  private stamps: bigint[] = [];
  /** stamps[0..head) are known to be stale. */
  private head = 0;
  private newest = -1n;

  constructor(stamps: Iterable<bigint> = []) {
    for (const ts of stamps) this.add(ts);
  }

  add(ts: bigint): void {
    if (ts > this.newest) this.newest = ts;
    const floor = this.newest - WINDOW_NS;
    if (ts < floor) return;
    this.stamps.push(ts);
    // Mostly in order: stale ones leave from the front; the few out-of-order ones left
    // in the middle are filtered by prune().
    while (this.head < this.stamps.length && this.stamps[this.head]! < floor) this.head++;
    if (this.head > 1024 && this.head * 2 > this.stamps.length) this.prune();
  }

  private prune(): void {
    const floor = this.newest - WINDOW_NS;
    this.stamps = this.stamps.slice(this.head).filter((ts) => ts >= floor);
    this.head = 0;
  }

  point(): ResumePoint {
    if (this.newest < 0n) return { since: 0n, skip: 0 };
    this.prune();
    const since = this.newest - WINDOW_NS;
    return { since: since > 0n ? since : 0n, skip: this.stamps.length };
  }

  /** Timestamps in the window (for the checkpoint kept across a log reopen). */
  snapshot(): bigint[] {
    this.prune();
    return [...this.stamps];
  }
}
