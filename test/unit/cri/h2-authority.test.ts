import hpack, { type Compressor, type HpackTable } from 'hpack.js';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClientFrameRewriter,
  encodeNeverIndexed,
  H2RewriteError,
  HEADER_TABLE_SIZE,
  isValidAuthority,
  MAX_HEADER_BLOCK,
  MAX_IN_FRAME,
  rewriteAuthority,
} from '../../../src/cri/h2-authority.js';

describe('isValidAuthority', () => {
  it.each([
    ['localhost', true],
    ['localhost:50051', true],
    ['[::1]:80', true],
    ['10.0.0.1', true],
    ['/run/cri-shim/cri-shim.sock', false],
    ['/var/run/dockershim.sock', false],
    ['a b', false],
  ])('%s → %s', (value, ok) => {
    expect(isValidAuthority(value)).toBe(ok);
  });
});

describe('encodeNeverIndexed', () => {
  it('writes RFC 7541 literal never-indexed fields with new names', () => {
    // 0x10, name length 1 "a", value length 2 "bc"
    expect([...encodeNeverIndexed([{ name: 'a', value: 'bc' }])]).toEqual([0x10, 1, 0x61, 2, 0x62, 0x63]);
  });

  it('uses multi-byte lengths past the 7-bit prefix', () => {
    const long = 'x'.repeat(200);
    const out = encodeNeverIndexed([{ name: 'n', value: long }]);
    // value length 200 = 127 + 73 → 0x7f, 73
    expect([...out.subarray(3, 5)]).toEqual([0x7f, 73]);
    expect(out.length).toBe(1 + 2 + 2 + 200);
  });
});

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

const HEADERS = 0x1;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

/** Frames leaving the rewriter, with their header blocks decoded (never-indexed: no table). */
function decodeOut(out: Buffer): Array<{ type: number; flags: number; stream: number; headers?: Record<string, string> }> {
  const result = [];
  let off = 0;
  let block: Buffer[] = [];
  while (off < out.length) {
    const len = out.readUIntBE(off, 3);
    const type = out[off + 3]!;
    const flags = out[off + 4]!;
    const stream = out.readUInt32BE(off + 5);
    const payload = out.subarray(off + 9, off + 9 + len);
    off += 9 + len;
    if (type !== HEADERS && type !== CONTINUATION) {
      result.push({ type, flags, stream });
      continue;
    }
    block.push(payload);
    if (!(flags & END_HEADERS)) continue;
    const d = hpack.decompressor.create({ table: { maxSize: 0 } });
    d.write(Buffer.concat(block));
    d.execute();
    const headers: Record<string, string> = {};
    for (let h = d.read(); h !== null; h = d.read()) {
      expect(h.neverIndex).toBe(true);
      headers[h.name] = h.value;
    }
    block = [];
    result.push({ type, flags, stream, headers });
  }
  return result;
}

function compress(c: Compressor, headers: Array<[string, string]>): Buffer {
  c.write(headers.map(([name, value]) => ({ name, value })));
  const chunks: Buffer[] = [];
  for (let b = c.read(); b !== null; b = c.read()) chunks.push(b);
  return Buffer.concat(chunks);
}

function started(): ClientFrameRewriter {
  const rw = new ClientFrameRewriter();
  expect(rw.push(PREFACE)).toEqual(PREFACE);
  return rw;
}

const tableOf = (rw: ClientFrameRewriter): HpackTable => (rw as any).decoder._table;

const request = (i: number): Array<[string, string]> => [
  [':method', 'POST'],
  [':scheme', 'http'],
  [':path', '/runtime.v1.RuntimeService/ContainerStatus'],
  [':authority', '/var/run/cri-shim.sock'],
  ['content-type', 'application/grpc'],
  ['te', 'trailers'],
  ['grpc-timeout', `${i}m`],
  ['x-request-id', `req-${i}-${'x'.repeat(100)}`],
];

