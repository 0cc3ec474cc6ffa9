import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSubcommandArgs } from '../../src/subcommand-args.js';
import { runSubcommand } from '../../src/subcommands.js';
import { versionText } from '../../src/version-info.js';

describe('subcommand arguments', () => {
  it('takes the pod and --json out, hands shim flags (with values) to the shim parser', () => {
    const a = parseSubcommandArgs(['--state-dir', '/s', 'demo/web', '--json', '--cni-bin-dir', '/b1', '--cni-bin-dir=/b2'], ['--json']);
    expect(a.positionals).toEqual(['demo/web']);
    expect([...a.switches]).toEqual(['--json']);
    expect(a.config.stateDir).toBe('/s');
    expect(a.config.cniBinDirs).toEqual(['/b1', '/b2']);
    expect(a.config.cniCacheDir).toBe('/var/lib/cni');
  });

  it('refuses unknown flags like the shim does', () => {
    expect(() => parseSubcommandArgs(['--nope', 'x'], ['--json'])).toThrow(/nope/);
  });

  it('explain needs exactly one pod; other words are not subcommands', async () => {
    const err: string[] = [];
    const io = { out: () => undefined, err: (t: string) => void err.push(t) };
    expect(await runSubcommand(['explain'], io)).toBe(2);
    expect(err.join('')).toContain('expected exactly one pod');
    expect(await runSubcommand(['--listen', 'unix:///x'], io)).toBeUndefined();
  });

  it('--version prints the package.json version', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(versionText()).toMatch(new RegExp(`^cri-shim ${pkg.version.replace(/\./g, '\\.')}( \\(commit [0-9a-f]+\\))?$`));
  });
});
