/**
 * LogManager and its writers over a fake dockerd whose "json-file" is an array: the
 * resume arithmetic (no line lost, none repeated) across restarts, a crash mid-line,
 * reopen after rename, and the checkpoint that bridges a reopen.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/logger.js';
import { formatTimestamp, parseTimestamp } from '../../../src/runtime/logs/cri-format.js';
import { readFileTail } from '../../../src/runtime/logs/file-tail.js';
import { LogManager } from '../../../src/runtime/logs/manager.js';
import type { ContainerRecord } from '../../../src/runtime/types.js';
import { FakeContainer, tick } from './fake-docker.js';

describe('LogManager', () => {
  let dir: string;
  let fake: FakeContainer;
  let docker: Docker;
  let record: ContainerRecord;
  const managers: LogManager[] = [];

  const manager = () => {
    const m = new LogManager({ docker, logger: silentLogger, stateDir: join(dir, 'state'), retryMs: 20 });
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
    docker = fake.docker;
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

  describe('a line in pieces (Docker stamps every piece, the last included, with the first one\'s time)', () => {
    const S = 1_000_000_000n;
    const piece = (c: string) => Buffer.alloc(16384, c);
    const show = (l: string) => l.replace(/^(\S+ \S) (.)\2{16383}$/, '$1 $2×16384');

    it('resumes after a restart a line begun more than a second before the newest entry: no piece lost', async () => {
      const m1 = manager();
      await start(m1);
      fake.emit(1, 'before\n');
      // A slow progress bar without a TTY: a 16 KiB piece now and then, all stamped t0.
      const t0 = fake.clock + 1000n;
      fake.emit(1, piece('a'), t0);
      fake.advance(5n * S);
      fake.emit(2, 'err 1\n');
      await tick();
      m1.close();
      fake.emit(1, piece('b'), t0);
      fake.emit(2, 'err 2\n');
      fake.emit(1, 'end of line\n', t0);
      const m2 = manager();
      await start(m2);
      fake.emit(1, 'after\n');
      await tick();
      expect(contents().map(show)).toEqual([
        'stdout F before',
        'stdout P a×16384',
        'stderr F err 1',
        'stdout P b×16384',
        'stderr F err 2',
        'stdout F end of line',
        'stdout F after',
      ]);
    });

    it('resumes so when dockerd breaks the follow while the container runs on', async () => {
      const m = manager();
      await start(m);
      const t0 = fake.clock + 1000n;
      fake.emit(1, piece('a'), t0);
      fake.advance(5n * S);
      fake.emit(2, 'err 1\n');
      await tick();
      fake.breakFollows();
      fake.emit(1, piece('b'), t0);
      fake.emit(1, 'end of line\n', t0);
      fake.emit(2, 'err 2\n');
      await tick(100);
      expect(fake.logsCalls.length).toBe(2);
      expect(contents().map(show)).toEqual(['stdout P a×16384', 'stderr F err 1', 'stdout P b×16384', 'stdout F end of line', 'stderr F err 2']);
    });

    it('repeats nothing when old-stamped pieces sit among newer lines at the end of the file', async () => {
      // The file ends F@199.5 s, P@0, F@200 s, P@0 (stderr's line began at 0).
      const t0 = fake.clock + 1000n;
      fake.emit(2, piece('a'), t0);
      fake.emit(1, 'out 1\n', t0 + 199n * S + S / 2n);
      fake.emit(2, piece('b'), t0);
      fake.emit(1, 'out 2\n', t0 + 200n * S);
      fake.emit(2, piece('c'), t0);
      const m1 = manager();
      await start(m1);
      await tick();
      m1.close();
      fake.emit(2, 'end of line\n', t0);
      fake.emit(1, 'out 3\n', t0 + 201n * S);
      const m2 = manager();
      await start(m2);
      await tick();
      expect(contents().map(show)).toEqual([
        'stderr P a×16384',
        'stdout F out 1',
        'stderr P b×16384',
        'stdout F out 2',
        'stderr P c×16384',
        'stderr F end of line',
        'stdout F out 3',
      ]);
    });

    it('finds the open line of a stream silent for longer than the tail it reads', async () => {
      const m1 = manager();
      await start(m1);
      fake.emit(2, 'err 0\n');
      const t0 = fake.clock + 1000n;
      fake.emit(2, piece('a'), t0);
      // 30 s of stdout after stderr's last piece: more than the tail read for the window.
      for (let i = 0; i < 300; i++) {
        fake.advance(S / 10n);
        fake.emit(1, `out ${i}\n`);
      }
      await tick();
      m1.close();
      fake.emit(2, 'end of line\n', t0);
      fake.emit(1, 'out 300\n');
      const m2 = manager();
      await start(m2);
      await tick();
      const got = contents().map(show);
      expect(got.filter((l) => l.startsWith('stderr'))).toEqual(['stderr F err 0', 'stderr P a×16384', 'stderr F end of line']);
      expect(got.filter((l) => l.startsWith('stdout'))).toEqual([...Array(301).keys()].map((i) => `stdout F out ${i}`));
    });

    it('keeps an open line in the checkpoint of a reopen', async () => {
      const m1 = manager();
      await start(m1);
      const t0 = fake.clock + 1000n;
      fake.emit(1, piece('a'), t0);
      fake.advance(5n * S);
      fake.emit(2, 'err 1\n');
      await tick();
      renameSync(record.logPath, `${record.logPath}.1`);
      await m1.reopen(record);
      fake.emit(2, 'err 2\n');
      await tick();
      m1.close();
      fake.emit(1, piece('b'), t0);
      fake.emit(1, 'end of line\n', t0);
      const m2 = manager();
      await start(m2);
      await tick();
      expect(contents(`${record.logPath}.1`).map(show)).toEqual(['stdout P a×16384', 'stderr F err 1']);
      expect(contents().map(show)).toEqual(['stderr F err 2', 'stdout P b×16384', 'stdout F end of line']);
    });
  });

  it('reopen after the follow gave up on a running container: goes on from what was written, replays nothing', async () => {
    const m1 = manager();
    await start(m1);
    fake.emit(1, 'one\n');
    await tick();
    // dockerd breaks the follow, then refuses to give the log again: the writer ends.
    fake.failLogs.push(Object.assign(new Error('no'), { statusCode: 500 }));
    fake.breakFollows();
    await m1.idle();
    fake.emit(1, 'two\n');
    renameSync(record.logPath, `${record.logPath}.1`);
    await m1.reopen(record);
    fake.emit(1, 'three\n');
    await tick();
    expect(contents(`${record.logPath}.1`)).toEqual(['stdout F one']);
    expect(contents()).toEqual(['stdout F two', 'stdout F three']);
    // And its checkpoint is what a restart goes on from.
    m1.close();
    fake.emit(1, 'four\n');
    const m2 = manager();
    await start(m2);
    await tick();
    expect(contents()).toEqual(['stdout F two', 'stdout F three', 'stdout F four']);
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

  const S = 1_000_000_000n;
  const line = (ts: bigint, text = 'x', stream = 'stdout', tag = 'F') => `${formatTimestamp(ts)} ${stream} ${tag} ${text}\n`;
  const stampsOf = (tail: { entries: { ts: bigint }[] }) => tail.entries.map((e) => e.ts);

  it('is empty for a missing file', async () => {
    expect(await readFileTail(join(dir, 'none.log'))).toEqual({ entries: [], truncated: 0, fromStart: true, complete: true });
  });

  it('reads entries across chunk boundaries, stops well before the window, and cuts an unfinished line', async () => {
    const base = 1714557600000000000n;
    let text = '';
    // 1000 old lines, then 3000 within the last second, lines long enough to span many 64 KiB chunks.
    for (let i = 0; i < 1000; i++) text += line(base + BigInt(i), 'o'.repeat(100), i % 2 ? 'stdout' : 'stderr');
    const recent = base + 100n * S;
    for (let i = 0; i < 3000; i++) text += line(recent + BigInt(i) * 1000n, 'r'.repeat(100), i % 2 ? 'stdout' : 'stderr');
    const path = join(dir, 'a.log');
    writeFileSync(path, text + '2024-05-01T10:00:0');
    const tail = await readFileTail(path);
    expect(tail.truncated).toBe('2024-05-01T10:00:0'.length);
    expect(tail.complete).toBe(true);
    expect(tail.fromStart).toBe(false);
    // The recent ones, in file order; reading stopped at the first old ordinary line (once
    // the one before it of the same stream showed it closes no long line).
    expect(tail.entries.length).toBeLessThanOrEqual(3004);
    expect(tail.entries.slice(-3000).map((e) => e.ts)).toEqual([...Array(3000).keys()].map((i) => recent + BigInt(i) * 1000n));
    expect(tail.entries.at(-1)).toEqual({ ts: recent + 2999n * 1000n, stream: 'stdout', tag: 'F' });
    expect(readFileSync(path, 'utf8')).toBe(text);
  });

  it('reads every entry of a small file, and a file without any newline is all unfinished', async () => {
    const path = join(dir, 'b.log');
    writeFileSync(path, line(5n) + line(6n) + line(7n));
    expect(await readFileTail(path)).toMatchObject({ fromStart: true, complete: true });
    expect(stampsOf(await readFileTail(path))).toEqual([5n, 6n, 7n]);
    writeFileSync(path, 'partial');
    expect(await readFileTail(path)).toEqual({ entries: [], truncated: 7, fromStart: true, complete: true });
    expect(readFileSync(path, 'utf8')).toBe('');
  });

  it('does not stop at old-stamped pieces, nor at the F that ends them: reads back to the open line\'s start', async () => {
    const t0 = 1714557600000000000n;
    let text = '';
    for (let i = 0n; i < 100n; i++) text += line(t0 - 100n * S + i * S, `old ${i}`);
    // stderr's line begins at t0; stdout goes on for 200 s; a closed long line of stdout in between.
    text += line(t0, 'a', 'stderr', 'P');
    for (let i = 1n; i < 199n; i++) text += line(t0 + i * S, `out ${i}`);
    text += line(t0 + 150n * S, 'p1', 'stdout', 'P') + line(t0 + 150n * S, 'p2', 'stdout', 'F');
    text += line(t0 + 199n * S + S / 2n) + line(t0, 'b', 'stderr', 'P') + line(t0 + 200n * S) + line(t0, 'c', 'stderr', 'P');
    const path = join(dir, 'c.log');
    writeFileSync(path, text);
    const tail = await readFileTail(path);
    expect(tail.complete).toBe(true);
    // From the last old ordinary line more than 10 s before t0 on; all of the open line's pieces.
    const stamps = stampsOf(tail);
    expect(stamps.filter((ts) => ts < t0 - 10n * S).length).toBeLessThanOrEqual(2);
    expect(stamps.filter((ts) => ts >= t0 - 10n * S).length).toBe(10 + 1 + 198 + 2 + 4);
    expect(tail.entries.filter((e) => e.stream === 'stderr')).toEqual([t0, t0, t0].map((ts) => ({ ts, stream: 'stderr', tag: 'P' })));
  });

  it('an old closed long line at the end does not hold the reading back; a stream ending in F needs nothing older', async () => {
    const t0 = 1714557600000000000n;
    let text = '';
    for (let i = 0n; i < 100n; i++) text += line(t0 + i * S, `out ${i}`, i % 2n ? 'stdout' : 'stderr');
    // stderr's long line began at 50 s and ended at the end: closed, nothing of it is needed.
    text += line(t0 + 50n * S, 'p', 'stderr', 'P') + line(t0 + 100n * S, 'out 100') + line(t0 + 50n * S, 'f', 'stderr', 'F');
    const path = join(dir, 'd.log');
    writeFileSync(path, text);
    const stamps = stampsOf(await readFileTail(path));
    expect(stamps.length).toBeLessThan(20);
    expect(stamps.slice(-3)).toEqual([t0 + 50n * S, t0 + 100n * S, t0 + 50n * S]);
  });

  it('looks further back for a stream not seen in the tail, and reads down to its open line', async () => {
    const t0 = 1714557600000000000n;
    let text = line(t0 - 100n * S, 'old') + line(t0 - 99n * S, 'err old', 'stderr');
    const withErr = (last: string) => {
      let t = text + last;
      for (let i = 1n; i <= 300n; i++) t += line(t0 + i * (S / 10n), `out ${i}`);
      return t;
    };
    const path = join(dir, 'e.log');
    // stderr's last entry a piece, 30 s of stdout since: the reading goes back to it.
    writeFileSync(path, withErr(line(t0, 'a', 'stderr', 'P')));
    let tail = await readFileTail(path);
    expect(tail.entries.filter((e) => e.stream === 'stderr').at(-1)).toEqual({ ts: t0, stream: 'stderr', tag: 'P' });
    expect(tail.entries.filter((e) => e.ts >= t0).length).toBe(301);
    // Ending in F, stderr needs nothing: only the window of the newest is read.
    writeFileSync(path, withErr(line(t0, 'a', 'stderr', 'F')));
    tail = await readFileTail(path);
    expect(tail.entries.length).toBeLessThan(120);
    expect(tail.entries.some((e) => e.stream === 'stderr')).toBe(false);
    // A TTY has no stderr to look for.
    writeFileSync(path, withErr(''));
    tail = await readFileTail(path, { streams: ['stdout'] });
    expect(tail.entries.length).toBeLessThan(120);
  });

  it('reads back to the time a checkpoint asks for; is incomplete when maxBytes ends it first', async () => {
    const t0 = 1714557600000000000n;
    let text = '';
    for (let i = 0n; i < 100n; i++) text += line(t0 + i * S, `out ${i} ${'x'.repeat(1000)}`);
    const path = join(dir, 'f.log');
    writeFileSync(path, text);
    expect((await readFileTail(path)).entries.length).toBeLessThan(15);
    expect(await readFileTail(path, { since: t0 + 50n * S })).toMatchObject({ fromStart: false, complete: true });
    expect((await readFileTail(path, { since: t0 + 50n * S })).entries.length).toBeGreaterThan(55);
    expect(await readFileTail(path, { since: t0 - S })).toMatchObject({ fromStart: true, complete: true });
    const short = await readFileTail(path, { since: t0 - S, maxBytes: 64 * 1024 });
    expect(short).toMatchObject({ fromStart: false, complete: false });
  });
});
