/**
 * TEST-ONLY fault injection. `CRI_SHIM_CRASH_AT=<step>` in the environment at start
 * makes the process kill itself with SIGKILL when it reaches that named step, exactly
 * as a node losing power or an OOM kill would cut it there. The crash suite
 * (test/e2e/crash) drives every step and checks that a restarted shim can still
 * remove everything. Unset (always, outside that suite), `crashPoint` is one
 * comparison against `undefined`.
 */
import { writeSync } from 'node:fs';

/** Every named step, in the order a pod's life reaches them. */
export const CRASH_STEPS = [
  'run:after-pause-create',
  'run:after-pause-start',
  'run:after-state-notready',
  'cni-add:after-cache-entry',
  'cni-add:mid-chain',
  'cni-add:after-chain',
  'run:after-cni-add',
  'run:after-hosts',
  'run:after-ready-marker',
  'create:after-docker-create',
  'create:after-record',
  'stop:after-containers',
  'cni-del:mid-chain',
  'cni-del:after-chain',
  'stop:after-cni-del',
  'stop:after-pause-stop',
  'remove:after-stop',
  'remove:after-containers',
  'remove:after-pause-remove',
] as const;

export type CrashStep = (typeof CRASH_STEPS)[number];

const armed: string | undefined = process.env.CRI_SHIM_CRASH_AT || undefined;

/** Dies here, at once and without cleanup, when this step is the one armed. */
export function crashPoint(step: CrashStep): void {
  if (armed === undefined || armed !== step) return;
  // stderr synchronously: the test reads it to know the crash happened where it asked.
  writeSync(2, `cri-shim: CRI_SHIM_CRASH_AT=${step}: killing myself\n`);
  process.kill(process.pid, 'SIGKILL');
}
