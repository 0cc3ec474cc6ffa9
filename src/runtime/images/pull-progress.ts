/**
 * Docker's pull answer is a stream of JSON lines, one event per layer step. We read
 * it to the end (the pull is done only when dockerd closes it), treat an in-band
 * `{"error": …}` as the failure it is (dockerd has already sent HTTP 200 by then),
 * and sum the per-layer progress into one log line at most every `intervalMs`:
 * a big image emits thousands of events per second.
 */
import type { Logger } from '../../logger.js';

export interface PullEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

/** An `{"error": …}` event in an otherwise successful (HTTP 200) pull stream. */
export class InBandPullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InBandPullError';
  }
}

/** Calls `onEvent` for every event; rejects on the first in-band error or a broken stream. */
export async function readPullStream(stream: AsyncIterable<Buffer | string>, onEvent: (ev: PullEvent) => void): Promise<void> {
  let pending = '';
  const handle = (line: string) => {
    if (line.trim() === '') return;
    let ev: PullEvent;
    try {
      ev = JSON.parse(line) as PullEvent;
    } catch {
      return; // not an event (dockerd writes only JSON lines; tolerate noise)
    }
    if (ev.error || ev.errorDetail?.message) throw new InBandPullError(ev.errorDetail?.message || ev.error || 'pull failed');
    onEvent(ev);
  };
  for await (const chunk of stream) {
    pending += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) !== -1) {
      handle(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  }
  handle(pending);
}

interface LayerProgress {
  current: number;
  total: number;
  done: boolean;
}

const LAYER_DONE = /^(Pull complete|Already exists|Download complete)$/;

/** Folds pull events into totals and logs them, throttled. */
export class PullProgress {
  private readonly layers = new Map<string, LayerProgress>();
  private lastLog = 0;
  private events = 0;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 1000,
    private readonly now: () => number = Date.now,
  ) {
    this.lastLog = now();
  }

  onEvent(ev: PullEvent): void {
    this.events++;
    // Layer events carry a 12-hex id; the others (the tag line, "Digest:", "Status:") do not.
    if (ev.id && /^[0-9a-f]{12}$/.test(ev.id)) {
      const layer = this.layers.get(ev.id) ?? { current: 0, total: 0, done: false };
      if (ev.status === 'Downloading' && ev.progressDetail) {
        layer.current = ev.progressDetail.current ?? layer.current;
        layer.total = ev.progressDetail.total ?? layer.total;
      }
      if (ev.status && LAYER_DONE.test(ev.status)) {
        layer.done = true;
        layer.current = Math.max(layer.current, layer.total);
      }
      this.layers.set(ev.id, layer);
    }
    const t = this.now();
    if (t - this.lastLog >= this.intervalMs) {
      this.lastLog = t;
      this.logger.info(this.summary(), 'pulling');
    }
  }

  summary(): { layers: number; layersDone: number; bytes: number; totalBytes: number; events: number } {
    let bytes = 0;
    let totalBytes = 0;
    let layersDone = 0;
    for (const l of this.layers.values()) {
      bytes += l.current;
      totalBytes += l.total;
      if (l.done) layersDone++;
    }
    return { layers: this.layers.size, layersDone, bytes, totalBytes, events: this.events };
  }
}