describe('ClientFrameRewriter HPACK table', () => {
  it('keeps the client dynamic table bounded over many calls and stays in step with it', () => {
    const rw = started();
    const client = hpack.compressor.create({ table: { maxSize: 4096 } });
    let maxSeen = 0;
    for (let i = 0; i < 2000; i++) {
      const stream = 2 * i + 1;
      const out = decodeOut(rw.push(frame(HEADERS, END_HEADERS, stream, compress(client, request(i)))));
      expect(out).toHaveLength(1);
      // Each call adds new indexed entries: the client evicted old ones, so must we, or
      // its indices point at other entries.
      expect(out[0]!.headers).toEqual({ ...Object.fromEntries(request(i)), ':authority': 'localhost' });
      expect(out[0]!.stream).toBe(stream);
      maxSeen = Math.max(maxSeen, tableOf(rw).size);
    }
    expect(tableOf(rw).size).toBeLessThanOrEqual(HEADER_TABLE_SIZE);
    expect(maxSeen).toBeLessThanOrEqual(HEADER_TABLE_SIZE);
    expect(maxSeen).toBeGreaterThan(HEADER_TABLE_SIZE / 2);
    expect(tableOf(rw).dynamic.length).toBeLessThan(4096 / 32);
  });

  it('advertises HTTP/2 default table size, as Node does', () => {
    expect(HEADER_TABLE_SIZE).toBe(4096);
    expect(tableOf(new ClientFrameRewriter()).protocolMaxSize).toBe(4096);
  });

  it('accepts a block starting with a dynamic table size update to 4096', () => {
    const rw = started();
    const client = hpack.compressor.create({ table: { maxSize: 4096 } });
    const block = Buffer.concat([Buffer.from([0x3f, 0xe1, 0x1f]), compress(client, request(1))]);
    const out = decodeOut(rw.push(frame(HEADERS, END_HEADERS | END_STREAM, 1, block)));
    expect(out).toEqual([
      { type: HEADERS, flags: END_HEADERS | END_STREAM, stream: 1, headers: { ...Object.fromEntries(request(1)), ':authority': 'localhost' } },
    ]);
  });

  it('accepts a size update to 0 (evicting everything) followed by one back to 4096', () => {
    const rw = started();
    const client = hpack.compressor.create({ table: { maxSize: 4096 } });
    rw.push(frame(HEADERS, END_HEADERS, 1, compress(client, request(1))));
    expect(tableOf(rw).size).toBeGreaterThan(0);
    // Literal with incremental indexing, new name: 0x40, "a", "b".
    const literal = Buffer.from([0x40, 1, 0x61, 1, 0x62]);
    const out = decodeOut(rw.push(frame(HEADERS, END_HEADERS, 3, Buffer.concat([Buffer.from([0x20]), literal]))));
    expect(out[0]!.headers).toEqual({ a: 'b' });
    // Table emptied, then updated to 0: the new entry did not fit.
    expect(tableOf(rw).size).toBe(0);
    const again = Buffer.concat([Buffer.from([0x3f, 0xe1, 0x1f]), literal, Buffer.from([0x80 | 62])]);
    expect(decodeOut(rw.push(frame(HEADERS, END_HEADERS, 5, again)))[0]!.headers).toEqual({ a: 'b' });
    expect(tableOf(rw).size).toBe(1 + 1 + 32);
  });

  it('refuses a size update above the advertised 4096', () => {
    const rw = started();
    expect(() => rw.push(frame(HEADERS, END_HEADERS, 1, Buffer.from([0x3f, 0xe2, 0x1f])))).toThrow(/Table size/);
  });
});

