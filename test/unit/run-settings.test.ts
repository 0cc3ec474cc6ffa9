/**
 * The shim's Node flags and malloc environment are written in three places (the dev
 * run command, the installed launcher, the load bench): they must say the same, or the
 * bench measures a shim nobody runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (rel: string) => readFileSync(join(ROOT, rel), 'utf8');

function match(text: string, re: RegExp, what: string): string {
  const m = re.exec(text);
  if (!m?.[1]) throw new Error(`${what} not found`);
  return m[1];
}
const words = (s: string) => s.split(/\s+/).filter(Boolean);

const runShim = read('hack/run-shim.sh');
const install = read('hack/install.sh');
const bench = read('bench/load.mjs');

const runFlags = words(match(runShim, /^node_flags=\(([^)]*)\)$/m, 'run-shim.sh node_flags'));
const runEnv = words(match(runShim, /^export (MALLOC_[^\n]*)$/m, 'run-shim.sh export'));

describe('shim run settings', () => {
  it('sets some flags and some environment', () => {
    expect(runFlags).toContain('--max-semi-space-size=1');
    expect(runEnv.length).toBeGreaterThan(0);
  });

  it('the installed launcher uses the flags and environment of hack/run-shim.sh', () => {
    const launcherFlags = words(match(install, /^exec "\$node" ((?:--\S+ )*)\$LIB\/dist\/cli\.js/m, 'launcher exec line'));
    const launcherEnv = words(match(install, /^export (MALLOC_[^\n]*)$/m, 'launcher export'));
    expect(launcherFlags).toEqual(runFlags);
    expect(launcherEnv).toEqual(runEnv);
  });

  it('bench/load.mjs runs the shim with the same flags and environment', () => {
    const benchFlags = JSON.parse(match(bench, /^const RUN_FLAGS = (\[[^\n]*\]);$/m, 'RUN_FLAGS').replace(/'/g, '"')) as string[];
    const benchEnv = match(bench, /^const RUN_ENV = \{([^\n]*)\};$/m, 'RUN_ENV')
      .split(',')
      .map((kv) => kv.trim().replace(/'/g, '').replace(/:\s*/, '='))
      .filter(Boolean);
    expect(benchFlags).toEqual(runFlags);
    expect(benchEnv).toEqual(runEnv);
  });
});
