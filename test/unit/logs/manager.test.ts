/**
 * LogManager and its writers over a fake dockerd whose "json-file" is an array: the
 * resume arithmetic (no line lost, none repeated) across restarts, a crash mid-line,
 * reopen after rename, and the checkpoint that bridges a reopen.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/logger.js';
import { formatTimestamp, parseTimestamp } from '../../../src/runtime/logs/cri-format.js';
import { readFileTail } from '../../../src/runtime/logs/file-tail.js';
import { LogManager } from '../../../src/runtime/logs/manager.js';
import type { ContainerRecord } from '../../../src/runtime/types.js';

interface Stored {
  ts: bigint;
  stream: 1 | 2;
  bytes: Buffer;
}

/** A container whose output dockerd keeps, and a logs endpoint with `since` and `follow`. */
class FakeContainer {
  readonly messages: Stored[] = [];
  running = true;
  private readonly followers = new Set<{ out: PassThrough; since: bigint }>();
  logsCalls: string[] = [];
  private clock = 1714557600000000000n;

  emit(stream: 1 | 2, text: string | Buffer, ts?: bigint): void {
    this.clock += 1000n;
    const m: Stored = { ts: ts ?? this.clock, stream, bytes: typeof text === 'string' ? Buffer.from(text) : text };
    this.messages.push(m);
    for (const f of this.followers) if (m.ts >= f.since) f.out.write(frame(m));
  }

  stop(): void {
    this.running = false;
    for (const f of this.followers) f.out.end();
    this.followers.clear();
  }

  api = {
    logs: async (opts: { since: string; follow: boolean }) => {
      this.logsCalls.push(opts.since);
      const [sec, nsec = '0'] = String(opts.since).split('.');
      const since = BigInt(sec!) * 1_000_000_000n + BigInt(nsec.padEnd(9, '0'));
      const replay = this.messages.filter((m) => m.ts >= since).map(frame);
      // As dockerode: without follow, the whole answer as one Buffer.
      if (!opts.follow) return Buffer.concat(replay);
      const out = new PassThrough();
      for (const f of replay) out.write(f);
      if (this.running) {
        const f = { out, since };
        this.followers.add(f);
        out.on('close', () => this.followers.delete(f));
      } else out.end();
      return out;
    },
    inspect: async () => ({ State: { Running: this.running } }),
  };
}

