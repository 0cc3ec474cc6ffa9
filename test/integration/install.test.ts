/**
 * hack/install.sh into a temp root (DESTDIR): the files it writes, that the installed
 * copy runs on its own, and that --uninstall leaves nothing it wrote behind while
 * keeping what it did not write (or what was changed since).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCli } from '../../src/config.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };

function install(dest: string, ...args: string[]): string {
  return execFileSync('bash', [join(ROOT, 'hack', 'install.sh'), '--destdir', dest, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Every path under dir, relative, sorted. */
function tree(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, prefix)).sort()) {
    const rel = join(prefix, name);
    out.push(rel);
    if (statSync(join(dir, rel)).isDirectory() && !rel.endsWith('node_modules')) out.push(...tree(dir, rel));
  }
  return out;
}

describe('hack/install.sh', () => {
  let dest: string;
  beforeEach(() => {
    dest = mkdtempSync(join(tmpdir(), 'cri-shim-install-'));
  });
  afterEach(() => rmSync(dest, { recursive: true, force: true }));

  it('writes the unit, launcher, config and crictl.yaml; the installed copy runs; uninstall removes it all', () => {
    install(dest);
    const unit = readFileSync(join(dest, 'etc/systemd/system/cri-shim.service'), 'utf8');
    expect(unit).toMatch(/^After=docker\.service/m);
    expect(unit).toMatch(/^Requires=docker\.service$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/cri-shim --config \/etc\/cri-shim\/config\.json$/m);
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);

    // The config it writes is one the shim accepts, and crictl.yaml points at its socket.
    const confFile = join(dest, 'etc/cri-shim/config.json');
    const { config } = parseCli(['--config', confFile]);
    expect(config.listen).toBe('unix:///run/cri-shim/cri-shim.sock');
    expect(readFileSync(join(dest, 'etc/crictl.yaml'), 'utf8')).toBe(
      'runtime-endpoint: unix:///run/cri-shim/cri-shim.sock\nimage-endpoint: unix:///run/cri-shim/cri-shim.sock\ntimeout: 10\n',
    );

    const launcher = join(dest, 'usr/local/bin/cri-shim');
    expect(statSync(launcher).mode & 0o777).toBe(0o755);
    expect(readFileSync(launcher, 'utf8')).toMatch(/^exec "\/\S+\/node" (--\S+ )*\/usr\/local\/lib\/cri-shim\/dist\/cli\.js "\$@"$/m);

    // The installed tree runs by itself (every runtime dependency and proto/ present), without dev dependencies.
    const lib = join(dest, 'usr/local/lib/cri-shim');
    // The process runner's C helper is installed beside dist/'s JavaScript (else plugins run in-process).
    expect(statSync(join(lib, 'dist/process-runner/cri-shim-runner')).mode & 0o111).toBe(0o111);
    const version = execFileSync(process.execPath, [join(lib, 'dist/cli.js'), '--version'], { encoding: 'utf8' });
    expect(version).toMatch(new RegExp(`^cri-shim ${PKG.version.replace(/\./g, '\\.')}`));
    // (@types/node stays: protobufjs, a runtime dependency, depends on it.)
    for (const dev of ['typescript', 'vitest', '@types/dockerode', '@types/ws']) {
      expect(PKG.devDependencies).toHaveProperty([dev]);
      expect(existsSync(join(lib, 'node_modules', dev)), dev).toBe(false);
    }
    for (const dep of ['@grpc/grpc-js', 'dockerode', 'pino', 'ajv']) expect(existsSync(join(lib, 'node_modules', dep)), dep).toBe(true);

    install(dest); // a second run replaces the install in place
    install(dest, '--uninstall');
    expect(tree(dest)).toEqual([]);
  }, 240_000);

  it('keeps a crictl.yaml it did not write, and a config changed since install', () => {
    mkdirSync(join(dest, 'etc'));
    writeFileSync(join(dest, 'etc/crictl.yaml'), 'runtime-endpoint: unix:///run/other.sock\n');
    const out = execFileSync('bash', ['-c', `bash "${join(ROOT, 'hack/install.sh')}" --destdir "${dest}" 2>&1`], { encoding: 'utf8' });
    expect(out).toContain('kept existing /etc/crictl.yaml');
    expect(readFileSync(join(dest, 'etc/crictl.yaml'), 'utf8')).toBe('runtime-endpoint: unix:///run/other.sock\n');
    writeFileSync(join(dest, 'etc/cri-shim/config.json'), '{"logLevel":"debug"}\n');

    install(dest, '--uninstall');
    expect(tree(dest)).toEqual(['etc', 'etc/cri-shim', 'etc/cri-shim/config.json', 'etc/crictl.yaml']);
    expect(readFileSync(join(dest, 'etc/crictl.yaml'), 'utf8')).toBe('runtime-endpoint: unix:///run/other.sock\n');
  }, 240_000);

  it('refuses to uninstall where it did not install', () => {
    expect(() => install(dest, '--uninstall')).toThrow(/no install manifest/);
  });
});
