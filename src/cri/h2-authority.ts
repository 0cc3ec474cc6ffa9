/**
 * Rewrites the HTTP/2 `:authority` of old Go gRPC clients.
 *
 * grpc-go before 1.52 (crictl <= 1.26, critest 1.26, many node agents) sends the
 * Unix socket *path* as `:authority`. Node's HTTP/2 layer resets such a stream with
 * PROTOCOL_ERROR before grpc-js sees it, so we sit between the socket and grpc-js:
 * every client HEADERS block is decoded (hpack.js keeps the client's dynamic table),
 * a bad authority becomes `localhost`, and the block is re-encoded with literal
 * "never indexed" fields only, so the server's HPACK table never fills and stays
 * trivially in step. All other frames, and the whole server-to-client direction,
 * pass through untouched.
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import hpack from 'hpack.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEADER_LEN = 9;
const TYPE_HEADERS = 0x1;
const TYPE_CONTINUATION = 0x9;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
// The client may send blocks up to our SETTINGS_MAX_FRAME_SIZE; we emit at most the
// protocol's default so the frames are valid whatever grpc-js advertised.
const MAX_OUT_FRAME = 16384;

/** True when Node's HTTP/2 server would accept `value` as an authority (host[:port]). */
export function isValidAuthority(value: string): boolean {
  return /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&'()*+,;=-]*)(:[0-9]*)?$/.test(value);
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function encodeInt(value: number, prefixBits: number, firstByteFlags: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByteFlags | value];
  const out = [firstByteFlags | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

function encodeString(value: string): Buffer {
  const bytes = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from(encodeInt(bytes.length, 7, 0)), bytes]);
}

/** Encodes headers as "literal never indexed, new name" fields (RFC 7541 §6.2.3). */
export function encodeNeverIndexed(headers: Array<{ name: string; value: string }>): Buffer {
  const parts: Buffer[] = [];
  for (const h of headers) {
    parts.push(Buffer.from([0x10]), encodeString(h.name), encodeString(h.value));
  }
  return Buffer.concat(parts);
}

function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const b = Buffer.alloc(FRAME_HEADER_LEN);
  b.writeUIntBE(length, 0, 3);
  b.writeUInt8(type, 3);
  b.writeUInt8(flags, 4);
  b.writeUInt32BE(streamId & 0x7fffffff, 5);
  return b;
}

/** Strips padding and priority fields from a HEADERS payload: only the block fragment remains. */
function headerFragment(flags: number, payload: Buffer): Buffer {
  let start = 0;
  let end = payload.length;
  if (flags & FLAG_PADDED) {
    const padLength = payload.readUInt8(0);
    start = 1;
    end -= padLength;
  }
  if (flags & FLAG_PRIORITY) start += 5;
  return payload.subarray(start, end);
}

/** Re-emits one header block as HEADERS (+ CONTINUATION) frames. */
function headerFrames(streamId: number, endStreamFlag: number, block: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  let offset = 0;
  let first = true;
  do {
    const chunk = block.subarray(offset, offset + MAX_OUT_FRAME);
    offset += chunk.length;
    const last = offset >= block.length;
    const type = first ? TYPE_HEADERS : TYPE_CONTINUATION;
    const flags = (first ? endStreamFlag : 0) | (last ? FLAG_END_HEADERS : 0);
    frames.push(frameHeader(chunk.length, type, flags, streamId), chunk);
    first = false;
  } while (offset < block.length);
  return frames;
}

/**
 * Parses the client's byte stream frame by frame and rewrites header blocks.
 * Incremental: call push() with whatever arrived, get back the bytes to forward.
 */
export class ClientFrameRewriter {
  private buffered: Buffer = Buffer.alloc(0);
  private prefaceSeen = false;
  private readonly decoder = hpack.decompressor.create({ table: { size: 4096 } });
  private pending: { streamId: number; endStream: number; fragments: Buffer[] } | null = null;

  push(data: Buffer): Buffer {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, data]) : data;
    const out: Buffer[] = [];
    if (!this.prefaceSeen) {
      if (this.buffered.length < PREFACE.length) return Buffer.alloc(0);
      out.push(this.buffered.subarray(0, PREFACE.length));
      this.buffered = this.buffered.subarray(PREFACE.length);
      this.prefaceSeen = true;
    }
    while (this.buffered.length >= FRAME_HEADER_LEN) {
      const length = this.buffered.readUIntBE(0, 3);
      if (this.buffered.length < FRAME_HEADER_LEN + length) break;
      const frame = this.buffered.subarray(0, FRAME_HEADER_LEN + length);
      this.buffered = this.buffered.subarray(FRAME_HEADER_LEN + length);
      out.push(...this.handleFrame(frame));
    }
    return Buffer.concat(out);
  }

  private handleFrame(frame: Buffer): Buffer[] {
    const type = frame.readUInt8(3);
    const flags = frame.readUInt8(4);
    const streamId = frame.readUInt32BE(5) & 0x7fffffff;
    const payload = frame.subarray(FRAME_HEADER_LEN);
    if (type === TYPE_HEADERS) {
      this.pending = { streamId, endStream: flags & 0x1, fragments: [headerFragment(flags, payload)] };
    } else if (type === TYPE_CONTINUATION && this.pending) {
      this.pending.fragments.push(payload);
    } else {
      return [frame];
    }
    if (!(flags & FLAG_END_HEADERS)) return [];
    const { streamId: id, endStream, fragments } = this.pending;
    this.pending = null;
    return headerFrames(id, endStream, this.rewriteBlock(Buffer.concat(fragments)));
  }

  private rewriteBlock(block: Buffer): Buffer {
    this.decoder.write(block);
    this.decoder.execute();
    const headers: Array<{ name: string; value: string }> = [];
    for (let h = this.decoder.read(); h !== null; h = this.decoder.read()) {
      const value = h.name === ':authority' && !isValidAuthority(h.value) ? 'localhost' : h.value;
      headers.push({ name: h.name, value });
    }
    return encodeNeverIndexed(headers);
  }
}

/**
 * Wraps an accepted socket in a Duplex for grpc-js: reads pass through the rewriter,
 * writes go straight to the socket.
 */
export function rewriteAuthority(socket: Socket): Duplex {
  const rewriter = new ClientFrameRewriter();
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(err, cb) {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  socket.on('data', (data: Buffer) => {
    let out: Buffer;
    try {
      out = rewriter.push(data);
    } catch (err) {
      // A client whose header block we cannot decode is broken beyond repair.
      duplex.destroy(err as Error);
      return;
    }
    if (out.length && !duplex.push(out)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('error', (err) => duplex.destroy(err));
  socket.on('close', () => duplex.destroy());
  return duplex;
}
