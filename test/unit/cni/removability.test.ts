/**
 * A pod must always be removable: DELs that can never succeed are given up (cache
 * entry dropped, host-local reservations freed by hand), transient ones are retried
 * a bounded number of times; and the GC of our own leaked attachments, which never
 * touches another runtime's cache entries.
 */
import { mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CniTimeoutError, type CniAttachment, type CniEngine } from '../../../src/cni/index.js';
import { judgeDelFailure } from '../../../src/cni/del-policy.js';
import { CniPluginError } from '../../../src/cni/errors.js';
import { FakeCni, mainResult } from './fake-cni.js';

const NET = 'fakenet';

function conflist(version: string, plugins: object[], extra: object = {}): object {
  return { cniVersion: version, name: NET, plugins, ...extra };
}

function att(containerId = 'c1', netns = '/proc/self/ns/net'): CniAttachment {
  return { containerId, netns, args: { K8S_POD_NAME: 'p' } };
}

function captureLogger() {
  const lines: Record<string, any>[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

const gaveUp = (lines: Record<string, any>[]) => lines.filter((l) => String(l.msg).startsWith('CNI DEL given up'));

describe('DEL that cannot succeed does not block removal', () => {
  let fake: FakeCni;
  let dataDir: string;
  let gone: string;
  const results = () => readdir(path.join(fake.cacheDir, 'results')).catch(() => []);

  beforeEach(async () => {
    fake = await FakeCni.create(['main', 'meta', 'hl']);
    dataDir = path.join(fake.root, 'ipam');
    gone = path.join(fake.root, 'gone-netns');
    await fake.writeConf(
      '10-fake.conflist',
      conflist('1.0.0', [{ type: 'main', ipam: { type: 'hl', dataDir } }, { type: 'meta' }]),
    );
    await fake.answer('main', 'ADD', { out: mainResult('1.0.0') });
    await fake.answer('meta', 'ADD', { out: mainResult('1.0.0') });
  });
  afterEach(async () => {
    await fake.cleanup();
  });

  /** host-local's layout: one file per IP, holding "<container id>\r\n<ifname>". */
  async function reserve(network: string, files: Record<string, string>): Promise<string> {
    const dir = path.join(dataDir, network);
    await mkdir(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
    return dir;
  }

  it('a plugin binary that no longer exists: the others still DEL, the entry goes, the log says what did not clean up', async () => {
    const { logger, lines } = captureLogger();
    const engine = fake.engine({ logger });
    await engine.add(att());
    await rm(path.join(fake.binDir, 'meta'));
    await fake.clearCalls();
    await expect(engine.del({ containerId: 'c1' })).resolves.toBeUndefined();
    expect((await fake.calls()).map((c) => `${c.command} ${c.type}`)).toEqual(['DEL main']);
    expect(await results()).toEqual([]);
    expect(gaveUp(lines)).toHaveLength(1);
    expect(gaveUp(lines)[0]).toMatchObject({ containerId: 'c1', level: 50 });
    expect(gaveUp(lines)[0]?.notCleanedBy.join(' ')).toContain('plugin "meta" not found');
  });

  it('a cached IPAM type that is a path is never run, and the entry goes', async () => {
    const engine = fake.engine();
    await engine.add(att());
    // As an older shim, which did not check ipam.type, would have cached it.
    const file = path.join(fake.cacheDir, 'results', `${NET}-c1-eth0`);
    const entry = JSON.parse(await readFile(file, 'utf8'));
    const tampered = conflist('1.0.0', [{ type: 'main', ipam: { type: '../../../bin/sh' } }, { type: 'meta' }]);
    entry.config = Buffer.from(JSON.stringify(tampered)).toString('base64');
    await writeFile(file, JSON.stringify(entry));
    await fake.clearCalls();
    await expect(engine.del({ containerId: 'c1' })).resolves.toBeUndefined();
    expect((await fake.calls()).map((c) => c.type)).toEqual(['meta']);
    expect(await results()).toEqual([]);
  });

  it('refuses such a config at load, before any ADD', async () => {
    await fake.writeConf('10-fake.conflist', conflist('1.0.0', [{ type: 'main', ipam: { type: '../../../bin/sh' } }]));
    const report = await fake.engine().loadNetworks();
    expect(report.network).toBeUndefined();
    expect(report.rejected[0]?.reason).toContain('ipam: IPAM plugin type "../../../bin/sh" contains "/"');
  });

  it('an IPAM plugin that is gone: the DEL of the plugin delegating to it is given up at once, and host-local reservations are released by hand', async () => {
    await fake.writeConf('10-fake.conflist', conflist('1.0.0', [{ type: 'main', ipam: { type: 'host-local', dataDir } }]));
    const { logger, lines } = captureLogger();
    const engine = fake.engine({ logger, binDirs: [fake.binDir] });
    await engine.add(att());
    const dir = await reserve(NET, {
      '10.99.0.5': 'c1\r\neth0',
      '10.99.0.6': 'c2\r\neth0',
      '10.99.0.7': 'c1\r\nnet1',
      'fd00::5': 'c1\r\neth0',
      lock: '',
      'last_reserved_ip.0': '10.99.0.7',
    });
    // The real main plugin would fail like this without its IPAM binary.
    await fake.answer('main', 'DEL', { out: { code: 999, msg: 'failed to find plugin "host-local" in path' }, exit: 1 });
    await expect(engine.del({ containerId: 'c1' })).resolves.toBeUndefined();
    expect((await readdir(dir)).sort()).toEqual(['10.99.0.6', '10.99.0.7', 'last_reserved_ip.0', 'lock']);
    expect(await results()).toEqual([]);
    expect(gaveUp(lines)[0]).toMatchObject({ releasedHostLocalIps: expect.arrayContaining(['10.99.0.5', 'fd00::5']), ipsOfAdd: ['10.99.0.5'] });
    expect(gaveUp(lines)[0]?.why).toContain('IPAM plugin "host-local" not found');
  });

  it('a failing plugin is retried while the netns exists, and given up once it refuses without one', async () => {
    const engine = fake.engine();
    await engine.add(att());
    await fake.answer('meta', 'DEL', { out: { code: 100, msg: 'nope' }, exit: 1 });
    await expect(engine.del({ containerId: 'c1', netns: '/proc/self/ns/net' })).rejects.toThrow('nope');
    await expect(engine.del({ containerId: 'c1', netns: '/proc/self/ns/net' })).rejects.toThrow('nope');
    expect(await results()).toEqual([`${NET}-c1-eth0`]);
    await expect(engine.del({ containerId: 'c1', netns: gone })).resolves.toBeUndefined();
    expect(await results()).toEqual([]);
  });

  it('"try again later" without a netns is retried, up to the limit', async () => {
    const engine = fake.engine({ delLimits: { maxFailures: 3 } });
    await engine.add(att());
    await fake.answer('meta', 'DEL', { out: { code: 11, msg: 'busy' }, exit: 1 });
    await expect(engine.del({ containerId: 'c1', netns: gone })).rejects.toThrow('busy');
    await expect(engine.del({ containerId: 'c1', netns: gone })).rejects.toThrow('busy');
    expect(await results()).toEqual([`${NET}-c1-eth0`]);
    await expect(engine.del({ containerId: 'c1', netns: gone })).resolves.toBeUndefined();
    expect(await results()).toEqual([]);
  });

  it('a hanging plugin is killed at the timeout each time, and given up after the limit once the netns is gone', async () => {
    const engine = fake.engine({ pluginTimeoutMs: 300, delLimits: { maxFailures: 2 } });
    await engine.add(att());
    await fake.answer('meta', 'DEL', { sleep: 30 });
    await expect(engine.del({ containerId: 'c1', netns: '/proc/self/ns/net' })).rejects.toBeInstanceOf(CniTimeoutError);
    await expect(engine.del({ containerId: 'c1', netns: gone })).resolves.toBeUndefined();
    expect(await results()).toEqual([]);
    // Every DEL still ran the rest of the list.
    expect((await fake.calls({ command: 'DEL', type: 'main' })).length).toBe(2);
  });

  it('a success in between resets the count', async () => {
    const engine = fake.engine({ delLimits: { maxFailures: 2 } });
    await engine.add(att('c1'));
    await fake.answer('meta', 'DEL', { out: { code: 11, msg: 'busy' }, exit: 1 });
    await expect(engine.del({ containerId: 'c1', netns: gone })).rejects.toThrow('busy');
    await fake.answer('meta', 'DEL', {});
    await engine.del({ containerId: 'c1', netns: gone });
    await engine.add(att('c1'));
    await fake.answer('meta', 'DEL', { out: { code: 11, msg: 'busy' }, exit: 1 });
    await expect(engine.del({ containerId: 'c1', netns: gone })).rejects.toThrow('busy');
  });

  it("an ADD cut short (no cached result): DEL gets the IPs host-local holds for it as prevResult", async () => {
    await fake.writeConf('10-fake.conflist', conflist('1.0.0', [{ type: 'main', ipam: { type: 'host-local', dataDir } }, { type: 'meta' }]));
    const engine = fake.engine();
    await engine.add(att());
    const file = path.join(fake.cacheDir, 'results', `${NET}-c1-eth0`);
    const entry = JSON.parse(await readFile(file, 'utf8'));
    delete entry.result;
    await writeFile(file, JSON.stringify(entry));
    await reserve(NET, { '10.99.0.5': 'c1\r\neth0', '10.99.0.6': 'c2\r\neth0' });
    await fake.clearCalls();
    await engine.del({ containerId: 'c1' });
    const dels = await fake.calls({ command: 'DEL' });
    expect(dels.map((c) => c.type)).toEqual(['meta', 'main']);
    for (const d of dels) expect(d.stdin?.prevResult).toMatchObject({ cniVersion: '1.0.0', ips: [{ address: '10.99.0.5/32' }] });
    expect(await results()).toEqual([]);
  });

  it('cachedAttachment tells an ADD cut short (entry, no result) from none', async () => {
    const engine = fake.engine();
    expect(await engine.cachedAttachment({ containerId: 'c1' })).toBeUndefined();
    await engine.add(att());
    const file = path.join(fake.cacheDir, 'results', `${NET}-c1-eth0`);
    expect((await engine.cachedAttachment({ containerId: 'c1' }))?.result?.ips).toHaveLength(1);
    const entry = JSON.parse(await readFile(file, 'utf8'));
    delete entry.result;
    await writeFile(file, JSON.stringify(entry));
    expect(await engine.cachedAttachment({ containerId: 'c1' })).toEqual({});
  });
});

describe('the policy table', () => {
  const limits = { maxFailures: 3, maxFailingMs: 600_000 };
  const refusal = new CniPluginError({ plugin: 'p', command: 'DEL', cniCode: 100, msg: 'no', exitCode: 1 });
  const later = new CniPluginError({ plugin: 'p', command: 'DEL', cniCode: 11, msg: 'later', exitCode: 1 });
  const unstartable = new CniPluginError({ plugin: 'p', command: 'DEL', msg: 'cannot execute' });
  const base = { errors: [refusal], unrunnable: [], addCompleted: true, netnsGone: false, failures: 1, failingMs: 0 };

  it.each([
    ['a refusal with the netns there', {}, false],
    ['a refusal without netns', { netnsGone: true }, true],
    ['try-again-later without netns, first time', { netnsGone: true, errors: [later] }, false],
    ['try-again-later without netns, third time', { netnsGone: true, errors: [later], failures: 3 }, true],
    ['try-again-later without netns for too long', { netnsGone: true, errors: [later], failingMs: 600_000 }, true],
    ['a plugin that would not start, without netns', { netnsGone: true, errors: [unstartable] }, false],
    ['many failures while the netns is there', { errors: [later], failures: 10, failingMs: 1e9 }, false],
    ['a plugin that cannot run', { unrunnable: ['plugin "x" not found'] }, true],
    ['no completed ADD', { addCompleted: false }, true],
  ])('%s', (_name, facts, expected) => {
    expect(judgeDelFailure({ ...base, ...facts }, limits).giveUp).toBe(expected);
  });
});

describe('collecting our leaked attachments', () => {
  let fake: FakeCni;
  let ours: CniEngine;
  const results = async () => (await readdir(path.join(fake.cacheDir, 'results'))).sort();

  beforeEach(async () => {
    fake = await FakeCni.create(['main', 'meta']);
    await fake.writeConf('10-fake.conflist', conflist('1.1.0', [{ type: 'main' }, { type: 'meta' }]));
    await fake.answer('main', 'ADD', { out: mainResult('1.1.0') });
    await fake.answer('meta', 'ADD', { out: mainResult('1.1.0') });
    ours = fake.engine({ owner: '/var/lib/cri-shim' });
  });
  afterEach(async () => {
    await fake.cleanup();
  });

  /** Cache files older than any min age, as leaked ones are. */
  async function age(): Promise<void> {
    const old = new Date(Date.now() - 3_600_000);
    for (const f of await results()) await utimes(path.join(fake.cacheDir, 'results', f), old, old);
  }

  it('marks what it writes with its owner, in a field libcni ignores', async () => {
    await ours.add(att('c1'));
    const entry = JSON.parse(await readFile(path.join(fake.cacheDir, 'results', `${NET}-c1-eth0`), 'utf8'));
    expect(entry).toMatchObject({ kind: 'cniCacheV1', containerId: 'c1', criShimOwner: '/var/lib/cri-shim' });
  });

  it("DELs ours whose container is gone, leaves live ones and other runtimes' alone, and lists all of those as valid in GC", async () => {
    await ours.add(att('live1'));
    await ours.add(att('leaked'));
    await fake.engine({ owner: '/var/lib/other-shim' }).add(att('theirs'));
    await fake.engine().add(att('libcni'));
    await age();
    await fake.clearCalls();
    const reports = await ours.collectStale(async () => [{ containerId: 'live1', ifName: 'eth0' }, { containerId: 'nocache', ifName: 'eth0' }], { minAgeMs: 60_000 });
    expect(reports).toEqual([{ network: NET, deleted: [{ containerId: 'leaked', ifName: 'eth0' }], errors: [] }]);
    expect(await results()).toEqual([`${NET}-libcni-eth0`, `${NET}-live1-eth0`, `${NET}-theirs-eth0`]);
    const calls = await fake.calls();
    expect(calls.map((c) => `${c.command} ${c.type} ${c.env.CNI_CONTAINERID ?? ''}`.trim())).toEqual([
      'DEL meta leaked', 'DEL main leaked', 'GC main', 'GC meta',
    ]);
    const valid = calls[2]?.stdin?.['cni.dev/valid-attachments'].map((v: any) => v.containerID).sort();
    expect(valid).toEqual(['libcni', 'live1', 'nocache', 'theirs']);
  });

  it('leaves young entries for a later pass', async () => {
    await ours.add(att('fresh'));
    const [report] = await ours.collectStale(async () => [], { minAgeMs: 60_000 });
    expect(report?.deleted).toEqual([]);
    expect(await results()).toEqual([`${NET}-fresh-eth0`]);
  });

  it('an engine with no owner collects nothing', async () => {
    const anonymous = fake.engine();
    await anonymous.add(att('x'));
    await age();
    expect(await anonymous.collectStale(async () => [])).toEqual([]);
    expect(await results()).toEqual([`${NET}-x-eth0`]);
  });

  it('a stale attachment whose DEL keeps failing is kept valid, then given up after the limit', async () => {
    const limited = fake.engine({ owner: '/var/lib/cri-shim', delLimits: { maxFailures: 2 } });
    // Its pause container is gone, and with it the netns.
    await limited.add(att('leaked', path.join(fake.root, 'gone-netns')));
    await age();
    await fake.answer('meta', 'DEL', { out: { code: 11, msg: 'busy' }, exit: 1 });
    const [first] = await limited.collectStale(async () => []);
    expect(first?.errors.map((e) => e.message)).toEqual([expect.stringContaining('busy')]);
    const gc = await fake.calls({ command: 'GC' });
    expect(gc[0]?.stdin?.['cni.dev/valid-attachments']).toEqual([{ containerID: 'leaked', ifname: 'eth0' }]);
    const [second] = await limited.collectStale(async () => []);
    expect(second?.deleted).toEqual([{ containerId: 'leaked', ifName: 'eth0' }]);
    expect(await results()).toEqual([]);
  });

  it('when listing live containers fails, nothing is touched', async () => {
    await ours.add(att('c1'));
    await age();
    await expect(ours.collectStale(async () => Promise.reject(new Error('dockerd down')))).rejects.toThrow('dockerd down');
    expect(await results()).toEqual([`${NET}-c1-eth0`]);
  });
});
