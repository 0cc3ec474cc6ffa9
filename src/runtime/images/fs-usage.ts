/**
 * Used bytes and inodes of Docker's data root, for ImageFsInfo. Measured with
 * `du` in a child process (of the process runner's helper): walking a large /var/lib/docker in Node would block the
 * event loop, and du already counts hard-linked files once (as the kubelet's own
 * disk-usage walk does) and stays on one filesystem (-x), so the overlay mounts
 * of running containers are not counted twice. The kubelet asks every ~10 s and
 * crictl on every call, so a measurement is reused for `ttlMs` and concurrent
 * callers share one walk.
 */
import { processRunner } from '../../process-runner/runner.js';
import { SingleFlight } from './single-flight.js';

export interface FsUsage {
  /** The directory measured: Docker's data root. */
  mountpoint: string;
  usedBytes: number;
  inodesUsed: number;
  /** When the measurement was taken, ns since the epoch. */
  timestampNs: bigint;
}

export type DirMeasure = (dir: string) => Promise<{ usedBytes: number; inodesUsed: number }>;

async function duTotal(args: string[]): Promise<number> {
  // From the process runner's helper: a spawn from the shim blocks its event loop (runner.ts).
  const run = await processRunner.run({
    file: 'du',
    args,
    timeoutMs: 0,
    maxStdoutBytes: 1024 * 1024,
    maxStderrBytes: 64 * 1024,
    detached: false,
    busyRetries: 0,
    busyDelayMs: 0,
    drainGraceMs: 1000,
  });
  // Files of containers come and go during the walk; du then exits 1 but still
  // prints the total of what it saw, which is the best answer there is.
  const total = Number.parseInt(run.stdout.trim().split(/\s+/)[0] ?? '', 10);
  if (Number.isFinite(total)) return total;
  const why = run.spawnError?.message ?? (run.stderr.trim() || `exited with ${run.signal ?? run.exitCode}`);
  throw new Error(`du ${args.join(' ')}: ${why || 'no total'}`);
}

/** GNU du: allocated bytes (-B1, as the kubelet counts disk use) and inodes. */
export const duMeasure: DirMeasure = async (dir) => {
  const [usedBytes, inodesUsed] = await Promise.all([duTotal(['-sx', '-B1', dir]), duTotal(['-sx', '--inodes', dir])]);
  return { usedBytes, inodesUsed };
};

export class FsUsageCache {
  private readonly flights = new SingleFlight<FsUsage>();
  private last: FsUsage | undefined;
  private lastAt = 0;

  constructor(
    private readonly measure: DirMeasure = duMeasure,
    private readonly ttlMs = 10_000,
  ) {}

  async usage(dir: string): Promise<FsUsage> {
    if (this.last && this.last.mountpoint === dir && Date.now() - this.lastAt < this.ttlMs) return this.last;
    return this.flights.run(dir, async () => {
      const timestampNs = BigInt(Date.now()) * 1_000_000n;
      const { usedBytes, inodesUsed } = await this.measure(dir);
      this.last = { mountpoint: dir, usedBytes, inodesUsed, timestampNs };
      this.lastAt = Date.now();
      return this.last;
    });
  }
}
