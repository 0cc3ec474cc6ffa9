/**
 * crictl 1.26 sends the socket path as :authority. These are its exact bytes for
 * `crictl version`; we must answer as for any other client.
 */
import hpack from 'hpack.js';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTO_PATH } from '../../src/cri/proto.js';
import { startTestShim, type TestShim } from '../helpers/shim.js';

const RAW = join(import.meta.dirname, '../fixtures/cri-wire/raw/crictl-1.26-version.h2');

interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

function parseFrames(buf: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  let off = 0;
  while (buf.length - off >= 9) {
    const len = buf.readUIntBE(off, 3);
    if (buf.length - off < 9 + len) break;
    frames.push({
      type: buf[off + 3]!,
      flags: buf[off + 4]!,
      stream: buf.readUInt32BE(off + 5) & 0x7fffffff,
      payload: buf.subarray(off + 9, off + 9 + len),
    });
    off += 9 + len;
  }
  return { frames, rest: buf.subarray(off) };
}

/** Sends `bytes` and collects server frames until stream 1 ends (or the socket closes). */
function exchange(path: string, bytes: Buffer): Promise<Frame[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ path });
    let buf: Buffer = Buffer.alloc(0);
    const frames: Frame[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no complete answer; got frame types ${frames.map((f) => f.type)}`));
    }, 5000);
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (d: Buffer) => {
      const parsed = parseFrames(Buffer.concat([buf, d]));
      buf = parsed.rest;
      frames.push(...parsed.frames);
      const ended = frames.some((f) => f.stream === 1 && f.flags & 0x1);
      const reset = frames.some((f) => f.type === 0x3);
      if (ended || reset) {
        clearTimeout(timer);
        sock.destroy();
        resolve(frames);
      }
    });
    sock.on('error', reject);
  });
}

function decodeHeaders(decoder: ReturnType<typeof hpack.decompressor.create>, block: Buffer): Record<string, string> {
  decoder.write(block);
  decoder.execute();
  const out: Record<string, string> = {};
  for (let h = decoder.read(); h !== null; h = decoder.read()) out[h.name] = h.value;
  return out;
}

describe('a Go client that sends the socket path as :authority (crictl 1.26)', () => {
  let t: TestShim;
  beforeAll(async () => {
    t = await startTestShim();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the fixture really carries a path authority', () => {
    const bytes = readFileSync(RAW);
    const { frames } = parseFrames(bytes.subarray(24));
    const headers = frames.find((f) => f.type === 0x1)!;
    const h = decodeHeaders(hpack.decompressor.create({ table: { maxSize: 4096 } }), headers.payload);
    expect(h[':authority']).toMatch(/^\//);
    expect(h[':path']).toBe('/runtime.v1.RuntimeService/Version');
  });

  it('gets :status 200, a VersionResponse and grpc-status 0', async () => {
    const frames = await exchange(t.shim.socketPath, readFileSync(RAW));
    expect(frames.filter((f) => f.type === 0x3), 'no RST_STREAM').toEqual([]);
    const decoder = hpack.decompressor.create({ table: { maxSize: 4096 } });
    const headerFrames = frames.filter((f) => f.type === 0x1 && f.stream === 1);
    expect(headerFrames.length).toBe(2);
    const first = decodeHeaders(decoder, headerFrames[0]!.payload);
    expect(first[':status']).toBe('200');
    const data = Buffer.concat(frames.filter((f) => f.type === 0x0 && f.stream === 1).map((f) => f.payload));
    // gRPC message framing: 1 byte compressed flag, 4 bytes length, then the message.
    expect(data[0]).toBe(0);
    const msgLen = data.readUInt32BE(1);
    const root = new protobuf.Root().loadSync(PROTO_PATH, { keepCase: true });
    const VersionResponse = root.lookupType('runtime.v1.VersionResponse');
    const res = VersionResponse.toObject(VersionResponse.decode(data.subarray(5, 5 + msgLen)));
    expect(res).toMatchObject({ runtime_name: 'cri-shim', runtime_api_version: 'v1' });
    const trailers = decodeHeaders(decoder, headerFrames[1]!.payload);
    expect(trailers['grpc-status']).toBe('0');
  });

  it('serves several calls in a row on one connection', async () => {
    // Replay the same request on stream 3 as well: same HEADERS block (its HPACK
    // references still resolve since the client's table is per connection).
    const bytes = readFileSync(RAW);
    const preface = bytes.subarray(0, 24);
    const { frames } = parseFrames(bytes.subarray(24));
    const encode = (f: Frame, stream: number): Buffer => {
      const h = Buffer.alloc(9);
      h.writeUIntBE(f.payload.length, 0, 3);
      h[3] = f.type;
      h[4] = f.flags;
      h.writeUInt32BE(stream, 5);
      return Buffer.concat([h, f.payload]);
    };
    const again = frames.filter((f) => f.stream === 1).map((f) => encode(f, 3));
    const all = Buffer.concat([preface, ...frames.map((f) => encode(f, f.stream)), ...again]);
    const got = await new Promise<Frame[]>((resolve, reject) => {
      const sock = net.connect({ path: t.shim.socketPath });
      let buf: Buffer = Buffer.alloc(0);
      const seen: Frame[] = [];
      const timer = setTimeout(() => reject(new Error('timeout')), 5000);
      sock.on('connect', () => sock.write(all));
      sock.on('data', (d: Buffer) => {
        const p = parseFrames(Buffer.concat([buf, d]));
        buf = p.rest;
        seen.push(...p.frames);
        if ([1, 3].every((s) => seen.some((f) => f.stream === s && f.type === 0x1 && f.flags & 0x1))) {
          clearTimeout(timer);
          sock.destroy();
          resolve(seen);
        }
      });
      sock.on('error', reject);
    });
    expect(got.filter((f) => f.type === 0x3)).toEqual([]);
  });

  it('accepts HPACK dynamic table size updates at the start of a header block', async () => {
    // Stream 3 re-announces the full 4096-byte table; stream 5 empties it and sets it
    // back (two updates in a row are legal, RFC 7541 §4.2). The fixture's block only
    // references static entries, so it still decodes after the table was emptied.
    const bytes = readFileSync(RAW);
    const preface = bytes.subarray(0, 24);
    const { frames } = parseFrames(bytes.subarray(24));
    const encode = (f: Frame, stream: number, prefix = Buffer.alloc(0)): Buffer => {
      const payload = Buffer.concat([prefix, f.payload]);
      const h = Buffer.alloc(9);
      h.writeUIntBE(payload.length, 0, 3);
      h[3] = f.type;
      h[4] = f.flags;
      h.writeUInt32BE(stream, 5);
      return Buffer.concat([h, payload]);
    };
    const call = (stream: number, prefix: number[]) =>
      frames.filter((f) => f.stream === 1).map((f) => encode(f, stream, f.type === 0x1 ? Buffer.from(prefix) : undefined));
    const all = Buffer.concat([
      preface,
      ...frames.map((f) => encode(f, f.stream)),
      ...call(3, [0x3f, 0xe1, 0x1f]),
      ...call(5, [0x20, 0x3f, 0xe1, 0x1f]),
    ]);
    const got = await new Promise<Frame[]>((resolve, reject) => {
      const sock = net.connect({ path: t.shim.socketPath });
      let buf: Buffer = Buffer.alloc(0);
      const seen: Frame[] = [];
      const timer = setTimeout(() => reject(new Error(`timeout; got ${JSON.stringify(seen.map((f) => [f.type, f.stream]))}`)), 5000);
      sock.on('connect', () => sock.write(all));
      sock.on('data', (d: Buffer) => {
        const p = parseFrames(Buffer.concat([buf, d]));
        buf = p.rest;
        seen.push(...p.frames);
        if ([1, 3, 5].every((s) => seen.some((f) => f.stream === s && f.type === 0x1 && f.flags & 0x1))) {
          clearTimeout(timer);
          sock.destroy();
          resolve(seen);
        }
      });
      sock.on('close', () => reject(new Error(`connection closed; got ${JSON.stringify(seen.map((f) => [f.type, f.stream]))}`)));
      sock.on('error', reject);
    });
    expect(got.filter((f) => f.type === 0x3 || f.type === 0x7), 'no RST_STREAM or GOAWAY').toEqual([]);
    const decoder = hpack.decompressor.create({ table: { maxSize: 4096 } });
    const trailers = got
      .filter((f) => f.type === 0x1)
      .map((f) => ({ stream: f.stream, end: !!(f.flags & 0x1), h: decodeHeaders(decoder, f.payload) }))
      .filter((x) => x.end);
    expect(trailers.map((x) => [x.stream, x.h['grpc-status']])).toEqual([
      [1, '0'],
      [3, '0'],
      [5, '0'],
    ]);
  });

  it('drops a connection with a malformed HEADERS frame and keeps serving others', async () => {
    const bytes = readFileSync(RAW);
    // PADDED HEADERS whose pad length (200) exceeds its 2-byte payload: PROTOCOL_ERROR.
    const bad = Buffer.from([0, 0, 2, 0x1, 0x4 | 0x8, 0, 0, 0, 1, 200, 0x82]);
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect({ path: t.shim.socketPath });
      const timer = setTimeout(() => reject(new Error('connection stayed open')), 5000);
      sock.on('connect', () => sock.write(Buffer.concat([bytes.subarray(0, 24), bad])));
      sock.on('error', () => {});
      sock.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
      sock.resume();
    });
    const frames = await exchange(t.shim.socketPath, bytes);
    expect(frames.filter((f) => f.type === 0x3)).toEqual([]);
  });
});
