/**
 * Doctor checks that read files and directories, run on temp dirs; checkForward and
 * the rendering are pure.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fail, pass, renderChecks } from '../../../src/doctor/check.js';
import { createCniEngine } from '../../../src/cni/index.js';
import { checkCni } from '../../../src/doctor/cni-checks.js';
import { checkCgroupDriver, checkDockerd } from '../../../src/doctor/docker-checks.js';
import { checkBrNetfilter, checkForward, checkIpForward, checkSocket, checkWritableDir } from '../../../src/doctor/node-checks.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cri-shim-doctor-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function fakePlugin(binDir: string, name: string): void {
  mkdirSync(binDir, { recursive: true });
  writeFileSync(join(binDir, name), '#!/bin/sh\nexit 0\n');
  chmodSync(join(binDir, name), 0o755);
}

const CHAIN = {
  cniVersion: '1.0.0',
  name: 'pods',
  plugins: [{ type: 'bridge', ipam: { type: 'host-local' } }, { type: 'portmap', capabilities: { portMappings: true } }, { type: 'firewall' }],
};

describe('CNI checks', () => {
  it('pass with a valid list whose every plugin (ipam included) is present', async () => {
    const conf = join(dir, 'net.d');
    mkdirSync(conf);
    writeFileSync(join(conf, '10-pods.conflist'), JSON.stringify(CHAIN));
    for (const p of ['bridge', 'host-local', 'portmap', 'firewall']) fakePlugin(join(dir, 'bin'), p);
    const r = await checkCni(conf, [join(dir, 'bin')], 5000);
    expect(r.checks.map((c) => c.ok)).toEqual([true, true]);
    expect(r.chainTypes).toEqual(['bridge', 'portmap', 'firewall']);
    expect(r.checks[1].detail).toBe('all present: bridge, host-local, portmap, firewall');
  });

  it('name the missing plugins, and the fix', async () => {
    const conf = join(dir, 'net.d');
    mkdirSync(conf);
    writeFileSync(join(conf, '10-pods.conflist'), JSON.stringify(CHAIN));
    fakePlugin(join(dir, 'bin'), 'bridge');
    const r = await checkCni(conf, [join(dir, 'bin')], 5000);
    expect(r.chainTypes).toBeUndefined();
    expect(r.checks[0].ok).toBe(false);
    expect(r.checks[1]).toMatchObject({ ok: false, detail: `${join(conf, '10-pods.conflist')} needs host-local, portmap, firewall, not found` });
    expect(r.checks[1].fix).toContain('containernetworking-plugins');
  });

  it('name the config the shim loads even when its IPAM binary is missing, and fail the plugins check about it', async () => {
    const conf = join(dir, 'net.d');
    const bin = join(dir, 'bin');
    mkdirSync(conf);
    const noIpam = { ...CHAIN, name: 'first', plugins: [{ type: 'bridge', ipam: { type: 'no-such-ipam' } }, ...CHAIN.plugins.slice(1)] };
    writeFileSync(join(conf, '10-first.conflist'), JSON.stringify(noIpam));
    writeFileSync(join(conf, '20-second.conflist'), JSON.stringify(CHAIN));
    for (const p of ['bridge', 'host-local', 'portmap', 'firewall']) fakePlugin(bin, p);
    const engine = createCniEngine({ confDir: conf, binDirs: [bin], cacheDir: join(dir, 'cache'), watch: false });
    try {
      const loaded = (await engine.status()).network?.file;
      expect(loaded).toBe(join(conf, '10-first.conflist'));
      const r = await checkCni(conf, [bin], 5000);
      expect(r.checks[0]).toMatchObject({ ok: true });
      expect(r.checks[0].detail).toMatch(new RegExp(`^${loaded}: network "first"`));
      expect(r.checks[1]).toMatchObject({ ok: false, detail: `${loaded} (the config the shim loads) needs no-such-ipam, not found: every pod's ADD fails` });
      expect(r.chainTypes).toEqual(['bridge', 'portmap', 'firewall']);
    } finally {
      engine.close();
    }
  });

  it('fail on an empty conf dir with an example config as the fix', async () => {
    const r = await checkCni(dir, ['/usr/lib/cni'], 5000);
    expect(r.checks).toHaveLength(1);
    expect(r.checks[0]).toMatchObject({ ok: false, name: `CNI config ${dir}` });
    expect(r.checks[0].detail).toContain('no .conf/.conflist/.json file');
    expect(r.checks[0].fix).toContain('"type":"firewall"');
  });

  it('fail on a broken file, saying why', async () => {
    writeFileSync(join(dir, '10-bad.conflist'), '{"name":');
    const r = await checkCni(dir, ['/usr/lib/cni'], 5000);
    expect(r.checks[0].ok).toBe(false);
    expect(r.checks[0].detail).toContain('10-bad.conflist');
  });
});

describe('node checks', () => {
  it('ip_forward and br_netfilter from /proc files', async () => {
    mkdirSync(join(dir, 'sys/net/ipv4'), { recursive: true });
    writeFileSync(join(dir, 'sys/net/ipv4/ip_forward'), '0\n');
    expect((await checkIpForward(dir)).ok).toBe(false);
    writeFileSync(join(dir, 'sys/net/ipv4/ip_forward'), '1\n');
    expect((await checkIpForward(dir)).ok).toBe(true);
    const missing = await checkBrNetfilter(dir);
    expect(missing).toMatchObject({ ok: false, fix: 'modprobe br_netfilter (and list it in /etc/modules-load.d/)' });
    mkdirSync(join(dir, 'sys/net/bridge'), { recursive: true });
    writeFileSync(join(dir, 'sys/net/bridge/bridge-nf-call-iptables'), '1\n');
    expect((await checkBrNetfilter(dir)).ok).toBe(true);
  });

  it('FORWARD DROP fails only without a firewall plugin', () => {
    expect(checkForward('DROP', ['bridge', 'portmap', 'firewall']).ok).toBe(true);
    const r = checkForward('DROP', ['bridge', 'portmap']);
    expect(r.ok).toBe(false);
    expect(r.fix).toContain('{"type":"firewall"}');
    expect(checkForward('ACCEPT', ['bridge']).ok).toBe(true);
    expect(checkForward(undefined, ['bridge']).ok).toBe(false);
  });

  it('writable dirs: existing, creatable, and blocked by a file', async () => {
    expect((await checkWritableDir('state dir', dir)).detail).toBe('writable');
    expect((await checkWritableDir('state dir', join(dir, 'a/b'))).detail).toBe(`not there yet; ${dir} is writable, so it can be created`);
    writeFileSync(join(dir, 'file'), '');
    expect((await checkWritableDir('state dir', join(dir, 'file/x'))).ok).toBe(false);
  });

  it('socket: absent but creatable passes; a regular file in its place fails', async () => {
    expect((await checkSocket(join(dir, 'cri.sock'))).ok).toBe(true);
    writeFileSync(join(dir, 'cri.sock'), '');
    expect(await checkSocket(join(dir, 'cri.sock'))).toMatchObject({ ok: false, detail: 'exists and is not a socket' });
  });
});

describe('docker checks (from a health answer)', () => {
  it('dockerd: unreachable and too old fail; 1.41 passes', () => {
    expect(checkDockerd({ reachable: false, error: 'connect ENOENT' }, '/x.sock')).toMatchObject({ ok: false, detail: 'not reachable: connect ENOENT' });
    expect(checkDockerd({ reachable: true, version: '19.03', apiVersion: '1.40' }, '/x.sock').ok).toBe(false);
    expect(checkDockerd({ reachable: true, version: '20.10.24', apiVersion: '1.41' }, '/x.sock').ok).toBe(true);
  });

  it('cgroup driver: tells what the kubelet needs, fails when its config disagrees', () => {
    const h = { reachable: true, cgroupDriver: 'cgroupfs', cgroupVersion: '1' };
    expect(checkCgroupDriver(h, undefined, '/k.yaml').detail).toBe('Docker uses cgroupfs (cgroup v1): the kubelet\'s cgroupDriver must be "cgroupfs"');
    const bad = checkCgroupDriver(h, 'systemd', '/k.yaml');
    expect(bad.ok).toBe(false);
    expect(bad.fix).toBe("set cgroupDriver: cgroupfs in /k.yaml, or change Docker's exec-opts native.cgroupdriver");
  });
});

describe('rendering', () => {
  it('✓/✗ per check with the fix under a failure, and a count', () => {
    const text = renderChecks([pass('a', 'fine'), fail('b', 'broken', 'do x')]);
    expect(text).toBe('✓ a: fine\n✗ b: broken\n    fix: do x\n\n1 of 2 checks failed\n');
  });
});
