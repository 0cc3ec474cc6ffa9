import { linkSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { duMeasure, FsUsageCache } from '../../../src/runtime/images/fs-usage.js';

describe('duMeasure', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cri-shim-du-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('counts allocated bytes and inodes, hard links once', async () => {
    const empty = await duMeasure(dir);
    expect(empty.inodesUsed).toBe(1);
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'a'), Buffer.alloc(256 * 1024, 1));
    linkSync(join(dir, 'sub', 'a'), join(dir, 'b'));
    const used = await duMeasure(dir);
    expect(used.inodesUsed).toBe(3); // dir, sub, a (b is a)
    expect(used.usedBytes - empty.usedBytes).toBeGreaterThanOrEqual(256 * 1024);
    expect(used.usedBytes - empty.usedBytes).toBeLessThan(2 * 256 * 1024);
  });

  it('fails for a directory that does not exist', async () => {
    await expect(duMeasure(join(dir, 'nope'))).rejects.toThrow(/du .*nope/);
  });
});

describe('FsUsageCache', () => {
  it('measures once per ttl, shares a walk in progress, stamps the time in ns', async () => {
    let walks = 0;
    const cache = new FsUsageCache(async () => (walks++, await new Promise((r) => setTimeout(r, 20)), { usedBytes: 10, inodesUsed: 2 }), 60_000);
    const before = BigInt(Date.now()) * 1_000_000n;
    const [a, b] = await Promise.all([cache.usage('/d'), cache.usage('/d')]);
    expect(walks).toBe(1);
    expect(a).toBe(b);
    expect(a).toMatchObject({ mountpoint: '/d', usedBytes: 10, inodesUsed: 2 });
    expect(a.timestampNs).toBeGreaterThanOrEqual(before);
    expect(a.timestampNs).toBeLessThanOrEqual(BigInt(Date.now()) * 1_000_000n);
    await cache.usage('/d');
    expect(walks).toBe(1);
    await cache.usage('/other');
    expect(walks).toBe(2);
  });

  it('measures again after the ttl', async () => {
    let walks = 0;
    const cache = new FsUsageCache(async () => (walks++, { usedBytes: walks, inodesUsed: 1 }), 0);
    await cache.usage('/d');
    expect((await cache.usage('/d')).usedBytes).toBe(2);
  });
});
