/**
 * SPDY/3 header blocks (§2.6.10): a count, then length-prefixed names and values,
 * compressed with zlib primed with the SPDY dictionary. Each direction of a connection
 * is ONE zlib stream: a block can only be inflated after every earlier block of its
 * direction, which is why the decompressor is stateful and the connection feeds it
 * strictly in wire order.
 */
import { constants, createInflate, type Inflate } from 'node:zlib';
import { SPDY3_DICTIONARY, SPDY3_DICTIONARY_ID } from './dictionary.js';
import { SpdyProtocolError } from './frames.js';

/** Lower-case names; several values of one name are joined with NUL, as on the wire. */
export type SpdyHeaders = Record<string, string>;

export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [];
  const count = Buffer.alloc(4);
  count.writeUInt32BE(entries.length);
  parts.push(count);
  for (const [name, value] of entries) {
    for (const text of [name.toLowerCase(), value]) {
      const bytes = Buffer.from(text, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32BE(bytes.length);
      parts.push(len, bytes);
    }
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  let at = 0;
  const take = (): string => {
    if (at + 4 > block.length) throw new SpdyProtocolError('truncated header block');
    const len = block.readUInt32BE(at);
    at += 4;
    if (at + len > block.length) throw new SpdyProtocolError('truncated header block');
    const text = block.toString('utf8', at, at + len);
    at += len;
    return text;
  };
  if (block.length < 4) throw new SpdyProtocolError('truncated header block');
  const count = block.readUInt32BE(0);
  at = 4;
  const headers: SpdyHeaders = {};
  for (let i = 0; i < count; i++) {
    const name = take().toLowerCase();
    const value = take();
    headers[name] = name in headers ? `${headers[name]}\0${value}` : value;
  }
  return headers;
}

/**
 * Compresses our direction by not compressing: each block goes out as a stored deflate
 * block followed by an empty one (what a zlib Z_SYNC_FLUSH emits). Any inflater reads
 * that, it needs no state on our side, and it is synchronous, so a SYN_REPLY can be
 * written at once, in order with the data frames that follow it. The empty block
 * matters: Go's flate reader hands out a stored block's bytes only when it reaches
 * the next block header, and spdystream reads each header block on its own.
 */
export class HeaderCompressor {
  private started = false;

  compress(block: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.started) {
      // CMF 0x78 (deflate, 32 KiB window), FLG 0x20 (FDICT; 0x7820 % 31 == 0), dictionary id.
      const head = Buffer.alloc(6);
      head[0] = 0x78;
      head[1] = 0x20;
      head.writeUInt32BE(SPDY3_DICTIONARY_ID, 2);
      parts.push(head);
      this.started = true;
    }
    for (let at = 0; at < block.length; at += 0xffff) {
      const slice = block.subarray(at, at + 0xffff);
      parts.push(storedBlockHeader(slice.length), slice);
    }
    parts.push(storedBlockHeader(0));
    return Buffer.concat(parts);
  }
}

function storedBlockHeader(length: number): Buffer {
  // BFINAL=0, BTYPE=00, padded to the byte; LEN and NLEN little-endian.
  const h = Buffer.alloc(5);
  h[0] = 0;
  h.writeUInt16LE(length, 1);
  h.writeUInt16LE(~length & 0xffff, 3);
  return h;
}

/**
 * Most a header block may inflate to. Ours carry a few short headers; without a cap a
 * few KiB of zlib (the frame may hold 16 MiB) would inflate to gigabytes.
 */
export const MAX_HEADER_BLOCK = 256 * 1024;

/** Inflates the peer's header blocks, one shared zlib stream per connection. */
export class HeaderDecompressor {
  private readonly inflate: Inflate = createInflate({ dictionary: SPDY3_DICTIONARY });
  private chunks: Buffer[] = [];
  private inflated = 0;
  private failure: Error | null = null;
  private pending: ((err: Error | null) => void) | null = null;
  /** Calls run one after another, in call order: the blocks share one zlib stream. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly maxBlock = MAX_HEADER_BLOCK) {
    this.inflate.on('data', (chunk: Buffer) => {
      if (this.failure) return;
      this.inflated += chunk.length;
      if (this.inflated > this.maxBlock) {
        // The zlib stream cannot be resumed past a block we refuse: fail for good, and
        // stop inflating the rest of it.
        this.fail(new SpdyProtocolError(`header block inflates to more than ${this.maxBlock} bytes`));
        this.inflate.close();
        return;
      }
      this.chunks.push(chunk);
    });
    this.inflate.on('error', (err: Error) => this.fail(new SpdyProtocolError(`header block: ${err.message}`)));
  }

  /** Inflates the next block of the stream; blocks must be given in wire order. */
  decompress(block: Buffer): Promise<Buffer> {
    const run = this.tail.then(() => this.inflateOne(block));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.chunks = [];
    this.pending?.(err);
  }

  private inflateOne(block: Buffer): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const settle = (err: Error | null) => {
        this.pending = null;
        if (err) return reject(err);
        const out = Buffer.concat(this.chunks);
        this.chunks = [];
        this.inflated = 0;
        resolve(out);
      };
      this.pending = settle;
      this.inflate.write(block);
      // As ws does for permessage-deflate: the flush callback runs after the output
      // of everything written so far has been emitted as 'data'.
      this.inflate.flush(constants.Z_SYNC_FLUSH, () => {
        if (this.pending === settle) settle(this.failure);
      });
    });
  }

  close(): void {
    this.inflate.close();
  }
}
