/**
 * EventLoopDelayMonitor: finished windows land in a bounded ring, oldest first, each with
 * consistent percentiles; a recorded interval counts as delay only beyond the resolution.
 */
import { describe, expect, it } from 'vitest';
import { ABOVE_MS, EventLoopDelayMonitor, countAbove, delayMs } from '../../src/event-loop-delay.js';

describe('EventLoopDelayMonitor', () => {
  it('keeps the last windows, each with p50 <= p99 <= max and a sample count', async () => {
    const monitor = new EventLoopDelayMonitor(30, 3, 1);
    monitor.start();
    try {
      const sleep = () => new Promise((r) => setTimeout(r, 20));
      for (let i = 0; i < 200 && monitor.snapshot().windows.length < 3; i++) await sleep();
      // One more window: the oldest is dropped, the ring stays at 3.
      const oldest = monitor.snapshot().windows[0]?.end;
      for (let i = 0; i < 200 && monitor.snapshot().windows[0]?.end === oldest; i++) await sleep();
      const { windowMs, windows } = monitor.snapshot();
      expect(windowMs).toBe(30);
      expect(windows.length).toBe(3);
      for (const w of windows) {
        expect(w.count).toBeGreaterThan(0);
        expect(w.p50).toBeLessThanOrEqual(w.p99);
        expect(w.p99).toBeLessThanOrEqual(w.max);
      }
      expect(windows.map((w) => w.end)).toEqual([...windows.map((w) => w.end)].sort((a, b) => a - b));
    } finally {
      monitor.stop();
    }
  });
});

describe('delayMs', () => {
  it('is the recorded interval minus the resolution, in ms with two decimals', () => {
    // The lead's idle node at resolution 10: p50 10.17 ms recorded is 0.17 ms of delay.
    expect(delayMs(10_170_000, 10)).toBe(0.17);
    expect(delayMs(35_000_000, 10)).toBe(25);
    expect(delayMs(12_345_678, 1)).toBe(11.35);
  });

  it('is 0, never negative, for a timer that fired on time or early', () => {
    expect(delayMs(10_000_000, 10)).toBe(0);
    expect(delayMs(9_298_000, 10)).toBe(0);
    expect(delayMs(0, 10)).toBe(0);
  });
});

describe('countAbove', () => {
  /** A stand-in with the histogram's read interface over known samples (ns). */
  function fake(samples: number[]) {
    const sorted = [...samples].sort((a, b) => a - b);
    return {
      count: sorted.length,
      min: sorted[0] ?? 0,
      max: sorted[sorted.length - 1] ?? 0,
      // The smallest sample with at least p % of the samples at or below it (HDR's definition).
      percentile: (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!,
    };
  }

  it('counts the samples above a threshold, so windows can be pooled', () => {
    const samples = [...Array(990).fill(11e6), ...Array(7).fill(25e6), 40e6, 60e6, 120e6];
    const h = fake(samples);
    expect(countAbove(h, 20e6)).toBe(10);
    expect(countAbove(h, 50e6)).toBe(2);
    expect(countAbove(h, 11e6)).toBe(10);
    expect(countAbove(h, 10e6)).toBe(1000);
    expect(countAbove(h, 200e6)).toBe(0);
    expect(countAbove(fake([]), 1)).toBe(0);
  });

  it('gives every finished window its counts above each threshold', async () => {
    const monitor = new EventLoopDelayMonitor(50, 2, 1);
    monitor.start();
    try {
      for (let i = 0; i < 100 && monitor.snapshot().windows.length < 1; i++) {
        // A 30 ms stall: the window must count it above 2, 5, 10 and 15 ms.
        const until = Date.now() + 30;
        while (Date.now() < until);
        await new Promise((r) => setTimeout(r, 5));
      }
      const [w] = monitor.snapshot().windows;
      expect(Object.keys(w!.above).map(Number)).toEqual([...ABOVE_MS]);
      expect(w!.above['15']).toBeGreaterThanOrEqual(1);
      expect(w!.above['1']).toBeGreaterThanOrEqual(w!.above['15']!);
      expect(w!.above['100']).toBeLessThanOrEqual(w!.above['15']!);
    } finally {
      monitor.stop();
    }
  });
});
