/**
 * KernelFileReader on a real cgroup (root, cgroup v1 memory controller, as on this node):
 * a kept descriptor reads fresh values, a removed cgroup reads as missing and its
 * descriptor is closed, idle descriptors are closed, the bound holds, and files that
 * are not on a cgroup filesystem are never kept (a rename would go unseen).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KernelFileReader } from '../../../src/runtime/stats/kernel-files.js';

const MEMORY = '/sys/fs/cgroup/memory';
const haveV1Memory = existsSync(join(MEMORY, 'memory.limit_in_bytes')) && process.getuid?.() === 0;

describe.skipIf(!haveV1Memory)('KernelFileReader on cgroupfs', () => {
  let dir: string;
  let reader: KernelFileReader;
  beforeEach(() => {
    dir = join(MEMORY, `cri-shim-unit-kernel-files-${process.pid}`);
    mkdirSync(dir);
    reader = new KernelFileReader(3);
  });
  afterEach(() => {
    reader.closeAll();
    if (existsSync(dir)) rmdirSync(dir);
  });

  it('reads the value the kernel has now through one kept descriptor', () => {
    const limit = join(dir, 'memory.limit_in_bytes');
    writeFileSync(limit, String(64 * 1024 * 1024));
    expect(reader.read(limit).trim()).toBe(String(64 * 1024 * 1024));
    expect(reader.openCount).toBe(1);
    writeFileSync(limit, String(32 * 1024 * 1024));
    expect(reader.read(limit).trim()).toBe(String(32 * 1024 * 1024));
    expect(reader.read(limit)).toBe(readFileSync(limit, 'utf8'));
    expect(reader.openCount).toBe(1);
  });

  it('answers ENOENT once the cgroup is removed, and keeps no descriptor of it', () => {
    const usage = join(dir, 'memory.usage_in_bytes');
    expect(reader.read(usage)).toMatch(/^\d+\n$/);
    rmdirSync(dir);
    expect(() => reader.read(usage)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(reader.openCount).toBe(0);
  });

  it('closes descriptors not read within the idle time, and keeps at most its bound', () => {
    const files = ['memory.usage_in_bytes', 'memory.stat', 'memory.failcnt', 'memory.limit_in_bytes'].map((f) => join(dir, f));
    for (const f of files) reader.read(f);
    expect(reader.openCount).toBe(3);
    reader.closeIdle(60_000, Date.now() + 61_000);
    expect(reader.openCount).toBe(0);
    reader.read(files[0]!);
    reader.closeIdle(60_000);
    expect(reader.openCount).toBe(1);
  });
});

describe('KernelFileReader elsewhere', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cri-shim-kernel-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a regular file afresh each time (a replacing rename is seen) and keeps nothing open', () => {
    const reader = new KernelFileReader();
    const f = join(dir, 'value');
    writeFileSync(f, '1\n');
    expect(reader.read(f)).toBe('1\n');
    writeFileSync(join(dir, 'next'), '2\n');
    renameSync(join(dir, 'next'), f);
    expect(reader.read(f)).toBe('2\n');
    expect(reader.openCount).toBe(0);
    expect(() => reader.read(join(dir, 'missing', 'x'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});
