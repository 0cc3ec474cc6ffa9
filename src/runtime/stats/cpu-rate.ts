/**
 * usage_nano_cores: the CPU rate between two samples of the cumulative counter,
 * (Δ usage ns × 1e9) / Δ wall ns. The kubelet polls every ~10 s and crictl twice a
 * second apart; calls closer together than `minWindowNs` keep the older sample
 * (a window of a few ms measures scheduling noise) and answer the last rate.
 */

export interface CpuPoint {
  usageNs: bigint;
  timestampNs: bigint;
}

/** Nanocores between two samples; null when time did not advance or the counter went back (a new cgroup). */
export function nanoCores(prev: CpuPoint, next: CpuPoint): bigint | null {
  const dt = next.timestampNs - prev.timestampNs;
  const du = next.usageNs - prev.usageNs;
  if (dt <= 0n || du < 0n) return null;
  return (du * 1_000_000_000n) / dt;
}

export class CpuRateTracker {
  private readonly entries = new Map<string, { prev: CpuPoint; rate: bigint | null }>();

  constructor(private readonly minWindowNs = 500_000_000n) {}

  /** Records `point` for `key` and returns the rate over the window that ends at it. */
  observe(key: string, point: CpuPoint): bigint | null {
    const entry = this.entries.get(key);
    if (!entry) {
      this.entries.set(key, { prev: point, rate: null });
      return null;
    }
    const dt = point.timestampNs - entry.prev.timestampNs;
    if (point.usageNs < entry.prev.usageNs) {
      // The counter restarted (container restarted, or a pod's sum lost a member).
      this.entries.set(key, { prev: point, rate: null });
      return null;
    }
    if (dt < this.minWindowNs) return entry.rate;
    const rate = nanoCores(entry.prev, point);
    this.entries.set(key, { prev: point, rate });
    return rate;
  }

  /** Forgets every key not in `live` (containers and pods that are gone). */
  retain(live: Set<string>): void {
    for (const key of this.entries.keys()) if (!live.has(key)) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
