#!/usr/bin/env node
/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. bench/load.mjs --cpu-prof DIR):
 * self time and inclusive time per function, so the stalls the node-load bench sees
 * can be traced to what the main thread was doing, and the longest busy stretches (runs of
 * samples with no idle between them: how long the event loop could not turn) with the
 * functions that took most of each.
 * Usage: node bench/cpu-profile.mjs FILE.cpuprofile [top=25] [--between FROM_US TO_US]
 * (--between: only samples in that span of the monotonic clock, in µs, e.g. a phase that
 * bench/load.mjs printed).
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const between = args.indexOf('--between');
const span = between >= 0 ? args.splice(between, 3).slice(1).map(Number) : undefined;
const [file, topArg] = args;
const top = Number(topArg ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8'));
if (span) {
  // Keep only the samples taken within the span (sample i is at startTime + sum of deltas up to i).
  const samples = [];
  const deltas = [];
  let t = prof.startTime;
  let last;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i];
    if (t < span[0] || t > span[1]) continue;
    deltas.push(last === undefined ? 0 : t - last);
    samples.push(prof.samples[i]);
    last = t;
  }
  prof.samples = samples;
  prof.timeDeltas = deltas;
}
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

// Busy stretches: consecutive non-idle samples, i.e. the main thread never went back to
// the event loop's poll in between (a stall every pending RPC waited out).
const stretches = [];
let cur;
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i + 1] ?? 0;
  const n = byId.get(prof.samples[i]);
  if (n.callFrame.functionName === '(idle)') {
    if (cur) stretches.push(cur);
    cur = undefined;
    continue;
  }
  cur ??= { us: 0, by: new Map() };
  cur.us += dt;
  // Attribute to the outermost function of ours (dist/) on the stack, else the leaf.
  let who = label(n);
  for (let id = prof.samples[i]; id !== undefined; id = parent.get(id)) {
    const l = label(byId.get(id));
    if (l.includes('dist/')) who = l;
  }
  cur.by.set(who, (cur.by.get(who) ?? 0) + dt);
}
if (cur) stretches.push(cur);
stretches.sort((a, b) => b.us - a.us);
process.stdout.write(`\nlongest busy stretches (outermost dist/ function on the stack)\n`);
for (const st of stretches.slice(0, Math.min(top, 15))) {
  const parts = [...st.by].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([l, us]) => `${(us / 1000).toFixed(1)} ${l}`);
  process.stdout.write(`${(st.us / 1000).toFixed(1).padStart(8)} ms  ${parts.join(' | ')}\n`);
}
