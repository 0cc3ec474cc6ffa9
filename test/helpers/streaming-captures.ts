/**
 * The crictl ↔ reference-server captures in test/fixtures/cri-wire/streaming/, decoded with
 * our own codec: every frame of one direction, header blocks inflated in wire order.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FrameReader, parseControl, type ControlFrame } from '../../src/streaming/spdy/frames.js';
import { decodeHeaderBlock, HeaderDecompressor, type SpdyHeaders } from '../../src/streaming/spdy/header-block.js';

export const CAPTURES = join(import.meta.dirname, '..', 'fixtures', 'cri-wire', 'streaming');

export type DecodedFrame =
  | { kind: 'data'; streamId: number; fin: boolean; data: Buffer }
  | (ControlFrame & { kind: 'control'; headers?: SpdyHeaders });

export interface DecodedCapture {
  /** The HTTP/1.1 head (request or 101 response), CRLFs included. */
  head: string;
  frames: DecodedFrame[];
  /** Bytes after the last complete frame (a capture may end mid-frame). */
  trailing: number;
}

export function captureDirs(): string[] {
  return readdirSync(CAPTURES, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

export function readCapture(dir: string, file: 'client.bin' | 'server.bin'): Buffer {
  return readFileSync(join(CAPTURES, dir, file));
}

export function splitHead(bytes: Buffer): { head: string; rest: Buffer } {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) throw new Error('no HTTP head');
  return { head: bytes.subarray(0, end + 4).toString('latin1'), rest: bytes.subarray(end + 4) };
}

/** Decodes one direction of a SPDY connection incrementally, header blocks in wire order. */
export class FrameDecoder {
  private readonly reader = new FrameReader();
  private readonly inflater = new HeaderDecompressor();
  readonly frames: DecodedFrame[] = [];

  get trailing(): number {
    return this.reader.bufferedBytes;
  }

  async push(chunk: Buffer): Promise<DecodedFrame[]> {
    const out: DecodedFrame[] = [];
    for (const raw of this.reader.push(chunk)) {
      if (!raw.control) {
        out.push({ kind: 'data', streamId: raw.streamId, fin: (raw.flags & 1) === 1, data: Buffer.from(raw.data) });
        continue;
      }
      const c = parseControl(raw);
      const decoded: DecodedFrame = { ...c, kind: 'control' };
      if ('headerBlock' in c) decoded.headers = decodeHeaderBlock(await this.inflater.decompress(c.headerBlock));
      out.push(decoded);
    }
    this.frames.push(...out);
    return out;
  }

  close(): void {
    this.inflater.close();
  }
}

/** Decodes SPDY bytes (without the HTTP head), in chunks of `chunkSize` to exercise partial frames. */
export async function decodeFrames(bytes: Buffer, chunkSize = bytes.length || 1): Promise<{ frames: DecodedFrame[]; trailing: number }> {
  const decoder = new FrameDecoder();
  try {
    for (let at = 0; at < bytes.length; at += chunkSize) await decoder.push(bytes.subarray(at, at + chunkSize));
  } finally {
    decoder.close();
  }
  return { frames: decoder.frames, trailing: decoder.trailing };
}

/** What a session did, stream by stream, independent of how bytes were cut into frames. */
export interface SessionSummary {
  replied: number[];
  data: Record<number, string>;
  fin: number[];
  reset: number[];
  goAway: number | null;
}

export function summarize(frames: DecodedFrame[], normalize: (data: string) => string = (d) => d): SessionSummary {
  const data: Record<number, string> = {};
  const sets = { replied: new Set<number>(), fin: new Set<number>(), reset: new Set<number>() };
  let goAway: number | null = null;
  for (const f of frames) {
    if (f.kind === 'data') {
      if (f.data.length) data[f.streamId] = (data[f.streamId] ?? '') + f.data.toString('latin1');
      if (f.fin) sets.fin.add(f.streamId);
    } else if (f.type === 'SYN_REPLY') sets.replied.add(f.streamId);
    else if (f.type === 'RST_STREAM') sets.reset.add(f.streamId);
    else if (f.type === 'GOAWAY') goAway = f.lastGoodStreamId;
  }
  const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);
  for (const id of Object.keys(data)) data[Number(id)] = normalize(data[Number(id)]!);
  return { replied: sorted(sets.replied), data, fin: sorted(sets.fin), reset: sorted(sets.reset), goAway };
}

/** Raw frames of one direction as byte slices (to replay them), with what a replayer needs to know. */
export function splitRawFrames(bytes: Buffer): Array<{ bytes: Buffer; type: 'data' | 'rst' | 'goaway' | 'control'; streamId: number }> {
  const out: Array<{ bytes: Buffer; type: 'data' | 'rst' | 'goaway' | 'control'; streamId: number }> = [];
  let at = 0;
  while (at + 8 <= bytes.length) {
    const len = bytes.readUIntBE(at + 5, 3);
    const end = Math.min(at + 8 + len, bytes.length);
    const slice = bytes.subarray(at, end);
    const control = (bytes[at]! & 0x80) !== 0;
    const type = control ? bytes.readUInt16BE(at + 2) : 0;
    const complete = end === at + 8 + len;
    const streamId = !control ? bytes.readUInt32BE(at) & 0x7fffffff : complete && len >= 4 ? bytes.readUInt32BE(at + 8) & 0x7fffffff : 0;
    out.push({ bytes: slice, type: !control ? 'data' : type === 3 ? 'rst' : type === 7 ? 'goaway' : 'control', streamId });
    at = end;
  }
  if (at < bytes.length) out.push({ bytes: bytes.subarray(at), type: 'control', streamId: 0 });
  return out;
}

export async function decodeCapture(dir: string, file: 'client.bin' | 'server.bin', chunkSize?: number): Promise<DecodedCapture> {
  const { head, rest } = splitHead(readCapture(dir, file));
  return { head, ...(await decodeFrames(rest, chunkSize)) };
}
