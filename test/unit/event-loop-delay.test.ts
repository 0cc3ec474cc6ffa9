/**
 * EventLoopDelayMonitor: finished windows land in a bounded ring, oldest first, each with
 * consistent percentiles. (Which delays it measures is perf_hooks' business.)
 */
import { describe, expect, it } from 'vitest';
import { EventLoopDelayMonitor } from '../../src/event-loop-delay.js';

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
