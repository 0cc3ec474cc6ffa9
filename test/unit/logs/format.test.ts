/**
 * The CRI log format, Docker's frames and messages, and the resume bookkeeping: pure
 * functions and small classes, table-driven where they map inputs to outputs.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  dockerSince,
  encodeEntry,
  formatTimestamp,
  messageEntries,
  parseEntry,
  parseTimestamp,
  type LogMessage,
} from '../../../src/runtime/logs/cri-format.js';
import { DemuxError, demuxFrames } from '../../../src/runtime/docker-demux.js';
import { messageOf, multiplexedMessages, rawMessages } from '../../../src/runtime/logs/docker-messages.js';
import { ResumeWindow, WINDOW_NS, type WindowEntry } from '../../../src/runtime/logs/resume-window.js';

const TS = '2024-05-01T10:00:00.123456789Z';
const TS_NS = 1714557600123456789n;

function frame(type: number, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(body.length, 4);
  return Buffer.concat([h, body]);
}

async function collect<T>(gen: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const batch of gen) out.push(...batch);
  return out;
}

describe('timestamps', () => {
  it.each([
    ['2024-05-01T10:00:00.123456789Z', 1714557600123456789n],
    ['2024-05-01T10:00:00Z', 1714557600000000000n],
    ['2024-05-01T10:00:00.5Z', 1714557600500000000n],
    ['2024-05-01T12:00:00.000000001+02:00', 1714557600000000001n],
    ['1970-01-01T00:00:00.000000000Z', 0n],
  ])('parses %s', (text, ns) => {
    expect(parseTimestamp(text)).toBe(ns);
  });

  it.each(['', 'yesterday', '2024-05-01 10:00:00Z', '2024-05-01T10:00:00.1234567890Z'])('refuses %j', (text) => {
    expect(parseTimestamp(text)).toBeUndefined();
  });

  it('formats nine digits in UTC, as the kubelet reads RFC3339Nano', () => {
    expect(formatTimestamp(TS_NS)).toBe(TS);
    expect(formatTimestamp(1714557600000000000n)).toBe('2024-05-01T10:00:00.000000000Z');
    expect(formatTimestamp(1714557600000000001n)).toBe('2024-05-01T10:00:00.000000001Z');
  });

  it('gives Docker `since` as seconds.nanoseconds', () => {
    expect(dockerSince(TS_NS)).toBe('1714557600.123456789');
    expect(dockerSince(1714557600000000001n)).toBe('1714557600.000000001');
    expect(dockerSince(0n)).toBe('0');
  });
});

describe('CRI entries', () => {
  const msg = (content: string | Buffer, full: boolean, stream: 'stdout' | 'stderr' = 'stdout'): LogMessage => ({
    ts: TS_NS,
    stream,
    content: typeof content === 'string' ? Buffer.from(content) : content,
    full,
  });
  const lines = (m: LogMessage) => messageEntries(m).map((e) => encodeEntry(e).toString());

  it.each([
    ['a full line', msg('hello', true), [`${TS} stdout F hello\n`]],
    ['stderr', msg('oops', true, 'stderr'), [`${TS} stderr F oops\n`]],
    ['an empty line', msg('', true), [`${TS} stdout F \n`]],
    ['a partial message', msg('part', false), [`${TS} stdout P part\n`]],
    ['an empty partial message', msg('', false), []],
    ['spaces and tabs kept', msg(' a\tb ', true), [`${TS} stdout F  a\tb \n`]],
  ])('%s', (_name, m, expected) => {
    expect(lines(m)).toEqual(expected);
  });

  it('cuts a 40 KiB line into 16 KiB P pieces ending with F', () => {
    const content = Buffer.alloc(40 * 1024, 'x');
    const entries = messageEntries(msg(content, true));
    expect(entries.map((e) => [e.tag, e.content.length])).toEqual([
      ['P', 16384],
      ['P', 16384],
      ['F', 8192],
    ]);
    expect(Buffer.concat(entries.map((e) => e.content)).equals(content)).toBe(true);
  });

  it('keeps a Docker partial of exactly 16 KiB one P entry', () => {
    expect(messageEntries(msg(Buffer.alloc(16384, 'y'), false)).map((e) => e.tag)).toEqual(['P']);
  });

  it('parses what it writes, and nothing else', () => {
    const line = encodeEntry({ ts: TS_NS, stream: 'stderr', tag: 'P', content: Buffer.from('x y') });
    expect(parseEntry(line.subarray(0, -1))).toMatchObject({ ts: TS_NS, stream: 'stderr', tag: 'P' });
    expect(parseEntry(line.subarray(0, -1))!.content.toString()).toBe('x y');
    expect(parseEntry(Buffer.from(`${TS} stdout F`))).toMatchObject({ tag: 'F' });
    for (const bad of ['', 'garbage', `${TS} stdin F x`, `${TS} stdout X x`, `${TS} stdout Fx`, `notatime stdout F x`]) {
      expect(parseEntry(Buffer.from(bad))).toBeUndefined();
    }
  });
});

describe('demuxFrames', () => {
  it('parses frames split anywhere across chunks, one batch per chunk', async () => {
    const all = Buffer.concat([frame(1, 'out1\n'), frame(2, 'err\n'), frame(1, Buffer.alloc(20000, 'z'))]);
    // Every split point, and byte-by-byte.
    for (const cut of [1, 7, 8, 9, 13, 20, 30, all.length - 1]) {
      const frames = await collect(demuxFrames(Readable.from([all.subarray(0, cut), all.subarray(cut)])));
      expect(frames.map((f) => [f.stream, f.payload.length])).toEqual([
        ['stdout', 5],
        ['stderr', 4],
        ['stdout', 20000],
      ]);
    }
    const bytes = [...all].map((b) => Buffer.from([b]));
    expect((await collect(demuxFrames(Readable.from(bytes)))).length).toBe(3);
  });

  it('handles empty frames', async () => {
    const frames = await collect(demuxFrames(Readable.from([Buffer.concat([frame(1, ''), frame(2, 'x')])])));
    expect(frames.map((f) => [f.stream, f.payload.toString()])).toEqual([
      ['stdout', ''],
      ['stderr', 'x'],
    ]);
  });

  it('throws on a non-multiplexed stream, a truncated frame, and Docker in-band errors', async () => {
    await expect(collect(demuxFrames(Readable.from([Buffer.from('hello world, this is a tty')])))).rejects.toThrow(DemuxError);
    await expect(collect(demuxFrames(Readable.from([frame(1, 'abcdef').subarray(0, 10)])))).rejects.toThrow(/ended inside a frame/);
    await expect(collect(demuxFrames(Readable.from([frame(3, 'no such container')])))).rejects.toThrow(/no such container/);
  });

  it('reads the source only as fast as the consumer pulls (backpressure)', async () => {
    let produced = 0;
    const source = new Readable({
      highWaterMark: 1024,
      read() {
        produced++;
        this.push(frame(1, Buffer.alloc(1000, 'a')));
      },
    });
    const gen = demuxFrames(source);
    await gen.next();
    await new Promise((r) => setTimeout(r, 50));
    // A consumer that stopped pulling: the source was asked for a bounded number of chunks.
    expect(produced).toBeLessThan(10);
    await gen.return(undefined);
    source.destroy();
  });
});

describe('Docker log messages', () => {
  it.each([
    [`${TS} hello\n`, 'hello', true],
    [`${TS} \n`, '', true],
    [`${TS} crlf\r\n`, 'crlf', true],
    [`${TS} cr inside\r kept\n`, 'cr inside\r kept', true],
    [`${TS} no newline at the end`, 'no newline at the end', true],
    [`${TS} ${'p'.repeat(16384)}`, 'p'.repeat(16384), false],
  ])('messageOf(%j)', (payload, content, full) => {
    const m = messageOf('stdout', Buffer.from(payload));
    expect(m.ts).toBe(TS_NS);
    expect(m.content.toString()).toBe(content);
    expect(m.full).toBe(full);
  });

  it('refuses a payload without a timestamp', () => {
    expect(() => messageOf('stdout', Buffer.from('hello\n'))).toThrow(/timestamp/);
  });

  it('reads a multiplexed stream of both streams', async () => {
    const msgs = await collect(multiplexedMessages(Readable.from([frame(1, `${TS} a\n`), frame(2, `${TS} b\n`)])));
    expect(msgs.map((m) => [m.stream, m.content.toString(), m.full])).toEqual([
      ['stdout', 'a', true],
      ['stderr', 'b', true],
    ]);
  });

  it('reads a TTY stream: lines, 16 KiB partials, and an unterminated tail', async () => {
    const long = 'L'.repeat(16384);
    const raw = `${TS} one\r\n${TS} ${long}${TS} ${long}${TS} end\n${TS} tail`;
    for (const cut of [5, 40, 16400, raw.length - 3]) {
      const msgs = await collect(rawMessages(Readable.from([Buffer.from(raw.slice(0, cut)), Buffer.from(raw.slice(cut))])));
      expect(msgs.map((m) => [m.content.length, m.full])).toEqual([
        [3, true],
        [16384, false],
        [16384, false],
        [3, true],
        [4, true],
      ]);
    }
  });
});

describe('ResumeWindow', () => {
  const s = 1_000_000_000n;
  const out = (ts: bigint, tag: 'F' | 'P' = 'F') => ({ ts, stream: 'stdout' as const, tag });
  const err = (ts: bigint, tag: 'F' | 'P' = 'F') => ({ ts, stream: 'stderr' as const, tag });
  const windowOf = (entries: WindowEntry[]) => {
    const w = new ResumeWindow();
    for (const e of entries) w.add(e);
    return w;
  };

  it('is empty at first: from the beginning, nothing to skip', () => {
    expect(new ResumeWindow().point()).toEqual({ since: 0n, skip: 0 });
  });

  it('counts the entries within a second of the newest, pieces of one time included', () => {
    const w = windowOf([out(100n * s), out(100n * s + 1n), out(101n * s, 'P'), out(101n * s), out(101n * s + 5n)]);
    // since = newest - 1 s = 100 s + 5 ns: the two at 100 s are older.
    expect(w.point()).toEqual({ since: 100n * s + 5n, skip: 3 });
  });

  it('counts an out-of-order entry inside the window, not one outside', () => {
    const w = windowOf([50n * s, 52n * s, 51n * s + s / 2n, 52n * s + 10n, 40n * s].map((ts) => out(ts)));
    expect(w.point()).toEqual({ since: 52n * s + 10n - WINDOW_NS, skip: 3 });
    expect(w.snapshot()).toEqual({ stamps: [52n * s, 51n * s + s / 2n, 52n * s + 10n], open: [] });
  });

  it('stays small over a long run', () => {
    const w = new ResumeWindow();
    for (let i = 0n; i < 100_000n; i++) w.add(out(i * 1_000_000n)); // one per ms for 100 s
    expect(w.snapshot().stamps.length).toBe(1001);
  });

  it('goes back to the time of a line still open on a stream, counting what was written since', () => {
    // stdout starts a long line at 100 s (Docker stamps all its pieces so); stderr goes on.
    const w = windowOf([out(99n * s), err(100n * s - 1n), out(100n * s, 'P'), err(101n * s), err(150n * s), out(100n * s, 'P'), err(200n * s)]);
    // Docker's since = 100 s replays: P, err 101, err 150, P, err 200 (not err 100 - 1 ns).
    expect(w.point()).toEqual({ since: 100n * s, skip: 5 });
    expect(w.openSeries).toEqual([{ stream: 'stdout', ts: 100n * s, count: 5 }]);
    // Its F (with the first piece's time) ends it: back to newest - 1 s.
    w.add(out(100n * s));
    expect(w.point()).toEqual({ since: 199n * s, skip: 1 });
    expect(w.openSeries).toEqual([]);
  });

  it('takes the older of two open lines, and counts entries just before one that a resume at its time replays', () => {
    const w = windowOf([out(10n * s + 5n), err(10n * s, 'P'), out(20n * s, 'P'), err(10n * s, 'P'), out(20n * s, 'P')]);
    // stderr's line (10 s) is the older: out(10 s + 5 ns), written before it, is replayed too.
    expect(w.point()).toEqual({ since: 10n * s, skip: 5 });
    w.add(err(10n * s)); // closes stderr's; stdout's (20 s) is within the window of the newest
    expect(w.point()).toEqual({ since: 19n * s, skip: 2 });
  });

  it('survives a snapshot (the checkpoint of a reopen)', () => {
    const w = windowOf([out(10n * s, 'P'), err(11n * s), err(30n * s)]);
    const copy = new ResumeWindow(w.snapshot());
    expect(copy.point()).toEqual(w.point());
    expect(copy.point()).toEqual({ since: 10n * s, skip: 3 });
    w.add(err(31n * s));
    copy.add(err(31n * s));
    expect(copy.point()).toEqual({ since: 10n * s, skip: 4 });
    expect(copy.forgetOpenSeries()).toEqual([{ stream: 'stdout', ts: 10n * s, count: 4 }]);
    expect(copy.point()).toEqual({ since: 30n * s, skip: 2 });
  });
});