describe('ClientFrameRewriter bounds and framing errors', () => {
  it('rejects a frame longer than SETTINGS_MAX_FRAME_SIZE from its header alone', () => {
    expect(MAX_IN_FRAME).toBe(16384);
    const rw = started();
    const header = frame(0x0, 0, 1, Buffer.alloc(MAX_IN_FRAME + 1)).subarray(0, 9);
    expect(() => rw.push(header)).toThrow(H2RewriteError);
    expect(() => rw.push(header)).toThrow(/FRAME_SIZE_ERROR/);
  });

  it('passes a frame of exactly SETTINGS_MAX_FRAME_SIZE', () => {
    const rw = started();
    const data = frame(0x0, 0, 1, Buffer.alloc(MAX_IN_FRAME, 7));
    expect(rw.push(data.subarray(0, 100))).toHaveLength(0);
    expect(rw.push(data.subarray(100))).toEqual(data);
  });

  it('rejects a header block over 256 KiB spread over CONTINUATIONs', () => {
    const rw = started();
    const chunk = Buffer.alloc(MAX_IN_FRAME, 0x80 | 2);
    expect(rw.push(frame(HEADERS, 0, 1, chunk))).toHaveLength(0);
    let sent = chunk.length;
    const push = () => {
      while (sent <= MAX_HEADER_BLOCK) {
        expect(rw.push(frame(CONTINUATION, 0, 1, chunk))).toHaveLength(0);
        sent += chunk.length;
      }
    };
    expect(push).toThrow(/header block on stream 1 exceeds 262144 bytes/);
    // Broken for good: the connection goes away.
    expect(() => rw.push(frame(0x0, 0, 1, Buffer.alloc(1)))).toThrow(H2RewriteError);
  });

  it('rejects a block that decodes to an oversized header list', () => {
    const rw = started();
    // One 4000-byte entry in the table, then 100 one-byte references to it: a 100-byte
    // block worth 400 KB of headers. (4000 = 127 + 33 + 30 × 128 in HPACK's 7-bit prefix.)
    const big = Buffer.concat([Buffer.from([0x40, 1, 0x62, 0x7f, 0x80 | (4000 - 127 - 128 * 30), 30]), Buffer.alloc(4000, 0x61)]);
    expect(decodeOut(rw.push(frame(HEADERS, END_HEADERS, 1, big)))[0]!.headers!.b).toHaveLength(4000);
    expect(() => rw.push(frame(HEADERS, END_HEADERS, 3, Buffer.alloc(100, 0x80 | 62)))).toThrow(/decoded header list/);
  });

  it('strips valid padding and priority', () => {
    const rw = started();
    const block = encodeNeverIndexed([{ name: ':authority', value: '/x.sock' }]);
    const payload = Buffer.concat([Buffer.from([3]), Buffer.from([0, 0, 0, 0, 16]), block, Buffer.alloc(3)]);
    const out = decodeOut(rw.push(frame(HEADERS, END_HEADERS | PADDED | PRIORITY, 1, payload)));
    expect(out).toEqual([{ type: HEADERS, flags: END_HEADERS, stream: 1, headers: { ':authority': 'localhost' } }]);
  });

  it.each([
    ['padding longer than the payload', PADDED, Buffer.from([10, 0x82])],
    ['padding eating the priority fields', PADDED | PRIORITY, Buffer.from([1, 0, 0, 0, 0, 16])],
    ['a PADDED frame with no pad length', PADDED, Buffer.alloc(0)],
    ['a PRIORITY frame shorter than its fields', PRIORITY, Buffer.from([0, 0, 0])],
  ])('rejects %s as PROTOCOL_ERROR', (_name, flags, payload) => {
    const rw = started();
    expect(() => rw.push(frame(HEADERS, END_HEADERS | flags, 1, payload))).toThrow(/PROTOCOL_ERROR/);
  });

  it('accepts padding that exactly fills the payload', () => {
    const rw = started();
    const out = decodeOut(rw.push(frame(HEADERS, END_HEADERS | PADDED, 1, Buffer.from([2, 0, 0]))));
    expect(out).toEqual([{ type: HEADERS, flags: END_HEADERS, stream: 1, headers: {} }]);
  });

  it('rejects another frame inside a header block', () => {
    const rw = started();
    expect(rw.push(frame(HEADERS, 0, 1, Buffer.from([0x82])))).toHaveLength(0);
    expect(() => rw.push(frame(0x0, 0, 1, Buffer.alloc(1)))).toThrow(/PROTOCOL_ERROR/);
    const rw2 = started();
    rw2.push(frame(HEADERS, 0, 1, Buffer.from([0x82])));
    expect(() => rw2.push(frame(CONTINUATION, END_HEADERS, 3, Buffer.from([0x84])))).toThrow(/PROTOCOL_ERROR/);
  });

  it('reassembles HEADERS + CONTINUATION into one block', () => {
    const rw = started();
    const block = encodeNeverIndexed([{ name: 'k', value: 'v' }, { name: ':authority', value: 'ok:1' }]);
    expect(rw.push(frame(HEADERS, END_STREAM, 1, block.subarray(0, 4)))).toHaveLength(0);
    const out = decodeOut(rw.push(frame(CONTINUATION, END_HEADERS, 1, block.subarray(4))));
    expect(out).toEqual([{ type: HEADERS, flags: END_HEADERS | END_STREAM, stream: 1, headers: { k: 'v', ':authority': 'ok:1' } }]);
  });
});

describe('rewriteAuthority', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'h2-authority-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('destroys the connection with an error on an oversized frame', async () => {
    const path = join(dir, 's.sock');
    let wrapped: Duplex | undefined;
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      wrapped = rewriteAuthority(socket);
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const client = net.connect({ path });
      client.on('error', () => {});
      await new Promise((resolve) => client.on('connect', resolve));
      const header = frame(0x0, 0, 1, Buffer.alloc(MAX_IN_FRAME + 1)).subarray(0, 9);
      client.write(Buffer.concat([PREFACE, header]));
      const err = await new Promise<Error>((resolve) => {
        const check = () => (wrapped ? wrapped.once('error', resolve) : setTimeout(check, 5));
        check();
      });
      expect(err).toBeInstanceOf(H2RewriteError);
      await new Promise((resolve) => client.on('close', resolve));
    } finally {
      server.close();
    }
  });
});
