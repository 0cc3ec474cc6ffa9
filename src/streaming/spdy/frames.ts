/**
 * SPDY/3 framing (draft-mbelshe-httpbis-spdy-00 §2.2): an incremental reader that cuts
 * a byte stream into frames, a decoder for control frame payloads, and encoders.
 * Header blocks stay compressed here: their zlib context spans the whole connection,
 * so only the connection may decode them, in wire order (see header-block.ts).
 */

export const SPDY_VERSION = 3;

export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;

/** RST_STREAM status codes (§2.4.2). */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  FRAME_TOO_LARGE: 11,
} as const;

/** The 24-bit length field's limit. */
export const MAX_FRAME_PAYLOAD = 0xffffff;
const HEADER_LENGTH = 8;

/** One frame as it came off the wire; control payloads not yet decoded. */
export type RawFrame =
  | { control: false; streamId: number; flags: number; data: Buffer }
  | { control: true; version: number; type: number; flags: number; payload: Buffer };

export type ControlFrame =
  | { type: 'SYN_STREAM'; flags: number; streamId: number; associatedId: number; priority: number; headerBlock: Buffer }
  | { type: 'SYN_REPLY'; flags: number; streamId: number; headerBlock: Buffer }
  | { type: 'HEADERS'; flags: number; streamId: number; headerBlock: Buffer }
  | { type: 'RST_STREAM'; streamId: number; status: number }
  | { type: 'SETTINGS'; flags: number; entries: Array<{ flags: number; id: number; value: number }> }
  | { type: 'PING'; id: number }
  | { type: 'GOAWAY'; lastGoodStreamId: number; status: number }
  | { type: 'WINDOW_UPDATE'; streamId: number; delta: number }
  | { type: 'UNKNOWN'; code: number };

export class SpdyProtocolError extends Error {}

/**
 * Cuts a byte stream into frames. Feed it chunks as they arrive; it keeps a partial
 * frame until the rest comes, so any split of the stream yields the same frames.
 * The pieces of a partial frame are only listed, and joined once it is complete: a
 * frame may be 16 MiB, and joining on every chunk would copy it over and over.
 */
export class FrameReader {
  private pieces: Buffer[] = [];
  private buffered = 0;
  /** Bytes needed before anything can be cut: a frame header, or the whole frame it announces. */
  private needed = HEADER_LENGTH;

