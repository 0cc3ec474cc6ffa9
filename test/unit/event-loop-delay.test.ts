/**
 * EventLoopDelayMonitor: finished windows land in a bounded ring, oldest first, each with
 * consistent percentiles; a recorded interval counts as delay only beyond the resolution.
 */
import { describe, expect, it } from 'vitest';
import { EventLoopDelayMonitor, delayMs } from '../../src/event-loop-delay.js';

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
