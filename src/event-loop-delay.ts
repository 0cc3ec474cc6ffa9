/**
 * The shim's event-loop delay, measured by perf_hooks' own histogram (a libuv timer
 * every `resolution` ms records how late it fired), in fixed windows: a percentile of
 * the whole life of the process would hide a stall behind hours of idle time, and
 * resetting on every read would let one reader disturb another. Each finished window's
 * p50/p99/max is kept in a small ring that Status verbose info shows (`crictl info`),
 * so a bench or an operator can see the tails of any recent minute. Cost: one timer
 * per `resolution` ms (10 ms) and one per window.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface DelayWindow {
  /** Unix ms at which the window closed. */
  end: number;
  /** Delays in ms. */
  p50: number;
  p99: number;
  max: number;
  /** Samples in the window. */
  count: number;
}

export interface DelaySnapshot {
  windowMs: number;
  /** Oldest first. */
  windows: DelayWindow[];
}

const ns = (x: number) => Math.round(x / 1e4) / 100;

export class EventLoopDelayMonitor {
  private readonly histogram: IntervalHistogram;
  private readonly ring: DelayWindow[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly windowMs = 5000,
    private readonly keep = 24,
    resolutionMs = 10,
  ) {
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  }

  start(): void {
    if (this.timer) return;
    this.histogram.enable();
    this.timer = setInterval(() => this.rotate(), this.windowMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.histogram.disable();
  }

  snapshot(): DelaySnapshot {
    return { windowMs: this.windowMs, windows: [...this.ring] };
  }

  private rotate(): void {
    const h = this.histogram;
    if (h.count > 0) {
      this.ring.push({ end: Date.now(), p50: ns(h.percentile(50)), p99: ns(h.percentile(99)), max: ns(h.max), count: h.count });
      if (this.ring.length > this.keep) this.ring.shift();
    }
    h.reset();
  }
}

/** The process's one monitor (started by the shim; Status reads it). */
export const eventLoopDelay = new EventLoopDelayMonitor();