  /** Bytes held back as the start of a frame not yet complete. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): RawFrame[] {
    if (chunk.length === 0) return [];
    this.pieces.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.needed) return [];
    let buf = this.pieces.length === 1 ? chunk : Buffer.concat(this.pieces, this.buffered);
    const frames: RawFrame[] = [];
    this.needed = HEADER_LENGTH;
    while (buf.length >= HEADER_LENGTH) {
      const length = buf.readUIntBE(5, 3);
      if (buf.length < HEADER_LENGTH + length) {
        this.needed = HEADER_LENGTH + length;
        break;
      }
      const first = buf.readUInt32BE(0);
      const flags = buf[4]!;
      const body = buf.subarray(HEADER_LENGTH, HEADER_LENGTH + length);
      if (first & 0x80000000) {
        frames.push({ control: true, version: (first >>> 16) & 0x7fff, type: first & 0xffff, flags, payload: body });
      } else {
        frames.push({ control: false, streamId: first & 0x7fffffff, flags, data: body });
      }
      buf = buf.subarray(HEADER_LENGTH + length);
    }
    // Copy the remainder so a large chunk is not kept alive by a few bytes of it. It
    // lies within the last chunk (plus at most a header's worth before it), so each
    // byte is copied here at most once.
    this.pieces = buf.length ? [Buffer.from(buf)] : [];
    this.buffered = buf.length;
    return frames;
  }
}

function need(payload: Buffer, bytes: number, what: string): void {
  if (payload.length < bytes) throw new SpdyProtocolError(`${what} frame too short: ${payload.length} bytes`);
}

/** Decodes a control frame's payload (header blocks stay compressed). */
export function parseControl(frame: Extract<RawFrame, { control: true }>): ControlFrame {
  if (frame.version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${frame.version}`);
  const p = frame.payload;
  const id = (offset: number) => p.readUInt32BE(offset) & 0x7fffffff;
  switch (frame.type) {
    case FrameType.SYN_STREAM:
      need(p, 10, 'SYN_STREAM');
      return { type: 'SYN_STREAM', flags: frame.flags, streamId: id(0), associatedId: id(4), priority: p[8]! >> 5, headerBlock: p.subarray(10) };
    case FrameType.SYN_REPLY:
      need(p, 4, 'SYN_REPLY');
      return { type: 'SYN_REPLY', flags: frame.flags, streamId: id(0), headerBlock: p.subarray(4) };
    case FrameType.HEADERS:
      need(p, 4, 'HEADERS');
      return { type: 'HEADERS', flags: frame.flags, streamId: id(0), headerBlock: p.subarray(4) };
    case FrameType.RST_STREAM:
      need(p, 8, 'RST_STREAM');
      return { type: 'RST_STREAM', streamId: id(0), status: p.readUInt32BE(4) };
    case FrameType.SETTINGS: {
      need(p, 4, 'SETTINGS');
      const count = p.readUInt32BE(0);
      need(p, 4 + count * 8, 'SETTINGS');
      const entries = [];
      for (let i = 0; i < count; i++) {
        const at = 4 + i * 8;
        entries.push({ flags: p[at]!, id: p.readUIntBE(at + 1, 3), value: p.readUInt32BE(at + 4) });
      }
      return { type: 'SETTINGS', flags: frame.flags, entries };
    }
    case FrameType.PING:
      need(p, 4, 'PING');
      return { type: 'PING', id: p.readUInt32BE(0) };
    case FrameType.GOAWAY:
      need(p, 8, 'GOAWAY');
      return { type: 'GOAWAY', lastGoodStreamId: id(0), status: p.readUInt32BE(4) };
    case FrameType.WINDOW_UPDATE:
      need(p, 8, 'WINDOW_UPDATE');
      return { type: 'WINDOW_UPDATE', streamId: id(0), delta: p.readUInt32BE(4) & 0x7fffffff };
    default:
      // §2.2.1: unknown control frame types must be ignored.
      return { type: 'UNKNOWN', code: frame.type };
  }
}

function controlHeader(type: number, flags: number, length: number): Buffer {
  if (length > MAX_FRAME_PAYLOAD) throw new SpdyProtocolError(`control frame of ${length} bytes`);
  const h = Buffer.alloc(HEADER_LENGTH);
  h.writeUInt32BE((0x80000000 | (SPDY_VERSION << 16) | type) >>> 0, 0);
  h[4] = flags;
  h.writeUIntBE(length, 5, 3);
  return h;
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

/** The 8-byte header of a data frame; the payload is written after it unchanged. */
export function dataFrameHeader(streamId: number, length: number, fin: boolean): Buffer {
  if (length > MAX_FRAME_PAYLOAD) throw new SpdyProtocolError(`data frame of ${length} bytes`);
  const h = Buffer.alloc(HEADER_LENGTH);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h[4] = fin ? FLAG_FIN : 0;
  h.writeUIntBE(length, 5, 3);
  return h;
}

export function synStreamFrame(streamId: number, compressedHeaders: Buffer, flags = 0): Buffer {
  // Associated stream 0, priority 0, slot 0.
  const body = Buffer.concat([u32(streamId, 0), Buffer.from([0, 0]), compressedHeaders]);
  return Buffer.concat([controlHeader(FrameType.SYN_STREAM, flags, body.length), body]);
}

export function synReplyFrame(streamId: number, compressedHeaders: Buffer, flags = 0): Buffer {
  const body = Buffer.concat([u32(streamId), compressedHeaders]);
  return Buffer.concat([controlHeader(FrameType.SYN_REPLY, flags, body.length), body]);
}

export function rstStreamFrame(streamId: number, status: number): Buffer {
  return Buffer.concat([controlHeader(FrameType.RST_STREAM, 0, 8), u32(streamId, status)]);
}

export function pingFrame(id: number): Buffer {
  return Buffer.concat([controlHeader(FrameType.PING, 0, 4), u32(id)]);
}

export function goAwayFrame(lastGoodStreamId: number, status = 0): Buffer {
  return Buffer.concat([controlHeader(FrameType.GOAWAY, 0, 8), u32(lastGoodStreamId, status)]);
}
