/**
 * What a client sends is never buffered without bound, nor copied over and over: the
 * resize splitter caps an unclosed object, the header inflater caps what a block
 * inflates to (zlib bombs), and the frame reader joins a partial frame's chunks once.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { deflateSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JsonObjectSplitter, MAX_RESIZE_OBJECT, readTerminalSizes, type TerminalSize } from '../../../src/streaming/resize.js';
import { SpdyConnection } from '../../../src/streaming/spdy/connection.js';
import { SPDY3_DICTIONARY } from '../../../src/streaming/spdy/dictionary.js';
import { dataFrameHeader, FrameReader, parseControl, pingFrame, SpdyProtocolError, synStreamFrame, type RawFrame } from '../../../src/streaming/spdy/frames.js';
import { encodeHeaderBlock, HeaderCompressor, HeaderDecompressor, MAX_HEADER_BLOCK } from '../../../src/streaming/spdy/header-block.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  cleanups.splice(0).forEach((c) => c());
  vi.restoreAllMocks();
});

/** One zlib stream primed with the SPDY dictionary, as a peer's first header block. */
const peerBlock = (inflated: Buffer) => deflateSync(inflated, { dictionary: SPDY3_DICTIONARY });

function within<T>(p: Promise<T>, what: string, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
    p.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

describe('resize objects are capped', () => {
  it('an object left open past the cap is an error, whatever the chunking', () => {
    for (const size of [1, 1000, MAX_RESIZE_OBJECT * 2]) {
      const s = new JsonObjectSplitter();
      const text = `{"Width":1,"x":"${'a'.repeat(MAX_RESIZE_OBJECT)}`;
      expect(() => {
        for (let at = 0; at < text.length; at += size) s.push(text.slice(at, at + size));
      }).toThrow(/longer than 65536/);
    }
    // Whitespace inside an object counts too.
    expect(() => new JsonObjectSplitter(100).push(`{${' '.repeat(200)}`)).toThrow(/longer than 100/);
  });

  it('objects within the cap, split anywhere, still come out', () => {
    const s = new JsonObjectSplitter(100);
    const one = `{"Width":80,"Height":24,"pad":"${'p'.repeat(50)}"}`;
    expect([...one].flatMap((c) => s.push(c))).toHaveLength(1);
    expect(s.push(`${one}\n${one}`)).toHaveLength(2);
  });

  it('readTerminalSizes stops at an oversized object and drains the rest', async () => {
    const source = new PassThrough();
    const sizes: TerminalSize[] = [];
    const errors: Error[] = [];
    readTerminalSizes(source, (s) => sizes.push(s), (e) => errors.push(e));
    source.write('{"Width":10,"Height":5}\n{"Width":');
    for (let i = 0; i < 10; i++) source.write(' '.repeat(16 * 1024));
    source.write('1,"Height":1}');
    await new Promise((r) => setImmediate(r));
    expect(sizes).toEqual([{ width: 10, height: 5 }]);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/longer than/)]);
    // Drained: nothing piles up in the source.
    expect(source.readableLength).toBe(0);
    expect(source.readableFlowing).toBe(true);
  });
});

describe('inflated header blocks are capped', () => {
  it('a block inflating past the cap fails with a protocol error, and the decompressor stays failed', async () => {
    const d = new HeaderDecompressor();
    // 64 MiB of zeros: some 64 KiB on the wire.
    const bomb = peerBlock(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(MAX_HEADER_BLOCK);
    const failed = d.decompress(bomb);
    await expect(failed).rejects.toThrow(SpdyProtocolError);
    await expect(failed).rejects.toThrow(/more than 262144 bytes/);
    await expect(d.decompress(Buffer.alloc(4))).rejects.toThrow(/more than/);
    d.close();
  });

  it('blocks up to the cap inflate, one after another', async () => {
    const d = new HeaderDecompressor();
    const ours = new HeaderCompressor();
    const near = encodeHeaderBlock({ big: 'x'.repeat(MAX_HEADER_BLOCK - 100) });
    expect(near.length).toBeLessThanOrEqual(MAX_HEADER_BLOCK);
    // The cap is per block: three near-cap blocks in a row are fine.
    for (let i = 0; i < 3; i++) expect((await d.decompress(ours.compress(near))).equals(near)).toBe(true);
    d.close();
  });

  it('a connection sent a header bomb answers GOAWAY(PROTOCOL_ERROR) and closes', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const accepted = new Promise<Socket>((r) => srv.once('connection', r));
    const client = connect((srv.address() as { port: number }).port, '127.0.0.1');
    const serverSocket = await accepted;
    cleanups.push(() => {
      client.destroy();
      serverSocket.destroy();
      srv.close();
    });
    const conn = new SpdyConnection(serverSocket, { role: 'server' });
    const streams: unknown[] = [];
    conn.on('stream', (s) => streams.push(s));
    const closed = new Promise<void>((r) => conn.on('close', r));
    const reader = new FrameReader();
    const frames: RawFrame[] = [];
    client.on('data', (c: Buffer) => frames.push(...reader.push(c)));
    const clientClosed = new Promise((r) => client.on('close', r));
    client.write(synStreamFrame(1, peerBlock(Buffer.alloc(64 * 1024 * 1024))));
    await within(Promise.all([closed, clientClosed]), 'connection never closed');
    expect(streams).toEqual([]);
    const controls = frames.map((f) => (f.control ? parseControl(f) : f));
    expect(controls).toEqual([{ type: 'GOAWAY', lastGoodStreamId: 0, status: 1 }]);
  });
});

