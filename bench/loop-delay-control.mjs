#!/usr/bin/env node
/**
 * The control for the shim's event-loop delay: a Node process that does nothing but run
 * the shim's own monitor (same histogram, same resolution, same correction, same 5 s
 * windows) and print each finished window as one JSON line on stdout. Run beside the shim
 * during a bench, it shows what the machine alone gives any event loop: the shim cannot
 * wait less for a CPU than an idle process on the same run queue.
 * Usage: node bench/loop-delay-control.mjs   (stops on SIGTERM or when stdin closes)
 */
import { EventLoopDelayMonitor } from '../dist/event-loop-delay.js';

const monitor = new EventLoopDelayMonitor();
monitor.start();
let last = 0;
const tick = setInterval(() => {
  for (const w of monitor.snapshot().windows) {
    if (w.end <= last) continue;
    last = w.end;
    process.stdout.write(`${JSON.stringify(w)}\n`);
  }
}, 1000);
const stop = () => {
  clearInterval(tick);
  monitor.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop).resume();
