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
 * pass through untouched. What we hold is bounded: one frame of at most the
 * advertised SETTINGS_MAX_FRAME_SIZE, one header block of at most MAX_HEADER_BLOCK,
 * and an HPACK table of at most HEADER_TABLE_SIZE; past those, or on a malformed
 * block, the connection is destroyed.
 */
import http2 from 'node:http2';
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import hpack from 'hpack.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEADER_LEN = 9;
const TYPE_HEADERS = 0x1;
const TYPE_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
// The client may send blocks up to our SETTINGS_MAX_FRAME_SIZE; we emit at most the
// protocol's default so the frames are valid whatever grpc-js advertised.
const MAX_OUT_FRAME = 16384;

const NODE_DEFAULTS = http2.getDefaultSettings();
/**
 * The HPACK dynamic table limit the client may use: the SETTINGS_HEADER_TABLE_SIZE
 * Node's server advertises. grpc-js sets none, so it is HTTP/2's default, 4096
 * (RFC 7540 §6.5.2). The decoder evicts down to it and accepts any dynamic table size
 * update up to it (RFC 7541 §4.2, §6.3).
 */
export const HEADER_TABLE_SIZE = NODE_DEFAULTS.headerTableSize ?? 4096;
/**
 * Largest frame payload we accept: the SETTINGS_MAX_FRAME_SIZE Node's server advertises
 * (grpc-js sets none, so HTTP/2's default 16384, RFC 7540 §6.5.2). A client must not
 * send more, and Node itself would fail such a frame with FRAME_SIZE_ERROR; checking
 * it from the frame header means we never buffer more than one legal frame.
 */
export const MAX_IN_FRAME = NODE_DEFAULTS.maxFrameSize ?? 16384;
/** Largest header block (HEADERS + CONTINUATIONs), compressed or decoded, that we hold. */
export const MAX_HEADER_BLOCK = 256 * 1024;

/** A client byte stream we will not forward; the connection is destroyed with it. */
export class H2RewriteError extends Error {
  constructor(message: string) {
    super(`HTTP/2 client stream rejected: ${message}`);
    this.name = 'H2RewriteError';
  }
}

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

/**
 * Strips padding and priority fields from a HEADERS payload: only the block fragment
 * remains. Padding longer than what is left is a PROTOCOL_ERROR (RFC 7540 §6.2).
 */
function headerFragment(flags: number, payload: Buffer): Buffer {
  let start = 0;
  let padLength = 0;
  if (flags & FLAG_PADDED) {
    if (payload.length < 1) throw new H2RewriteError('PROTOCOL_ERROR: PADDED HEADERS frame without pad length');
    padLength = payload.readUInt8(0);
    start = 1;
  }
  if (flags & FLAG_PRIORITY) start += 5;
  if (start + padLength > payload.length) {
    throw new H2RewriteError(
      `PROTOCOL_ERROR: HEADERS padding (${padLength}) and fields exceed the ${payload.length}-byte payload`,
    );
  }
  return payload.subarray(start, payload.length - padLength);
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
 * Throws H2RewriteError (or an HPACK decoding error) for a stream the connection must
 * not survive; after that every push() throws.
 */
export class ClientFrameRewriter {
  private buffered: Buffer = Buffer.alloc(0);
  private prefaceSeen = false;
  private failed: Error | null = null;
  // hpack.js reads `table.maxSize`; without it the table never evicts and every size
  // update fails "Table size bigger than maximum".
  private readonly decoder = hpack.decompressor.create({ table: { maxSize: HEADER_TABLE_SIZE } });
  private pending: { streamId: number; endStream: number; fragments: Buffer[]; size: number } | null = null;

  push(data: Buffer): Buffer {
    if (this.failed) throw this.failed;
    try {
      return this.process(data);
    } catch (err) {
      this.failed = err as Error;
      this.buffered = Buffer.alloc(0);
      this.pending = null;
      throw err;
    }
  }

  private process(data: Buffer): Buffer {
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
      if (length > MAX_IN_FRAME) {
        throw new H2RewriteError(`FRAME_SIZE_ERROR: ${length}-byte frame exceeds SETTINGS_MAX_FRAME_SIZE ${MAX_IN_FRAME}`);
      }
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
    if (this.pending) {
      // A header block is one contiguous run of frames (RFC 7540 §6.2, §6.10).
      if (type !== TYPE_CONTINUATION || streamId !== this.pending.streamId) {
        throw new H2RewriteError(
          `PROTOCOL_ERROR: frame type ${type} on stream ${streamId} inside the header block of stream ${this.pending.streamId}`,
        );
      }
      this.pending.fragments.push(payload);
      this.pending.size += payload.length;
    } else if (type === TYPE_HEADERS) {
      const fragment = headerFragment(flags, payload);
      this.pending = { streamId, endStream: flags & FLAG_END_STREAM, fragments: [fragment], size: fragment.length };
    } else {
      // Includes a stray CONTINUATION: Node answers it with PROTOCOL_ERROR itself.
      return [frame];
    }
    if (this.pending.size > MAX_HEADER_BLOCK) {
      throw new H2RewriteError(`header block on stream ${streamId} exceeds ${MAX_HEADER_BLOCK} bytes`);
    }
    if (!(flags & FLAG_END_HEADERS)) return [];
    const { streamId: id, endStream, fragments } = this.pending;
    this.pending = null;
    return headerFrames(id, endStream, this.rewriteBlock(Buffer.concat(fragments)));
  }

  private rewriteBlock(block: Buffer): Buffer {
    // execute() without a callback emits 'error', which throws with no listener.
    this.decoder.write(block);
    this.decoder.execute();
    const headers: Array<{ name: string; value: string }> = [];
    // Indexed fields make a small block decode to a large list: bound the list as well
    // (RFC 7540 §6.5.2 size: octets of name and value plus 32 per field).
    let listSize = 0;
    for (let h = this.decoder.read(); h !== null; h = this.decoder.read()) {
      listSize += h.name.length + h.value.length + 32;
      if (listSize > MAX_HEADER_BLOCK) {
        throw new H2RewriteError(`decoded header list exceeds ${MAX_HEADER_BLOCK} bytes`);
      }
      const value = h.name === ':authority' && !isValidAuthority(h.value) ? 'localhost' : h.value;
      headers.push({ name: h.name, value });
    }
    return encodeNeverIndexed(headers);
  }
}

/**
 * Wraps an accepted socket in a Duplex for grpc-js: reads pass through the rewriter,
 * writes go straight to the socket. Node's HTTP/2 session hands its output (a reply's
 * HEADERS, DATA and trailers) as one corked batch: `writev` passes the batch to the
 * socket corked too, so it leaves in one writev(2) instead of a syscall per frame (the
 * per-frame writes were ~15 % of the shim's CPU per relist in a profile at 30 pods).
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
    writev(chunks: Array<{ chunk: Buffer }>, cb) {
      socket.cork();
      for (let i = 0; i < chunks.length - 1; i++) socket.write(chunks[i]!.chunk);
      socket.write(chunks[chunks.length - 1]!.chunk, cb);
      socket.uncork();
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
