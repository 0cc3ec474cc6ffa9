/**
 * ContainerLogWriter on a disk that fills up: a write that stops part-way must not
 * leave a fragment for the next entry to be glued onto. `node:fs` is wrapped so that a
 * test can make writeSync write some bytes and then fail with ENOSPC, as a full disk does.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../src/logger.js';
import { ResumeWindow } from '../../../src/runtime/logs/resume-window.js';
import { ContainerLogWriter } from '../../../src/runtime/logs/writer.js';
import { FakeContainer, tick } from './fake-docker.js';

const disk = vi.hoisted(() => ({
  /** Bytes the disk still takes before ENOSPC; Infinity = not full. */
  room: Infinity,
  /** ftruncate fails too. */
  noTruncate: false,
}));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  return {
    ...fs,
    writeSync: (fd: number, buf: Buffer, offset = 0) => {
      if (disk.room <= 0) throw enospc();
      const n = fs.writeSync(fd, buf, offset, Math.min(buf.length - offset, disk.room));
      disk.room -= n;
      return n;
    },
    ftruncateSync: (fd: number, len?: number) => {
      if (disk.noTruncate) throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' });
      return fs.ftruncateSync(fd, len);
    },
  };
});

describe('ContainerLogWriter on a full disk', () => {
  let dir: string;
  let fake: FakeContainer;
  let writer: ContainerLogWriter;
  const path = () => join(dir, 'ctr', '0.log');
  const lines = () => readFileSync(path(), 'utf8').split('\n');
  const show = (l: string) => l.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z /, '');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cri-shim-writer-'));
    fake = new FakeContainer();
    disk.room = Infinity;
    disk.noTruncate = false;
    writer = new ContainerLogWriter({ docker: fake.docker, logger: silentLogger, containerId: 'c1', path: path(), tty: false, window: new ResumeWindow() });
    writer.follow();
  });
  afterEach(() => {
    writer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cuts a partly written entry off the file, so the next one starts its own line', async () => {
    fake.emit(1, 'one\n');
    await tick();
    disk.room = 40; // "two" gets its timestamp and part of "stdout F", then ENOSPC
    fake.emit(1, 'two\n');
    await tick();
    expect(lines().map(show)).toEqual(['stdout F one', '']);
    disk.room = Infinity;
    fake.emit(1, 'three\n');
    await tick();
    expect(lines().map(show)).toEqual(['stdout F one', 'stdout F three', '']);
  });

  it('keeps the whole entries of a batch written before the disk filled', async () => {
    disk.room = 44 + 10; // "<30-byte time> stdout F one\n" is 44 bytes: it fits, "two" does not
    fake.emit(1, 'one\n');
    fake.emit(1, 'two\n');
    fake.emit(1, 'three\n');
    await tick();
    disk.room = Infinity;
    fake.emit(1, 'four\n');
    await tick();
    expect(lines().map(show)).toEqual(['stdout F one', 'stdout F four', '']);
  });

  it('ends the fragment with a newline before the next entry when it cannot be cut', async () => {
    fake.emit(1, 'one\n');
    await tick();
    disk.room = 40;
    disk.noTruncate = true;
    fake.emit(1, 'two\n');
    await tick();
    disk.room = Infinity;
    fake.emit(1, 'three\n');
    await tick();
    const got = lines();
    expect(got.length).toBe(4);
    expect(show(got[0]!)).toBe('stdout F one');
    // The fragment is a line of its own (the kubelet skips it); the next entry is whole.
    expect(got[1]!.length).toBe(40);
    expect(show(got[2]!)).toBe('stdout F three');
  });
});
