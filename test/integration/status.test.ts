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
