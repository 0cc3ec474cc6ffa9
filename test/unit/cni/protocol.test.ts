/**
 * The plugin protocol, proven with fake plugins that record their env and stdin.
 */
import { mkdir, open, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CniNotReadyError,
  CniPluginError,
  CniTimeoutError,
  type CniAttachment,
  type CniEngine,
} from '../../../src/cni/index.js';
import { FailedPreconditionError, InvalidArgumentError } from '../../../src/errors.js';
import { FakeCni, mainResult } from './fake-cni.js';

const NET = 'fakenet';
const OWNER = '/var/lib/cri-shim-test';
const PLUGINS = [
  { type: 'main', capabilities: { portMappings: true, bandwidth: false }, bridge: 'br0', ipam: { type: 'x', subnet: '10.99.0.0/24' } },
  { type: 'meta', capabilities: { bandwidth: true, mac: true } },
  { type: 'tail', someKnob: { nested: [1, 2] } },
];

function conflist(version: string, extra: object = {}, plugins: object[] = PLUGINS, name = NET): object {
  return { cniVersion: version, name, plugins, ...extra };
}

const POD_ARGS = {
  K8S_POD_NAMESPACE: 'default',
  K8S_POD_NAME: 'web-0',
  K8S_POD_INFRA_CONTAINER_ID: 'c1',
  K8S_POD_UID: '1234-5678',
};

function att(containerId = 'c1', extra: Partial<CniAttachment> = {}): CniAttachment {
  return { containerId, netns: '/proc/self/ns/net', args: POD_ARGS, ...extra };
}

