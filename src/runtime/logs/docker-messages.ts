/**
 * Docker's log endpoint (`GET /containers/{id}/logs?timestamps=1`) → LogMessages.
 *
 * Docker's json-file driver stores one message per line the container wrote; a line
 * longer than 16 KiB is stored as 16 KiB partial messages (no trailing "\n", all with
 * the timestamp of the first) and a final one that ends with "\n"; bytes left
 * unterminated when the stream closes become a last, shorter message without "\n".
 * The endpoint sends each message as `<RFC3339NanoFixed> <bytes>`: one multiplexed frame
 * per message without a TTY, and the bare bytes one after another with a TTY.
 */
import { DemuxError, demuxFrames } from '../docker-demux.js';
import { MAX_ENTRY_BYTES, parseTimestamp, type LogMessage, type LogStream } from './cri-format.js';

/** `2024-05-01T10:00:00.123456789Z` and a space: Docker's fixed-width prefix. */
const PREFIX_BYTES = 31;

function splitPrefix(payload: Buffer): { ts: bigint; rest: Buffer } {
  const space = payload.indexOf(0x20);
  const ts = space > 0 ? parseTimestamp(payload.subarray(0, space).toString('latin1')) : undefined;
  if (ts === undefined) throw new DemuxError(`log message without a timestamp: ${payload.subarray(0, 40).toString('latin1')}`);
  return { ts, rest: payload.subarray(space + 1) };
}

/**
 * A message without "\n" is a piece of a longer line when it fills Docker's 16 KiB
 * buffer; a shorter one can only be the stream's unterminated tail, which ends its
 * line as far as anyone will ever know (containerd tags that tail `F` too).
 */
export function messageOf(stream: LogStream, payload: Buffer): LogMessage {
  const { ts, rest } = splitPrefix(payload);
  if (rest.length && rest[rest.length - 1] === 0x0a) {
    // "\r\n" ends a line too (a TTY's output): containerd's bufio.ReadLine drops both.
    const end = rest.length >= 2 && rest[rest.length - 2] === 0x0d ? -2 : -1;
    return { ts, stream, content: rest.subarray(0, end), full: true };
  }
  return { ts, stream, content: rest, full: rest.length < MAX_ENTRY_BYTES };
}

/** Messages of a multiplexed (non-TTY) log stream, batched per chunk read. */
export async function* multiplexedMessages(source: AsyncIterable<Buffer | string>): AsyncGenerator<LogMessage[]> {
  for await (const frames of demuxFrames(source)) {
    const batch: LogMessage[] = [];
    for (const f of frames) {
      if (f.stream === 'stdin') continue;
      batch.push(messageOf(f.stream, f.payload));
    }
    if (batch.length) yield batch;
  }
}

function looksLikePrefix(buf: Buffer, at: number): boolean {
  if (buf.length < at + PREFIX_BYTES) return false;
  return buf[at + PREFIX_BYTES - 1] === 0x20 && parseTimestamp(buf.subarray(at, at + PREFIX_BYTES - 1).toString('latin1')) !== undefined;
}

/**
 * Messages of a TTY container's log stream (all stdout), where nothing frames them:
 * each starts with a timestamp and runs to its "\n" — or, for a partial one, exactly
 * 16 KiB on, where the next timestamp starts.
 */
export async function* rawMessages(source: AsyncIterable<Buffer | string>): AsyncGenerator<LogMessage[]> {
  let buf: Buffer = Buffer.alloc(0);
  const take = (final: boolean): LogMessage[] => {
    const out: LogMessage[] = [];
    let off = 0;
    while (buf.length - off >= PREFIX_BYTES) {
      const start = off + PREFIX_BYTES;
      const nl = buf.indexOf(0x0a, start);
      if (nl >= 0 && nl - start <= MAX_ENTRY_BYTES) {
        out.push(messageOf('stdout', buf.subarray(off, nl + 1)));
        off = nl + 1;
      } else if (buf.length - start >= MAX_ENTRY_BYTES && (looksLikePrefix(buf, start + MAX_ENTRY_BYTES) || nl >= 0)) {
        out.push(messageOf('stdout', buf.subarray(off, start + MAX_ENTRY_BYTES)));
        off = start + MAX_ENTRY_BYTES;
      } else if (final) {
        out.push(messageOf('stdout', buf.subarray(off)));
        off = buf.length;
      } else {
        break;
      }
    }
    buf = buf.subarray(off);
    return out;
  };
  for await (const raw of source) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    const out = take(false);
    if (out.length) yield out;
  }
  const out = take(true);
  if (buf.length) throw new DemuxError(`log stream ended inside a timestamp (${buf.length} bytes)`);
  if (out.length) yield out;
}