describe('FrameReader joins a partial frame once', () => {
  /** Bytes copied by Buffer.concat and Buffer.from(buffer) while `fn` runs. */
  function copiedBy(fn: () => void): number {
    let copied = 0;
    const concat = Buffer.concat.bind(Buffer);
    const from = Buffer.from.bind(Buffer) as (...a: unknown[]) => Buffer;
    vi.spyOn(Buffer, 'concat').mockImplementation((list, total) => {
      const out = concat(list, total);
      copied += out.length;
      return out;
    });
    vi.spyOn(Buffer, 'from').mockImplementation(((...args: unknown[]) => {
      const out = from(...args);
      if (Buffer.isBuffer(args[0]) || args[0] instanceof Uint8Array) copied += out.length;
      return out;
    }) as typeof Buffer.from);
    try {
      fn();
    } finally {
      vi.restoreAllMocks();
    }
    return copied;
  }

  it('copies a big frame fed in small chunks a bounded number of times, not once per chunk', () => {
    const payload = randomBytes(2 * 1024 * 1024);
    const wire = Buffer.concat([pingFrame(1), dataFrameHeader(1, payload.length, true), payload, pingFrame(3)]);
    const reader = new FrameReader();
    const frames: RawFrame[] = [];
    const copied = copiedBy(() => {
      for (let at = 0; at < wire.length; at += 4096) {
        frames.push(...reader.push(wire.subarray(at, at + 4096)));
        if (frames.length === 1 && at > 0) expect(reader.bufferedBytes).toBe(at + 4096 - 12);
      }
    });
    expect(frames.map((f) => (f.control ? f.type : 'data'))).toEqual([6, 'data', 6]);
    expect((frames[1] as Extract<RawFrame, { control: false }>).data.equals(payload)).toBe(true);
    expect(reader.bufferedBytes).toBe(0);
    // Joining once, plus copies of remainders no larger than a chunk: about one frame's worth.
    expect(copied).toBeLessThan(2 * wire.length);
  });

  it('any split of a stream of frames gives the same frames', () => {
    const parts: Buffer[] = [];
    for (let i = 0; i < 50; i++) {
      const body = randomBytes(Math.floor(Math.random() * 3000));
      parts.push(i % 3 ? Buffer.concat([dataFrameHeader(i * 2 + 1, body.length, false), body]) : pingFrame(i));
    }
    const wire = Buffer.concat(parts);
    const show = (frames: RawFrame[]) => frames.map((f) => (f.control ? `c${f.type}:${f.payload.toString('hex')}` : `d${f.streamId}:${f.data.toString('hex')}`));
    const whole = show(new FrameReader().push(wire));
    expect(whole).toHaveLength(50);
    for (let round = 0; round < 20; round++) {
      const reader = new FrameReader();
      const got: RawFrame[] = [];
      for (let at = 0; at < wire.length; ) {
        const n = 1 + Math.floor(Math.random() * 5000);
        got.push(...reader.push(wire.subarray(at, at + n)));
        at += n;
      }
      expect(show(got)).toEqual(whole);
      expect(reader.bufferedBytes).toBe(0);
    }
  });
});