/** Each fake plugin answers ADD with its own recognisable result. */
async function cannedAdd(fake: FakeCni, version = '1.0.0'): Promise<void> {
  await fake.answer('main', 'ADD', { out: mainResult(version) });
  const withMeta = { ...mainResult(version), routes: [{ dst: '0.0.0.0/0', gw: '10.99.0.1' }, { dst: '10.200.0.0/16' }] };
  await fake.answer('meta', 'ADD', { out: withMeta });
  await fake.answer('tail', 'ADD', { out: { ...withMeta, dns: { nameservers: ['10.99.0.10'], search: ['svc.local'] } } });
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

function captureLogger() {
  const lines: Record<string, any>[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

describe('CNI plugin protocol', () => {
  let fake: FakeCni;
  let engine: CniEngine;
  beforeEach(async () => {
    fake = await FakeCni.create(['main', 'meta', 'tail', 'other']);
    await fake.writeConf('10-fake.conflist', conflist('1.0.0'));
    await cannedAdd(fake);
    engine = fake.engine();
  });
  afterEach(async () => {
    await fake.cleanup();
  });

  describe('ADD', () => {
    it('sets CNI_* for every plugin, with CNI_ARGS from the caller plus IgnoreUnknown=1', async () => {
      await engine.add(att('c1', { netns: '/var/run/netns/pod1', ifName: 'net1' }));
      const calls = await fake.calls({ command: 'ADD' });
      expect(calls.map((c) => c.type)).toEqual(['main', 'meta', 'tail']);
      for (const c of calls) {
        expect(c.env).toMatchObject({
          CNI_COMMAND: 'ADD',
          CNI_CONTAINERID: 'c1',
          CNI_NETNS: '/var/run/netns/pod1',
          CNI_IFNAME: 'net1',
          CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=c1;K8S_POD_UID=1234-5678',
          CNI_PATH: fake.binDir,
        });
      }
    });

    it('defaults the interface to eth0 and does not duplicate a caller IgnoreUnknown', async () => {
      await engine.add(att('c1', { args: { IgnoreUnknown: 'true', A: 'b' } }));
      const [first] = await fake.calls({ command: 'ADD' });
      expect(first?.env.CNI_IFNAME).toBe('eth0');
      expect(first?.env.CNI_ARGS).toBe('IgnoreUnknown=1;A=b');
    });

    it('chains results: each plugin gets the previous result as prevResult, with the list name and version', async () => {
      const result = await engine.add(att());
      const [main, meta, tail] = await fake.calls({ command: 'ADD' });
      expect(main?.stdin).not.toHaveProperty('prevResult');
      expect(meta?.stdin?.prevResult).toEqual(mainResult('1.0.0'));
      expect(tail?.stdin?.prevResult.routes).toHaveLength(2);
      for (const c of [main, meta, tail]) expect(c?.stdin).toMatchObject({ name: NET, cniVersion: '1.0.0' });
      // Plugin-owned keys pass through untouched.
      expect(main?.stdin).toMatchObject({ bridge: 'br0', ipam: { type: 'x', subnet: '10.99.0.0/24' } });
      expect(tail?.stdin?.someKnob).toEqual({ nested: [1, 2] });
      // The typed result is the last plugin's.
      expect(result.dns).toEqual({ nameservers: ['10.99.0.10'], search: ['svc.local'] });
      expect(result.ips).toEqual([{ address: '10.99.0.5/24', gateway: '10.99.0.1', interface: 2, version: 4 }]);
      expect(result.interfaces[2]).toEqual({ name: 'eth0', mac: '00:11:22:33:44:77', sandbox: '/var/run/netns/x' });
    });

    it('gives each plugin runtimeConfig = offered capability args ∩ its declared capabilities', async () => {
      const capabilityArgs = {
        portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
        bandwidth: { ingressRate: 1000, ingressBurst: 100 },
        mac: '02:00:00:00:00:01',
        ips: ['10.99.0.77/24'],
      };
      await engine.add(att('c1', { capabilityArgs }));
      const [main, meta, tail] = await fake.calls({ command: 'ADD' });
      expect(main?.stdin?.runtimeConfig).toEqual({ portMappings: capabilityArgs.portMappings });
      expect(meta?.stdin?.runtimeConfig).toEqual({ bandwidth: capabilityArgs.bandwidth, mac: capabilityArgs.mac });
      expect(tail?.stdin).not.toHaveProperty('runtimeConfig');
    });

    it('converts a result of another version to the list version before chaining it', async () => {
      await fake.writeConf('10-fake.conflist', conflist('0.4.0'));
      await engine.loadNetworks();
      const result = await engine.add(att());
      const [, meta] = await fake.calls({ command: 'ADD' });
      expect(meta?.stdin?.prevResult.cniVersion).toBe('0.4.0');
      expect(meta?.stdin?.prevResult.ips).toEqual([{ version: '4', address: '10.99.0.5/24', gateway: '10.99.0.1', interface: 2 }]);
      expect(result.cniVersion).toBe('0.4.0');
    });

    it('records the attachment in the libcni cache format, mode 0600', async () => {
      const capabilityArgs = { portMappings: [{ hostPort: 1, containerPort: 2, protocol: 'udp' }] };
      const result = await engine.add(att('c1', { netns: '/var/run/netns/p', capabilityArgs }));
      const file = path.join(fake.cacheDir, 'results', `${NET}-c1-eth0`);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const cached = JSON.parse(await readFile(file, 'utf8'));
      const confBytes = await readFile(path.join(fake.confDir, '10-fake.conflist'));
      expect(cached).toEqual({
        kind: 'cniCacheV1',
        containerId: 'c1',
        config: confBytes.toString('base64'),
        ifName: 'eth0',
        networkName: NET,
        netns: '/var/run/netns/p',
        cniArgs: [['IgnoreUnknown', '1'], ...Object.entries(POD_ARGS)],
        capabilityArgs,
        result: result.raw,
      });
      expect(await readdir(path.join(fake.cacheDir, 'results'))).toEqual([`${NET}-c1-eth0`]);
    });

    it('rejects bad container ids, interface names and CNI_ARGS before running anything', async () => {
      await expect(engine.add(att('../etc'))).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(engine.add(att('c1', { ifName: 'a-very-long-ifname' }))).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(engine.add(att('c1', { ifName: 'a/b' }))).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(engine.add(att('c1', { args: { K: 'v;Evil=1' } }))).rejects.toThrow(/CNI_ARGS value for K/);
      await expect(engine.add(att('c1', { args: { 'K=x': 'v' } }))).rejects.toThrow(/CNI_ARGS key/);
      await expect(engine.add(att('c1', { netns: '' }))).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(await fake.calls()).toEqual([]);
    });

    it('fails with the status message when there is no network', async () => {
      const empty = fake.engine({ confDir: path.join(fake.root, 'empty') });
      const err = await empty.add(att()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CniNotReadyError);
      expect((err as Error).message).toContain('no valid CNI network config');
    });

    it('a repeated ADD without DEL first DELs the earlier attachment', async () => {
      await engine.add(att());
      await fake.clearCalls();
      await engine.add(att());
      const calls = await fake.calls();
      expect(calls.map((c) => `${c.command} ${c.type}`)).toEqual([
        'DEL tail', 'DEL meta', 'DEL main', 'ADD main', 'ADD meta', 'ADD tail',
      ]);
    });
  });

  describe('plugin failures', () => {
    it('turns error JSON into a typed error naming network, plugin, code and meaning', async () => {
      await fake.answer('meta', 'ADD', {
        out: { cniVersion: '1.0.0', code: 7, msg: 'bad bridge name', details: 'name too long' },
        exit: 1,
      });
      const err = (await engine.add(att()).catch((e: unknown) => e)) as CniPluginError;
      expect(err).toBeInstanceOf(CniPluginError);
      expect(err.message).toBe(
        'network "fakenet": CNI plugin "meta" failed on ADD: code 7 (invalid network config): bad bridge name (details: name too long)',
      );
      expect(err).toMatchObject({ code: 'INTERNAL', cniCode: 7, plugin: 'meta', network: NET, command: 'ADD', details: 'name too long' });
    });

    it('maps "try again later" (11) to UNAVAILABLE', async () => {
      await fake.answer('main', 'ADD', { out: { code: 11, msg: 'ipam busy' }, exit: 1 });
      const err = (await engine.add(att()).catch((e: unknown) => e)) as CniPluginError;
      expect(err.code).toBe('UNAVAILABLE');
      expect(err.message).toContain('code 11 (try again later): ipam busy');
    });

    it('quotes stderr when the plugin printed no JSON', async () => {
      await fake.answer('main', 'ADD', { err: 'panic: runtime error\ngoroutine 1', exit: 2 });
      const err = (await engine.add(att()).catch((e: unknown) => e)) as CniPluginError;
      expect(err.message).toBe(
        'network "fakenet": CNI plugin "main" failed on ADD: exited with status 2; stderr: "panic: runtime error\\ngoroutine 1"',
      );
      expect(err.cniCode).toBeUndefined();
      await fake.answer('main', 'ADD', { exit: 3 });
      await expect(engine.add(att())).rejects.toThrow('exited with status 3 with no output');
      await fake.answer('main', 'ADD', { out: 'Segmentation fault', exit: 139 });
      await expect(engine.add(att())).rejects.toThrow('exited with status 139; stdout: "Segmentation fault"');
    });

    it('a malformed result is an error too', async () => {
      await fake.answer('main', 'ADD', { out: '{"cniVersion":"1.0.0","ips":"nope"}' });
      await expect(engine.add(att())).rejects.toThrow('malformed CNI result: result.ips is not an array');
    });

    it('after a failed ADD it DELs the whole list and drops the cache entry', async () => {
      await fake.answer('tail', 'ADD', { out: { code: 7, msg: 'no' }, exit: 1 });
      await expect(engine.add(att())).rejects.toThrow(CniPluginError);
      const calls = await fake.calls();
      expect(calls.map((c) => `${c.command} ${c.type}`)).toEqual([
        'ADD main', 'ADD meta', 'ADD tail', 'DEL tail', 'DEL meta', 'DEL main',
      ]);
      // What the chain made before "tail" failed (meta's result), so plugins that key
      // their cleanup on the pod's IPs find it.
      for (const del of calls.slice(3)) {
        expect(del.stdin?.prevResult?.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.99.0.1' }, { dst: '10.200.0.0/16' }]);
      }
      expect(await readdir(path.join(fake.cacheDir, 'results'))).toEqual([]);
    });

    it('when that DEL fails too, gives up on it (the ADD never succeeded): no entry is left to block removal', async () => {
      const { logger, lines } = captureLogger();
      const withLog = fake.engine({ logger });
      await fake.answer('tail', 'ADD', { out: { code: 7, msg: 'no' }, exit: 1 });
      await fake.answer('main', 'DEL', { out: { code: 11, msg: 'later' }, exit: 1 });
      await expect(withLog.add(att())).rejects.toThrow('code 7');
      expect(await readdir(path.join(fake.cacheDir, 'results'))).toEqual([]);
      const gaveUp = lines.find((l) => String(l.msg).startsWith('CNI DEL given up'));
      expect(gaveUp).toMatchObject({ containerId: 'c1', why: 'no completed ADD is recorded for this attachment', notCleanedBy: ['main'] });
      await fake.answer('main', 'DEL', {});
      await expect(withLog.del({ containerId: 'c1' })).resolves.toBeUndefined();
    });

    it('kills a plugin (and what it started) when it exceeds the timeout', async () => {
      const quick = fake.engine({ pluginTimeoutMs: 300 });
      await fake.answer('main', 'ADD', { sleep: 30 });
      const started = Date.now();
      const err = await quick.add(att()).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(err).toBeInstanceOf(CniTimeoutError);
      expect(err).toMatchObject({ code: 'DEADLINE_EXCEEDED', plugin: 'main', command: 'ADD', timeoutMs: 300 });
      expect((err as Error).message).toBe('network "fakenet": CNI plugin "main" timed out on ADD after 300 ms and was killed');
      const [shell, sleeper] = await fake.pids('main', 'ADD');
      await expect.poll(() => isAlive(shell as number)).toBe(false);
      await expect.poll(() => isAlive(sleeper as number)).toBe(false);
    });

    it('retries a plugin binary that is busy being written (ETXTBSY)', async () => {
      await engine.status();
      const writer = await open(path.join(fake.binDir, 'meta'), 'r+');
      setTimeout(() => void writer.close(), 400);
      const result = await engine.add(att());
      expect(result.ips).toHaveLength(1);
      expect((await fake.calls({ command: 'ADD' })).map((c) => c.type)).toEqual(['main', 'meta', 'tail']);
    });
  });

  describe('DEL', () => {
    it('runs the list in reverse with the cached result as prevResult, then drops the cache entry', async () => {
      const capabilityArgs = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] };
      const result = await engine.add(att('c1', { capabilityArgs }));
      await fake.clearCalls();
      await engine.del({ containerId: 'c1', netns: '/proc/self/ns/net' });
      const calls = await fake.calls();
      expect(calls.map((c) => `${c.command} ${c.type}`)).toEqual(['DEL tail', 'DEL meta', 'DEL main']);
      for (const c of calls) {
        expect(c.stdin?.prevResult).toEqual(result.raw);
        expect(c.env).toMatchObject({ CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_NETNS: '/proc/self/ns/net' });
        expect(c.env.CNI_ARGS).toContain('K8S_POD_NAME=web-0');
      }
      expect(calls[2]?.stdin?.runtimeConfig).toEqual(capabilityArgs);
      expect(await readdir(path.join(fake.cacheDir, 'results'))).toEqual([]);
    });

    it('uses the cached config, args and capability args, not the current conf dir', async () => {
      await engine.add(att('c1', { capabilityArgs: { portMappings: [{ hostPort: 1, containerPort: 1, protocol: 'tcp' }] } }));
      await fake.writeConf('10-fake.conflist', conflist('1.0.0', {}, [{ type: 'other' }], 'newnet'));
      expect((await engine.loadNetworks()).network?.name).toBe('newnet');
      await fake.clearCalls();
      await engine.del({ containerId: 'c1', args: { K8S_POD_NAME: 'someone-else' } });
      const calls = await fake.calls();
      expect(calls.map((c) => c.type)).toEqual(['tail', 'meta', 'main']);
      expect(calls.every((c) => c.stdin?.name === NET)).toBe(true);
      expect(calls[0]?.env.CNI_ARGS).toContain('K8S_POD_NAME=web-0');
      expect(calls[2]?.stdin?.runtimeConfig).toEqual({ portMappings: [{ hostPort: 1, containerPort: 1, protocol: 'tcp' }] });
    });

    it('passes an empty CNI_NETNS when the netns is gone', async () => {
      await engine.add(att('c1', { netns: '/proc/self/ns/net' }));
      await fake.clearCalls();
      await engine.del({ containerId: 'c1', netns: path.join(fake.root, 'gone-netns') });
      const calls = await fake.calls();
      expect(calls).toHaveLength(3);
      expect(calls.every((c) => c.env.CNI_NETNS === '')).toBe(true);
    });

    it('without a cache entry DELs with the current network and no prevResult; twice is fine', async () => {
      await engine.del({ containerId: 'c9', netns: '/proc/self/ns/net', args: { K8S_POD_NAME: 'x' } });
      await engine.del({ containerId: 'c9' });
      const calls = await fake.calls();
      expect(calls.map((c) => c.type)).toEqual(['tail', 'meta', 'main', 'tail', 'meta', 'main']);
      expect(calls.every((c) => !('prevResult' in (c.stdin ?? {})))).toBe(true);
      expect(calls[0]?.env).toMatchObject({ CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=x', CNI_NETNS: '/proc/self/ns/net' });
      expect(calls[3]?.env).toMatchObject({ CNI_ARGS: 'IgnoreUnknown=1', CNI_NETNS: '' });
    });

    it('succeeds with neither cache nor network', async () => {
      const empty = fake.engine({ confDir: path.join(fake.root, 'empty') });
      await expect(empty.del({ containerId: 'c1' })).resolves.toBeUndefined();
    });

    it('does not pass prevResult below 0.4.0', async () => {
      await fake.writeConf('10-fake.conflist', conflist('0.3.1'));
      await engine.loadNetworks();
      await cannedAdd(fake, '0.3.1');
      await engine.add(att());
      await fake.clearCalls();
      await engine.del({ containerId: 'c1' });
      expect((await fake.calls()).every((c) => !('prevResult' in (c.stdin ?? {})))).toBe(true);
    });

    it('runs every plugin even when one fails, keeps the cache, and succeeds on retry', async () => {
      await engine.add(att());
      await fake.clearCalls();
      await fake.answer('meta', 'DEL', { out: { code: 5, msg: 'disk' }, exit: 1 });
      await expect(engine.del({ containerId: 'c1' })).rejects.toThrow('CNI plugin "meta" failed on DEL: code 5 (I/O failure): disk');
      expect((await fake.calls()).map((c) => c.type)).toEqual(['tail', 'meta', 'main']);
      expect(await readdir(path.join(fake.cacheDir, 'results'))).toEqual([`${NET}-c1-eth0`]);
      await fake.answer('meta', 'DEL', {});
      await engine.del({ containerId: 'c1' });
      expect(await readdir(path.join(fake.cacheDir, 'results'))).toEqual([]);
    });

    it('treats "container unknown" (3) from a plugin as nothing to clean', async () => {
      await engine.add(att());
      await fake.answer('main', 'DEL', { out: { code: 3, msg: 'who?' }, exit: 1 });
      await expect(engine.del({ containerId: 'c1' })).resolves.toBeUndefined();
    });

    it('logs a corrupt cache file, DELs without it and removes it', async () => {
      const { logger, lines } = captureLogger();
      const withLog = fake.engine({ logger });
      await withLog.add(att());
      const file = path.join(fake.cacheDir, 'results', `${NET}-c1-eth0`);
      await writeFile(file, '{"kind":"cniCacheV1","containerId":"c1","conf');
      await fake.clearCalls();
      await withLog.del({ containerId: 'c1' });
      const calls = await fake.calls();
      expect(calls.map((c) => c.type)).toEqual(['tail', 'meta', 'main']);
      expect(calls.every((c) => !('prevResult' in (c.stdin ?? {})))).toBe(true);
      expect(lines.some((l) => l.msg === 'ignoring corrupt CNI cache file' && l.file === file)).toBe(true);
      await expect(stat(file)).rejects.toThrow(/ENOENT/);
    });

    it('DEL speaks the version ADD negotiated, even if negotiation would now pick another', async () => {
      await fake.writeConf('10-fake.conflist', conflist('1.0.0', { cniVersions: ['1.0.0', '1.1.0'] }));
      expect((await engine.loadNetworks()).network?.cniVersion).toBe('1.1.0');
      await cannedAdd(fake, '1.1.0');
      await engine.add(att());
      // The plugin is replaced by one that stops at 1.0.0 (new mtime: asked again).
      await fake.answer('meta', 'VERSION', { out: { cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0'] } });
      await fake.install('meta');
      expect((await engine.loadNetworks()).network?.cniVersion).toBe('1.0.0');
      await fake.clearCalls();
      await engine.del({ containerId: 'c1' });
      const dels = await fake.calls({ command: 'DEL' });
      expect(dels.map((c) => c.stdin?.cniVersion)).toEqual(['1.1.0', '1.1.0', '1.1.0']);
      expect(dels[0]?.stdin?.prevResult.cniVersion).toBe('1.1.0');
    });

    it('reads a cache entry written by another runtime (libcni layout)', async () => {
      const conf = Buffer.from(JSON.stringify(conflist('1.0.0', {}, [{ type: 'other', foo: 'bar' }], 'foreign')));
      const entry = {
        kind: 'cniCacheV1',
        containerId: 'abc',
        config: conf.toString('base64'),
        ifName: 'eth1',
        networkName: 'foreign',
        netns: '/proc/self/ns/net',
        cniArgs: [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'p']],
        result: mainResult('1.0.0'),
      };
      await mkdir(path.join(fake.cacheDir, 'results'), { recursive: true });
      await writeFile(path.join(fake.cacheDir, 'results', 'foreign-abc-eth1'), JSON.stringify(entry));
      await engine.del({ containerId: 'abc', ifName: 'eth1' });
      const [call] = await fake.calls();
      expect(call).toMatchObject({ type: 'other', command: 'DEL' });
      expect(call?.stdin).toMatchObject({ name: 'foreign', foo: 'bar', prevResult: mainResult('1.0.0') });
      expect(call?.env).toMatchObject({ CNI_IFNAME: 'eth1', CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=p' });
    });
  });

  describe('CHECK', () => {
    it('runs the list in order with the cached result', async () => {
      const result = await engine.add(att());
      await fake.clearCalls();
      expect(await engine.check(att())).toEqual({ ran: true });
      const calls = await fake.calls();
      expect(calls.map((c) => `${c.command} ${c.type}`)).toEqual(['CHECK main', 'CHECK meta', 'CHECK tail']);
      expect(calls.every((c) => JSON.stringify(c.stdin?.prevResult) === JSON.stringify(result.raw))).toBe(true);
    });

    it('reports a failing CHECK as a plugin error', async () => {
      await engine.add(att());
      await fake.answer('meta', 'CHECK', { out: { code: 100, msg: 'veth missing' }, exit: 1 });
      await expect(engine.check(att())).rejects.toThrow('failed on CHECK: code 100 (plugin-specific error): veth missing');
    });

    it('is skipped with disableCheck and below 0.4.0, and refused before ADD', async () => {
      await expect(engine.check(att())).rejects.toBeInstanceOf(FailedPreconditionError);
      await fake.writeConf('10-fake.conflist', conflist('1.0.0', { disableCheck: true }));
      await engine.loadNetworks();
      await engine.add(att());
      expect(await engine.check(att())).toMatchObject({ ran: false, reason: expect.stringContaining('disableCheck') });
      await fake.writeConf('10-fake.conflist', conflist('0.3.1'));
      await engine.loadNetworks();
      await cannedAdd(fake, '0.3.1');
      await engine.add(att('c2'));
      expect(await engine.check(att('c2'))).toMatchObject({ ran: false, reason: expect.stringContaining('0.4.0') });
      expect(await fake.calls({ command: 'CHECK' })).toEqual([]);
    });
  });

  describe('GC and STATUS (1.1)', () => {
    const saved = { ...process.env };
    // GC runs through collectStale, which only touches entries an owner marked as its own.
    beforeEach(async () => {
      engine = fake.engine({ owner: OWNER });
      await fake.writeConf('10-fake.conflist', conflist('1.1.0'));
      await engine.loadNetworks();
      await cannedAdd(fake, '1.1.0');
      // Leaked into our environment: must not reach GC/STATUS calls.
      process.env.CNI_CONTAINERID = 'leaked';
      process.env.CNI_IFNAME = 'leaked';
    });
    afterEach(() => {
      process.env = { ...saved };
    });

    it('DELs stale cached attachments, then sends GC with the valid ones to every plugin', async () => {
      await engine.add(att('c1'));
      await engine.add(att('c2'));
      await engine.add(att('c3', { ifName: 'net1' }));
      await fake.clearCalls();
      const [report, more] = await engine.collectStale(async () => [{ containerId: 'c1' }, { containerId: 'c3', ifName: 'net1' }]);
      expect(more).toBeUndefined();
      expect(report).toEqual({ network: NET, deleted: [{ containerId: 'c2', ifName: 'eth0' }], errors: [] });
      const calls = await fake.calls();
      expect(calls.map((c) => `${c.command} ${c.type}`)).toEqual([
        'DEL tail', 'DEL meta', 'DEL main', 'GC main', 'GC meta', 'GC tail',
      ]);
      expect(calls[0]?.env.CNI_CONTAINERID).toBe('c2');
      const valid = [
        { containerID: 'c1', ifname: 'eth0' },
        { containerID: 'c3', ifname: 'net1' },
      ];
      for (const gc of calls.slice(3)) {
        expect(gc.stdin).toMatchObject({ name: NET, cniVersion: '1.1.0', 'cni.dev/valid-attachments': valid, 'cni.dev/attachments': valid });
        expect(gc.env.CNI_COMMAND).toBe('GC');
        expect(gc.env.CNI_PATH).toBe(fake.binDir);
        for (const v of ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS']) expect(gc.env).not.toHaveProperty(v);
      }
      expect((await readdir(path.join(fake.cacheDir, 'results'))).sort()).toEqual([`${NET}-c1-eth0`, `${NET}-c3-net1`]);
    });

    it('reports GC failures and keeps going', async () => {
      await fake.answer('meta', 'GC', { out: { code: 11, msg: 'busy' }, exit: 1 });
      const [report] = await engine.collectStale(async () => []);
      expect(report?.errors.map((e) => e.message)).toEqual(['network "fakenet": CNI plugin "meta" failed on GC: code 11 (try again later): busy']);
      expect((await fake.calls({ command: 'GC' })).map((c) => c.type)).toEqual(['main', 'meta', 'tail']);
    });

    it('leaves attachments younger than minAgeMs alone, and tells the plugins they are still in use', async () => {
      await engine.add(att('c1'));
      await fake.clearCalls();
      const [report] = await engine.collectStale(async () => [], { minAgeMs: 60_000 });
      expect(report?.deleted).toEqual([]);
      expect(await readdir(path.join(fake.cacheDir, 'results'))).toEqual([`${NET}-c1-eth0`]);
      // Otherwise an IPAM plugin's GC would free the IP of a pod that was just added.
      for (const gc of await fake.calls({ command: 'GC' })) {
        expect(gc.stdin).toMatchObject({ 'cni.dev/valid-attachments': [{ containerID: 'c1', ifname: 'eth0' }] });
      }
      expect((await fake.calls({ command: 'GC' })).length).toBe(3);
    });

    it('below 1.1.0 and with disableGC it only DELs stale attachments, sending no GC', async () => {
      await fake.writeConf('10-fake.conflist', conflist('1.0.0'));
      await engine.loadNetworks();
      await cannedAdd(fake, '1.0.0');
      await engine.add(att('c1'));
      await fake.clearCalls();
      expect((await engine.collectStale(async () => []))[0]?.deleted).toEqual([{ containerId: 'c1', ifName: 'eth0' }]);
      expect((await fake.calls()).map((c) => c.command)).toEqual(['DEL', 'DEL', 'DEL']);

      await fake.writeConf('10-fake.conflist', conflist('1.1.0', { disableGC: true }));
      await engine.loadNetworks();
      await cannedAdd(fake, '1.1.0');
      await engine.add(att('c2'));
      await engine.add(att('c3'));
      await fake.clearCalls();
      expect(await engine.collectStale(async () => [{ containerId: 'c2' }])).toEqual([
        { network: NET, deleted: [{ containerId: 'c3', ifName: 'eth0' }], errors: [] },
      ]);
      expect((await fake.calls()).map((c) => `${c.command} ${c.env.CNI_CONTAINERID}`)).toEqual(['DEL c3', 'DEL c3', 'DEL c3']);
    });

    it('STATUS asks every plugin with only CNI_COMMAND and CNI_PATH', async () => {
      expect(await engine.pluginStatus()).toEqual({ ready: true });
      const calls = await fake.calls({ command: 'STATUS' });
      expect(calls.map((c) => c.type)).toEqual(['main', 'meta', 'tail']);
      for (const c of calls) {
        expect(c.stdin).toMatchObject({ name: NET, cniVersion: '1.1.0' });
        for (const v of ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS']) expect(c.env).not.toHaveProperty(v);
      }
    });

    it('STATUS not ready: the first failing plugin explains why', async () => {
      await fake.answer('meta', 'STATUS', { out: { code: 50, msg: 'agent down' }, exit: 1 });
      const status = await engine.pluginStatus();
      expect(status).toMatchObject({ ready: false, reason: 'NetworkPluginNotReady' });
      expect(status.message).toBe('network "fakenet": CNI plugin "meta" failed on STATUS: code 50 (plugin not available): agent down');
      expect(status.error).toBeInstanceOf(CniPluginError);
      expect((status.error as CniPluginError).code).toBe('UNAVAILABLE');
      expect((await fake.calls({ command: 'STATUS' })).map((c) => c.type)).toEqual(['main', 'meta']);
    });

    it('STATUS is not sent below 1.1.0', async () => {
      await fake.writeConf('10-fake.conflist', conflist('1.0.0'));
      await engine.loadNetworks();
      expect(await engine.pluginStatus()).toEqual({ ready: true });
      expect(await fake.calls({ command: 'STATUS' })).toEqual([]);
    });
  });

  describe('serialization', () => {
    it('orders operations on one attachment; DEL waits for the ADD in flight', async () => {
      await fake.answer('main', 'ADD', { out: mainResult('1.0.0'), sleep: 0.5 });
      const adding = engine.add(att());
      await new Promise((r) => setTimeout(r, 100));
      await engine.del({ containerId: 'c1' });
      await adding;
      const calls = await fake.calls();
      expect(calls.map((c) => c.command)).toEqual(['ADD', 'ADD', 'ADD', 'DEL', 'DEL', 'DEL']);
      expect(calls[3]?.stdin).toHaveProperty('prevResult');
    });

    it('runs different containers in parallel', async () => {
      await fake.answer('main', 'ADD', { out: mainResult('1.0.0'), sleep: 3 });
      const adds = Promise.all([engine.add(att('c1')), engine.add(att('c2')), engine.add(att('c3'))]);
      // Serialized, only one "main" would have started during its 3 s sleep.
      await expect.poll(async () => (await fake.calls({ type: 'main' })).length, { timeout: 2500 }).toBe(3);
      await adds;
    });

    it('GC waits for ADDs on its network and they wait for it', async () => {
      engine = fake.engine({ owner: OWNER });
      await fake.writeConf('10-fake.conflist', conflist('1.1.0'));
      await engine.loadNetworks();
      await cannedAdd(fake, '1.1.0');
      await fake.answer('main', 'ADD', { out: mainResult('1.1.0'), sleep: 0.5 });
      const adding = engine.add(att('c5'));
      await new Promise((r) => setTimeout(r, 100));
      const gc = engine.collectStale(async () => [{ containerId: 'c5' }]);
      await Promise.all([adding, gc]);
      const order = (await fake.calls()).map((c) => c.command);
      expect(order).toEqual(['ADD', 'ADD', 'ADD', 'GC', 'GC', 'GC']);
    });
  });
});
