/**
 * Periodic collection of our leaked CNI attachments: at start and then on a timer,
 * the CNI engine DELs the attachments it marked as ours whose pause container no
 * longer exists (see CniEngine.collectStale). "Exists" is asked of Docker, with our
 * own label filter (managed = this instance, kind = sandbox), never of our state dir,
 * which is exactly what may have been lost.
 */
import type Docker from 'dockerode';
import type { CniAttachmentRef, CniGcOptions, CniGcReport } from '../cni/types.js';
import type { Logger } from '../logger.js';
import { LABEL_SANDBOX_ID, managedFilter } from './labels.js';

/** The part of the CNI engine the collector needs. */
export interface StaleCollector {
  collectStale(live: () => Promise<CniAttachmentRef[]>, opts?: CniGcOptions): Promise<CniGcReport[]>;
}

export interface NetworkGcOptions {
  docker: Docker;
  cni: StaleCollector;
  /** Our managed-label value (the resolved state dir). */
  instance: string;
  logger: Logger;
  /** Between two passes. Default 5 min. */
  intervalMs?: number;
  /**
   * Cache entries younger than this are left for the next pass. The network lock and
   * the container-before-ADD order already protect ADDs in flight; this is a margin.
   */
  minAgeMs?: number;
}

const DEFAULT_INTERVAL_MS = 5 * 60_000;
const DEFAULT_MIN_AGE_MS = 2 * 60_000;
/** Our pods have one attachment each, on eth0 (cni-pod-network.ts). */
const POD_IFNAME = 'eth0';

export class NetworkGc {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: NetworkGcOptions) {}

  /** First pass now (in the background: a hanging plugin must not delay serving), then periodically. */
  start(): void {
    this.stopped = false;
    void this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), this.opts.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.timer.unref();
  }

  /** No new pass starts; waits for the one running. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass; a pass already running is joined, not doubled. */
  runOnce(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    try {
      const reports = await this.opts.cni.collectStale(() => this.liveSandboxes(), { minAgeMs: this.opts.minAgeMs ?? DEFAULT_MIN_AGE_MS });
      for (const r of reports) {
        if (r.deleted.length > 0 || r.errors.length > 0) {
          this.opts.logger.info(
            { network: r.network, collected: r.deleted, errors: r.errors.map((e) => e.message) },
            'network GC pass: stale attachments of ours collected',
          );
        }
      }
    } catch (err) {
      // Docker down, say: nothing is known to be stale, so nothing is touched.
      this.opts.logger.warn({ err: (err as Error).message }, 'network GC pass skipped');
    }
  }

  /** Every pause container of ours, running or not: its attachment is still wanted. */
  private async liveSandboxes(): Promise<CniAttachmentRef[]> {
    const list = await this.opts.docker.listContainers({ all: true, filters: managedFilter(this.opts.instance, 'sandbox') });
    const refs: CniAttachmentRef[] = [];
    for (const c of list) {
      const id = c.Labels?.[LABEL_SANDBOX_ID];
      if (id) refs.push({ containerId: id, ifName: POD_IFNAME });
    }
    return refs;
  }
}
