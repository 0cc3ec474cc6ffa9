import { readFileSync } from 'node:fs';

/**
 * Never ask for an oom_score_adj below our own: lowering it needs CAP_SYS_RESOURCE,
 * which nodes like this VM lack, and dockerd would fail the whole create. containerd
 * does the same with `restrict_oom_score_adj`.
 */
export function clampOomScoreAdj(requested: number, own: number = ownOomScoreAdj()): number {
  return Math.min(1000, Math.max(requested, own));
}

let cached: number | undefined;
export function ownOomScoreAdj(): number {
  if (cached === undefined) {
    try {
      cached = Number.parseInt(readFileSync('/proc/self/oom_score_adj', 'utf8').trim(), 10) || 0;
    } catch {
      cached = 0;
    }
  }
  return cached;
}
