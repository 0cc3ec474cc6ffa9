#!/usr/bin/env node
/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. bench/load.mjs --cpu-prof DIR):
 * self time and inclusive time per function, so the stalls the node-load bench sees
 * can be traced to what the main thread was doing.
 * Usage: node bench/cpu-profile.mjs FILE.cpuprofile [top=25]
 */
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
const top = Number(topArg ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfUs = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i + 1] ?? 0;
  selfUs.set(prof.samples[i], (selfUs.get(prof.samples[i]) ?? 0) + dt);
}
const label = (n) => {
  const cf = n.callFrame;
  const url = cf.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/');
  return `${cf.functionName || '(anonymous)'} ${url ? `${url}:${cf.lineNumber + 1}` : ''}`.trim();
};
const self = new Map();
const incl = new Map();
let total = 0;
let idle = 0;
for (const [id, us] of selfUs) {
  const n = byId.get(id);
  total += us;
  if (n.callFrame.functionName === '(idle)') idle += us;
  self.set(label(n), (self.get(label(n)) ?? 0) + us);
  // Inclusive: every distinct function on the stack once.
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur));
    if (seen.has(l)) continue;
    seen.add(l);
    incl.set(l, (incl.get(l) ?? 0) + us);
  }
}
const print = (title, m) => {
  process.stdout.write(`\n${title}\n`);
  for (const [l, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${(us / 1000).toFixed(0).padStart(8)} ms  ${l}\n`);
  }
};
process.stdout.write(`profile ${(total / 1e6).toFixed(1)} s, idle ${(idle / 1e6).toFixed(1)} s, busy ${((total - idle) / 1e6).toFixed(1)} s\n`);
print('self time', self);
print('inclusive time', incl);