function frame(m: Stored): Buffer {
  const payload = Buffer.concat([Buffer.from(`${formatTimestamp(m.ts)} `), m.bytes]);
  const h = Buffer.alloc(8);
  h[0] = m.stream;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

describe('LogManager', () => {
  let dir: string;
  let fake: FakeContainer;
  let docker: Docker;
  let record: ContainerRecord;
  const managers: LogManager[] = [];

  const manager = () => {
    const m = new LogManager({ docker, logger: silentLogger, stateDir: join(dir, 'state') });
    managers.push(m);
    return m;
  };
  const start = async (m: LogManager) => (await m.prepare(record))!.follow();
  const file = (path = record.logPath) => readFileSync(path, 'utf8');
  const contents = (path = record.logPath) =>
    file(path)
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ').slice(1).join(' '));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cri-shim-logs-'));
    fake = new FakeContainer();
    docker = { getContainer: () => fake.api } as unknown as Docker;
    record = { id: 'c1', sandboxId: 's1', imageRef: '', createdAt: '0', logPath: join(dir, 'pod', 'ctr', '0.log'), spec: { tty: false } as any };
  });
  afterEach(() => {
    for (const m of managers.splice(0)) m.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the file and its missing directories before anything is written', async () => {
    const prepared = await manager().prepare(record);
    expect(existsSync(record.logPath)).toBe(true);
    expect(statSync(record.logPath).size).toBe(0);
    prepared!.abandon();
  });

  it('writes both streams in the CRI format, in order', async () => {
    fake.emit(1, 'out one\n');
    fake.emit(2, 'err one\n');
    const m = manager();
    await start(m);
    fake.emit(1, 'out two\n');
    await tick();
    const lines = file().split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => l.replace(/^\S+ /, ''))).toEqual(['stdout F out one', 'stderr F err one', 'stdout F out two']);
    for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) [FP] /);
    // The timestamps are Docker's own.
    expect(parseTimestamp(lines[0]!.split(' ')[0]!)).toBe(fake.messages[0]!.ts);
    fake.stop();
    await m.idle();
  });

  it('resumes after a restart with nothing lost or repeated, pieces of a long line sharing one time included', async () => {
    const m1 = manager();
    await start(m1);
    for (let i = 0; i < 5; i++) fake.emit(1, `line ${i}\n`);
    const longTs = 1714557600000100000n;
    // Docker's 16 KiB pieces of one line carry the first piece's time.
    fake.emit(1, Buffer.alloc(16384, 'a'), longTs);
    fake.emit(1, Buffer.alloc(16384, 'b'), longTs);
    await tick();
    m1.close();
    fake.emit(1, Buffer.from('c'.repeat(100) + '\n'), longTs);
    fake.emit(2, 'while down\n');
    const m2 = manager();
    await start(m2);
    fake.emit(1, 'after\n');
    await tick();
    expect(contents()).toEqual([
      ...[0, 1, 2, 3, 4].map((i) => `stdout F line ${i}`),
      `stdout P ${'a'.repeat(16384)}`,
      `stdout P ${'b'.repeat(16384)}`,
      `stdout F ${'c'.repeat(100)}`,
      'stderr F while down',
      'stdout F after',
    ]);
  });

  it('cuts an unfinished line left by a crash and writes it again whole', async () => {
    const m1 = manager();
    await start(m1);
    for (let i = 0; i < 3; i++) fake.emit(1, `line ${i}\n`);
    await tick();
    m1.close();
    const size = statSync(record.logPath).size;
    truncateSync(record.logPath, size - 4); // "…line 2\n" → "…li"
    const m2 = manager();
    await start(m2);
    await tick();
    expect(contents()).toEqual(['stdout F line 0', 'stdout F line 1', 'stdout F line 2']);
  });

  it('reopens: new lines land in a new file at the path; a restart after it repeats nothing', async () => {
    const m1 = manager();
    await start(m1);
    fake.emit(1, 'before\n');
    await tick();
    const rotated = `${record.logPath}.1`;
    renameSync(record.logPath, rotated);
    await m1.reopen(record);
    expect(existsSync(record.logPath)).toBe(true);
    fake.emit(1, 'after\n');
    await tick();
    expect(contents(rotated)).toEqual(['stdout F before']);
    expect(contents()).toEqual(['stdout F after']);

    // Rotate again, so that the new file is empty at the restart: only the checkpoint knows.
    renameSync(record.logPath, `${record.logPath}.2`);
    await m1.reopen(record);
    m1.close();
    fake.emit(2, 'while down\n');
    const m2 = manager();
    await start(m2);
    await tick();
    expect(contents()).toEqual(['stderr F while down']);
  });

  it('ends when the container stops, and catches up on an exited container at resume', async () => {
    const m1 = manager();
    await start(m1);
    fake.emit(1, 'one\n');
    await tick();
    m1.close();
    fake.emit(1, 'last words\n');
    fake.stop();
    const m2 = manager();
    await m2.resume([record], () => 'exited');
    await m2.idle();
    expect(contents()).toEqual(['stdout F one', 'stdout F last words']);
    // A second resume finds everything written.
    const m3 = manager();
    await m3.resume([record], () => 'exited');
    await m3.idle();
    expect(contents()).toEqual(['stdout F one', 'stdout F last words']);
  });

  it('reads the end once more after the follow stopped: dockerd may end it before the last message', async () => {
    const m = manager();
    await start(m);
    fake.emit(1, 'one\n');
    await tick();
    fake.stop(); // the follow ends…
    fake.emit(1, 'unterminated'); // …and the flushed tail lands just after
    await m.idle();
    expect(contents()).toEqual(['stdout F one', 'stdout F unterminated']);
  });

  it('does not recreate the file of an exited container that the kubelet removed', async () => {
    fake.emit(1, 'one\n');
    fake.stop();
    await manager().resume([record], () => 'exited');
    expect(existsSync(record.logPath)).toBe(false);
  });
});

describe('readFileTail', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cri-shim-tail-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const line = (ts: bigint, text = 'x') => `${formatTimestamp(ts)} stdout F ${text}\n`;

  it('is empty for a missing file', async () => {
    expect(await readFileTail(join(dir, 'none.log'))).toEqual({ stamps: [], truncated: 0 });
  });

  it('reads entries across chunk boundaries, stops well before the window, and cuts an unfinished line', async () => {
    const base = 1714557600000000000n;
    let text = '';
    // 1000 old lines, then 3000 within the last second, lines long enough to span many 64 KiB chunks.
    for (let i = 0; i < 1000; i++) text += line(base + BigInt(i), 'o'.repeat(100));
    const recent = base + 100_000_000_000n;
    for (let i = 0; i < 3000; i++) text += line(recent + BigInt(i) * 1000n, 'r'.repeat(100));
    const path = join(dir, 'a.log');
    writeFileSync(path, text + '2024-05-01T10:00:0');
    const tail = await readFileTail(path);
    expect(tail.truncated).toBe('2024-05-01T10:00:0'.length);
    // The recent ones, in file order; reading stopped at the first entry far older than the window.
    expect(tail.stamps.length).toBe(3000);
    expect(tail.stamps[0]).toBe(recent);
    expect(tail.stamps[2999]).toBe(recent + 2999n * 1000n);
    expect(readFileSync(path, 'utf8')).toBe(text);
  });

  it('reads every entry of a small file, and a file without any newline is all unfinished', async () => {
    const path = join(dir, 'b.log');
    writeFileSync(path, line(5n) + line(6n) + line(7n));
    expect((await readFileTail(path)).stamps).toEqual([5n, 6n, 7n]);
    writeFileSync(path, 'partial');
    expect(await readFileTail(path)).toEqual({ stamps: [], truncated: 7 });
    expect(readFileSync(path, 'utf8')).toBe('');
  });
});
