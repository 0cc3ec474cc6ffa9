/**
 * Crash safety of the attachment cache: a write either lands whole or not at all.
 */
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CACHE_KIND,
  cachePath,
  decodeCacheEntry,
  findCacheEntries,
  readAllCacheEntries,
  sweepTempFiles,
  writeCacheEntry,
  type CniCacheEntry,
} from '../../../src/cni/cache.js';
import { CniCacheError } from '../../../src/cni/index.js';
import { silentLogger } from '../../../src/logger.js';
import { FakeCni, mainResult } from './fake-cni.js';

function entry(containerId: string, extra: Partial<CniCacheEntry> = {}): CniCacheEntry {
  return {
    kind: CACHE_KIND,
    containerId,
    config: Buffer.from('{"cniVersion":"1.0.0","name":"net","plugins":[{"type":"main"}]}').toString('base64'),
    ifName: 'eth0',
    networkName: 'net',
    netns: '/var/run/netns/x',
    cniArgs: [['IgnoreUnknown', '1']],
    capabilityArgs: {},
    ...extra,
  };
}

describe('CNI cache', () => {
  let fake: FakeCni;
  beforeEach(async () => {
    fake = await FakeCni.create(['main']);
  });
  afterEach(async () => {
    await fake.cleanup();
  });

  const tempDir = () => path.join(fake.cacheDir, '.cri-shim-tmp');

  it('a failure between write and rename leaves the old entry intact and no temp file', async () => {
    const old = entry('c1', { result: { cniVersion: '1.0.0', ips: [{ address: '10.0.0.1/24' }] } });
    await writeCacheEntry(fake.cacheDir, old);
    const file = cachePath(fake.cacheDir, 'net', 'c1', 'eth0');
    const before = await readFile(file, 'utf8');
    let sawTemp = '';
    const attempt = writeCacheEntry(fake.cacheDir, entry('c1', { result: { cniVersion: '1.0.0' } }), {
      beforeRename: async (temp) => {
        sawTemp = await readFile(temp, 'utf8');
        throw new Error('injected crash before rename');
      },
    });
    await expect(attempt).rejects.toThrow('injected crash before rename');
    // The new content was fully written and synced to the temp file...
    expect(JSON.parse(sawTemp).result).toEqual({ cniVersion: '1.0.0' });
    // ...but the live entry is untouched and nothing is left behind.
    expect(await readFile(file, 'utf8')).toBe(before);
    expect(await readdir(tempDir())).toEqual([]);
    expect(await readdir(path.join(fake.cacheDir, 'results'))).toEqual(['net-c1-eth0']);
  });

  it('an engine whose cache write fails mid-ADD reports it and keeps the earlier state', async () => {
    await fake.writeConf('10-n.conflist', { cniVersion: '1.0.0', name: 'net', plugins: [{ type: 'main' }] });
    await fake.answer('main', 'ADD', { out: mainResult('1.0.0') });
    let writes = 0;
    const engine = fake.engine({
      cacheHooks: {
        beforeRename: () => {
          writes++;
          if (writes === 2) throw new Error('disk gone');
        },
      },
    });
    const err = await engine.add({ containerId: 'c1', netns: '/proc/self/ns/net' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniCacheError);
    expect((err as Error).message).toContain('disk gone');
    // The pre-ADD record survived, complete, so DEL can still find the attachment.
    const [read] = await findCacheEntries(fake.cacheDir, 'c1', 'eth0');
    expect(read).toMatchObject({ state: 'ok', entry: { containerId: 'c1', networkName: 'net' } });
    expect(read?.state === 'ok' && read.entry.result).toBeUndefined();
    expect(await readdir(tempDir())).toEqual([]);
  });

  it('never shows a temp file of a writer killed before its rename, and sweeps old ones', async () => {
    await writeCacheEntry(fake.cacheDir, entry('c1'));
    // What a SIGKILL between write and rename leaves: a complete or half temp file.
    const orphan = path.join(tempDir(), 'net-c2-eth0.999.abcdef');
    const half = path.join(tempDir(), 'net-c3-eth0.999.012345');
    await writeFile(orphan, JSON.stringify(entry('c2')));
    await writeFile(half, '{"kind":"cniCa');
    const reads = await readAllCacheEntries(fake.cacheDir);
    expect(reads.map((r) => r.state === 'ok' && r.entry.containerId)).toEqual(['c1']);
    await utimes(orphan, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    await sweepTempFiles(fake.cacheDir, silentLogger, 60_000);
    expect(await readdir(tempDir())).toEqual([path.basename(half)]);
  });

  it('writes mode 0600 files in a 0700 results dir', async () => {
    await writeCacheEntry(fake.cacheDir, entry('c1'));
    expect((await stat(cachePath(fake.cacheDir, 'net', 'c1', 'eth0'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(fake.cacheDir, 'results'))).mode & 0o777).toBe(0o700);
  });

  it('matches entries by content, even when the network name contains dashes', async () => {
    await writeCacheEntry(fake.cacheDir, entry('c1', { networkName: 'my-net' }));
    await writeCacheEntry(fake.cacheDir, entry('x-c1', { networkName: 'my' }));
    const found = await findCacheEntries(fake.cacheDir, 'c1', 'eth0');
    expect(found.map((r) => r.state === 'ok' && r.entry.networkName)).toEqual(['my-net']);
  });

  it.each([
    ['', 'file is empty'],
    ['{"kind":"cniCacheV1"', 'not JSON'],
    ['{"kind":"other"}', 'kind is "other"'],
    ['{"kind":"cniCacheV1","containerId":"c","ifName":"eth0","networkName":"n"}', 'missing "config"'],
    ['{"kind":"cniCacheV1","containerId":"c","ifName":"eth0","networkName":"n","config":"!!!"}', 'not base64 of a JSON document'],
    ['{"kind":"cniCacheV1","containerId":"c","ifName":"eth0","networkName":"n","config":"e30=","cniArgs":["a"]}', 'not a list of pairs'],
  ])('flags corrupt entry %j', (text, reason) => {
    expect(decodeCacheEntry(text)).toContain(reason);
  });

  it('reports corrupt files instead of throwing, and keeps reading the rest', async () => {
    await writeCacheEntry(fake.cacheDir, entry('c1'));
    await mkdir(path.join(fake.cacheDir, 'results'), { recursive: true });
    await writeFile(path.join(fake.cacheDir, 'results', 'net-c0-eth0'), '');
    const reads = await readAllCacheEntries(fake.cacheDir);
    expect(reads.map((r) => r.state)).toEqual(['corrupt', 'ok']);
  });
});
