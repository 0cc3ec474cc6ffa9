/**
 * Bytes and inodes in each container's writable layer (overlay2's upper dir).
 * Walking a directory tree is the costliest thing stats do, so each layer is measured
 * at most once per `ttlMs` (30 s, as cAdvisor's fs-usage loop), by `du` in a child
 * process (src/runtime/images/fs-usage.ts: allocated bytes, hard links once, one
 * filesystem), a few at a time. Only a layer's first measurement is waited for;
 * after that a stale value is answered at once while a fresh one is taken in the
 * background, so a kubelet poll never waits on a walk.
 */
import { duMeasure, type DirMeasure } from '../images/fs-usage.js';

export interface LayerUsage {
  usedBytes: bigint;
  inodesUsed: bigint;
  /** When the walk finished, Unix ns. */
  timestampNs: bigint;
}

export interface WritableLayerOptions {
  measure?: DirMeasure;
  ttlMs?: number;
  /** Walks running at once. */
  concurrency?: number;
  now?: () => number;
  onError?: (key: string, err: unknown) => void;
}

interface Entry {
  dir: string;
  value: LayerUsage | null;
  measuredAt: number;
  running: Promise<LayerUsage | null> | null;
}

export class WritableLayerCache {
  private readonly entries = new Map<string, Entry>();
  private readonly measure: DirMeasure;
  private readonly ttlMs: number;
  private readonly concurrency: number;
  private readonly now: () => number;
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly opts: WritableLayerOptions = {}) {
    this.measure = opts.measure ?? duMeasure;
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.concurrency = Math.max(1, opts.concurrency ?? 2);
    this.now = opts.now ?? Date.now;
  }

  /** The layer's usage, at most `ttlMs` old once measured; null if it could never be measured. */
  async usage(key: string, dir: string): Promise<LayerUsage | null> {
    let entry = this.entries.get(key);
    if (!entry || entry.dir !== dir) {
      entry = { dir, value: null, measuredAt: 0, running: null };
      this.entries.set(key, entry);
    }
    const fresh = entry.value && this.now() - entry.measuredAt < this.ttlMs;
    if (fresh) return entry.value;
    const run = entry.running ?? this.refresh(key, entry);
    return entry.value ?? (await run);
  }

  private refresh(key: string, entry: Entry): Promise<LayerUsage | null> {
    const run = this.limited(() => this.measure(entry.dir)).then(
      (m) => {
        const ms = this.now();
        entry.value = { usedBytes: BigInt(m.usedBytes), inodesUsed: BigInt(m.inodesUsed), timestampNs: BigInt(ms) * 1_000_000n };
        entry.measuredAt = ms;
        return entry.value;
      },
      (err: unknown) => {
        this.opts.onError?.(key, err);
        // Try again on the next call rather than serving an old value forever.
        entry.measuredAt = 0;
        return entry.value;
      },
    );
    entry.running = run.finally(() => {
      entry.running = null;
    });
    return entry.running;
  }

  private async limited<T>(work: () => Promise<T>): Promise<T> {
    // A finishing walk hands its slot straight to the next waiter, so `active` never overshoots.
    if (this.active >= this.concurrency) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.active++;
    try {
      return await work();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }

  /** Forgets layers of containers that are gone. */
  retain(live: Set<string>): void {
    for (const key of this.entries.keys()) if (!live.has(key)) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
