import { execFileSync } from 'node:child_process';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestShim, type TestShim } from '../helpers/shim.js';

const condition = (res: any, type: string) => res.status.conditions.find((c: any) => c.type === type);

describe('Status and RuntimeConfig with dockerd up', () => {
  let t: TestShim;
  beforeAll(async () => {
    t = await startTestShim();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('RuntimeReady is true', async () => {
    const res = await t.call(t.runtime, 'Status', {});
    expect(condition(res, 'RuntimeReady')).toMatchObject({ status: true });
    expect(res.info).toEqual({});
  });

  it('verbose info is JSON per key: config, docker version, socket', async () => {
    const res = await t.call(t.runtime, 'Status', { verbose: true });
    const info = Object.fromEntries(Object.entries(res.info).map(([k, v]) => [k, JSON.parse(v as string)]));
    const dockerVersion = execFileSync('docker', ['version', '-f', '{{.Server.Version}}'], { encoding: 'utf8' }).trim();
    expect(info.docker).toMatchObject({ reachable: true, version: dockerVersion });
    expect(info.config.listen).toBe(t.config.listen);
    expect(info.socket).toBe(t.config.listen);
    // Event-loop delay windows (filled every 5 s) and the process's memory, for benches and operators.
    expect(info.eventLoopDelay).toMatchObject({ windowMs: 5000 });
    expect(Array.isArray(info.eventLoopDelay.windows)).toBe(true);
    expect(info.memory.rss).toBeGreaterThan(0);
  });

  it('RuntimeConfig reports the cgroup driver docker uses', async () => {
    const driver = execFileSync('docker', ['info', '-f', '{{.CgroupDriver}}'], { encoding: 'utf8' }).trim();
    const res = await t.call(t.runtime, 'RuntimeConfig', {});
    expect(res.linux.cgroup_driver).toBe(driver === 'systemd' ? 'SYSTEMD' : 'CGROUPFS');
  });
});

describe('Status with dockerd unreachable', () => {
  let t: TestShim;
  beforeAll(async () => {
    t = await startTestShim({ dockerEndpoint: '/nonexistent/docker.sock' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('RuntimeReady is false with a reason and a message naming the endpoint', async () => {
    const res = await t.call(t.runtime, 'Status', {});
    const c = condition(res, 'RuntimeReady');
    expect(c.status).toBe(false);
    expect(c.reason).toBe('DockerUnreachable');
    expect(c.message).toContain('/nonexistent/docker.sock');
  });

  it('RuntimeConfig is UNAVAILABLE', async () => {
    await expect(t.call(t.runtime, 'RuntimeConfig', {})).rejects.toMatchObject({ code: status.UNAVAILABLE });
  });
});

describe('NetworkReady follows the CNI conf dir', () => {
  let t: TestShim;
  beforeAll(async () => {
    t = await startTestShim();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is false with a reason and the rejected file named, then true once a valid config appears', async () => {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    mkdirSync(t.config.cniConfDir, { recursive: true });
    writeFileSync(join(t.config.cniConfDir, '05-broken.conflist'), '{ "cniVersion": "1.0.0", ');
    const deadline = Date.now() + 10_000;
    let net: any;
    for (;;) {
      const res = await t.call(t.runtime, 'Status', {});
      net = condition(res, 'NetworkReady');
      if (net.message.includes('05-broken.conflist') || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(net.status).toBe(false);
    expect(net.reason).not.toBe('');
    expect(net.message).toContain('05-broken.conflist');

    writeFileSync(
      join(t.config.cniConfDir, '10-ok.conflist'),
      JSON.stringify({ cniVersion: '1.0.0', name: 'status-test', plugins: [{ type: 'loopback' }] }),
    );
    for (;;) {
      const res = await t.call(t.runtime, 'Status', {});
      net = condition(res, 'NetworkReady');
      if (net.status || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(net.status).toBe(true);
  });
});

describe('NetworkReady asks CNI 1.1 plugins for their STATUS', () => {
  let t: TestShim;
  let root: string;
  beforeAll(async () => {
    const { cpSync, mkdirSync, mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    // The fake plugin keeps its canned answers next to its own bin dir.
    root = mkdtempSync(join(tmpdir(), 'cri-shim-status-'));
    mkdirSync(join(root, 'bin'));
    mkdirSync(join(root, 'ctl'));
    mkdirSync(join(root, 'net.d'));
    cpSync(join(import.meta.dirname, '../fixtures/cni/fake-plugin.sh'), join(root, 'bin', 'statusy'));
    writeFileSync(join(root, 'ctl', 'statusy.STATUS.out'), '{"cniVersion":"1.1.0","code":50,"msg":"plugin not available: no uplink"}');
    writeFileSync(join(root, 'ctl', 'statusy.STATUS.exit'), '1');
    writeFileSync(
      join(root, 'net.d', '10-status.conflist'),
      JSON.stringify({ cniVersion: '1.1.0', name: 'status-verb', plugins: [{ type: 'statusy' }] }),
    );
    t = await startTestShim({ cniConfDir: join(root, 'net.d'), cniBinDirs: [join(root, 'bin')] });
  });
  afterAll(async () => {
    await t?.close();
    const { rmSync } = await import('node:fs');
    rmSync(root, { recursive: true, force: true });
  });

  it('is false with the plugin message when STATUS fails', async () => {
    const res = await t.call(t.runtime, 'Status', {});
    const net = condition(res, 'NetworkReady');
    expect(net.status).toBe(false);
    expect(net.message).toContain('no uplink');
  });
});
