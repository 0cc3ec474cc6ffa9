import { describe, expect, it } from 'vitest';
import { KeyedMutex, RwLock } from '../../../src/cni/locks.js';
import { compareVersions, negotiateVersion, parseVersionAnswer } from '../../../src/cni/version.js';
import { buildEnvironment } from '../../../src/cni/invoke.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('KeyedMutex', () => {
  it('serializes one key in FIFO order and leaves other keys free', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const job = (key: string, name: string) =>
      m.run(key, async () => {
        log.push(`${name}+`);
        await tick();
        log.push(`${name}-`);
      });
    await Promise.all([job('a', 'a1'), job('a', 'a2'), job('b', 'b1')]);
    expect(log.indexOf('a1-')).toBeLessThan(log.indexOf('a2+'));
    expect(log.indexOf('b1+')).toBeLessThan(log.indexOf('a1-'));
  });

  it('releases after a failure', async () => {
    const m = new KeyedMutex();
    await expect(m.run('k', async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(m.run('k', async () => 1)).resolves.toBe(1);
  });
});

describe('RwLock', () => {
  it('shares among readers, excludes a writer, and a waiting writer blocks new readers', async () => {
    const l = new RwLock();
    const r1 = await l.shared();
    const r2 = await l.shared();
    let writer = false;
    let lateReader = false;
    const w = l.exclusive().then((rel) => {
      writer = true;
      return rel;
    });
    const r3 = l.shared().then((rel) => {
      lateReader = true;
      return rel;
    });
    await tick();
    expect([writer, lateReader]).toEqual([false, false]);
    r1();
    r2();
    const wr = await w;
    await tick();
    expect([writer, lateReader]).toEqual([true, false]);
    wr();
    (await r3)();
    expect(lateReader).toBe(true);
    expect(l.idle).toBe(true);
  });
});

describe('CNI versions', () => {
  it.each([
    ['1.0.0', '0.4.0', 1],
    ['0.10.0', '0.9.0', 1],
    ['1.1.0', '1.1.0', 0],
    ['0.3.0', '0.3.1', -1],
  ])('compares %s with %s', (a, b, sign) => {
    expect(Math.sign(compareVersions(a, b))).toBe(sign);
  });

  it.each([
    [['1.0.0', '1.1.0'], [['1.1.0', '1.0.0']], '1.1.0'],
    [['1.0.0', '1.1.0', '2.0.0'], [['2.0.0', '1.1.0']], '1.1.0'],
    [['0.4.0', '1.0.0', '1.1.0'], [['0.4.0', '1.0.0', '1.1.0'], ['0.3.1', '0.4.0', '1.0.0']], '1.0.0'],
  ])('offered %j with plugins %j negotiates %s', (offered, plugins, want) => {
    const res = negotiateVersion(offered, plugins.map((versions, i) => ({ plugin: `p${i}`, versions })));
    expect(res).toEqual({ ok: true, version: want });
  });

  it('explains a failed negotiation', () => {
    const res = negotiateVersion(['1.1.0'], [{ plugin: 'bridge', versions: ['1.0.0'] }]);
    expect(res).toMatchObject({ ok: false, reason: expect.stringContaining('bridge supports [1.0.0]') });
  });

  it('reads VERSION answers, including pre-0.2 ones', () => {
    expect(parseVersionAnswer('{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}')).toEqual(['0.4.0', '1.0.0']);
    expect(parseVersionAnswer('{"cniVersion":"0.1.0"}')).toEqual(['0.1.0']);
    expect(() => parseVersionAnswer('CNI bridge plugin v1')).toThrow('not JSON');
  });
});

describe('plugin environment', () => {
  it('strips inherited CNI_* variables and sets only what the call has', () => {
    const saved = process.env.CNI_NETNS;
    process.env.CNI_NETNS = '/leak';
    try {
      const env = buildEnvironment({ command: 'GC', path: '/opt/cni/bin' });
      expect(env).not.toHaveProperty('CNI_NETNS');
      expect(env).toMatchObject({ CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin', PATH: process.env.PATH });
    } finally {
      if (saved === undefined) delete process.env.CNI_NETNS;
      else process.env.CNI_NETNS = saved;
    }
  });
});
