/**
 * What a CRI log file already holds at its end: its last entries, read backwards, for
 * the ResumeWindow. A line cut short by a crash (no "\n") is cut off the file, so the
 * resumed writer rewrites it whole after the last complete entry.
 *
 * How far back: every entry a resume would replay must be read, i.e. all of those with
 * a timestamp >= the resume's `since`, which is newest - WINDOW or, when a stream ends
 * with an unfinished line (P pieces and no F yet), that line's time. Reading stops at an
 * ORDINARY line (an F that closes no P series) older than that, less some slack: Docker
 * logged it at its time, and what it logged before carries an earlier time, give or take
 * the disorder between the two streams. A P piece, or the F that closes a series, proves
 * nothing: they all carry the time of the series' first piece, however late they came.
 *
 * A stream's unfinished line is known from its last entry; a stream not seen by then is
 * looked for further back (cheaply: the stream name only), and when its last entry is a
 * P piece, the file is read again down to that piece's time.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { parseEntry, type LogStream } from './cri-format.js';
import { WINDOW_NS, type WindowEntry } from './resume-window.js';

/** How far behind the resume's `since` we keep reading for stragglers of the other stream. */
const SLACK_NS = 10n * WINDOW_NS;
const CHUNK = 64 * 1024;
/** Once only a stream's name is looked for: bigger reads. */
const LOOK_CHUNK = 1024 * 1024;
const ALL_STREAMS: readonly LogStream[] = ['stdout', 'stderr'];

export interface FileTail {
  /** The entries read, in file order. */
  entries: WindowEntry[];
  /** Bytes of an incomplete last line that were cut off. */
  truncated: number;
  /** The entries are the whole file. */
  fromStart: boolean;
  /**
   * Every entry a resume needs was read: all before them are older (or there are none).
   * False when `maxBytes` ended the reading first, and the count of an unfinished line
   * whose start was not reached would be short.
   */
  complete: boolean;
}

export interface FileTailOptions {
  /** Read back at least to entries older than this (the `since` a checkpoint needs). */
  since?: bigint;
  /** The streams the container has: a TTY has only stdout. Default both. */
  streams?: readonly LogStream[];
  /** Read at most this many bytes from the end. */
  maxBytes?: number;
}

/** A missing file is an empty tail. */
export async function readFileTail(path: string, opts: FileTailOptions = {}): Promise<FileTail> {
  let fh;
  try {
    fh = await open(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], truncated: 0, fromStart: true, complete: true };
    throw err;
  }
  try {
    const size = (await fh.stat()).size;
    let since = opts.since;
    // Each round finds one more stream's unfinished line, or is the last.
    for (let round = 0; ; round++) {
      const res = await scan(fh, size, { ...opts, since }, round >= (opts.streams ?? ALL_STREAMS).length);
      if ('again' in res) {
        since = res.again;
        continue;
      }
      if (res.truncated) await fh.truncate(size - res.truncated);
      return res;
    }
  } finally {
    await fh.close();
  }
}

interface StreamScan {
  seen: boolean;
  /** Time of a later F of this stream older than the limit, not yet known to be ordinary. */
  pending?: bigint;
}

/** One backward read; `again` asks for another down to an older time (unless `last`). */
async function scan(fh: FileHandle, size: number, opts: FileTailOptions, last: boolean): Promise<FileTail | { again: bigint }> {
  const maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
  const streams = new Map<LogStream, StreamScan>((opts.streams ?? ALL_STREAMS).map((s) => [s, { seen: false }]));
  let unseen = streams.size;
  const reversed: WindowEntry[] = [];
  let newest = -1n;
  /** The oldest time a resume needs besides newest - WINDOW: the caller's, and open series'. */
  let floor = opts.since;
  const limit = (): bigint => {
    const w = newest - WINDOW_NS;
    return (floor !== undefined && floor < w ? floor : w) - SLACK_NS;
  };
  let settled = false;
  let pos = size;
  /** Bytes after `pos` not yet looked at: the end of a line that starts before `pos`. */
  let carry = Buffer.alloc(0);
  let truncated = -1;
  while (pos > 0 && size - pos < maxBytes) {
    const len = Math.min(settled ? LOOK_CHUNK : CHUNK, pos);
    pos -= len;
    const chunk = Buffer.alloc(len);
    await fh.read(chunk, 0, len, pos);
    let buf = carry.length ? Buffer.concat([chunk, carry]) : chunk;
    if (truncated < 0) {
      const nl = buf.lastIndexOf(0x0a);
      if (nl < 0) {
        carry = buf;
        continue;
      }
      truncated = buf.length - nl - 1;
      buf = buf.subarray(0, nl + 1);
    }
    // buf ends with "\n"; its first line is whole only at the start of the file.
    const from = pos > 0 ? buf.indexOf(0x0a) + 1 : 0;
    carry = buf.subarray(0, from);
    let region = buf.subarray(from);
    if (!settled) {
      const lines = splitLines(region);
      for (let i = lines.length - 1; i >= 0 && !settled; i--) {
        const line = lines[i]!;
        const entry = parseEntry(line);
        if (!entry) continue;
        reversed.push({ ts: entry.ts, stream: entry.stream, tag: entry.tag });
        if (entry.ts > newest) newest = entry.ts;
        const st = streams.get(entry.stream);
        if (!st) continue;
        if (!st.seen) {
          st.seen = true;
          unseen--;
          if (entry.tag === 'P' && (floor === undefined || entry.ts < floor)) floor = entry.ts;
        }
        if (st.pending !== undefined) {
          // A P before it: that F closed a series. An F: it was an ordinary line.
          if (entry.tag === 'F' && st.pending < limit()) settled = true;
          st.pending = undefined;
        }
        if (entry.tag === 'F' && entry.ts < limit()) st.pending = entry.ts;
        if (settled) region = region.subarray(0, line.byteOffset - region.byteOffset);
      }
      if (!settled) continue;
    }
    // Everything needed is read; only the last entry of a stream not seen yet matters.
    for (const [name, st] of streams) {
      if (st.seen) continue;
      const line = lastLineOf(region, name);
      const entry = line && parseEntry(line);
      if (!entry) continue;
      st.seen = true;
      unseen--;
      // Its line is unfinished: read again, down to the line's start. (Only a clock
      // stepped back can make the next round settle above it again.)
      if (entry.tag === 'P' && !last) return { again: floor !== undefined && floor < entry.ts ? floor : entry.ts };
    }
    if (unseen === 0) break;
  }
  const fromStart = pos === 0 && !settled;
  // No newline anywhere: the whole file is one unfinished line.
  if (truncated < 0) truncated = pos === 0 ? size : 0;
  return { entries: reversed.reverse(), truncated, fromStart, complete: settled || fromStart };
}

/** The last line of `stream` in `buf` (whole lines), found by the stream's name alone. */
function lastLineOf(buf: Buffer, stream: LogStream): Buffer | undefined {
  const needle = Buffer.from(` ${stream} `, 'latin1');
  for (let at = buf.lastIndexOf(needle); at >= 0; at = at > 0 ? buf.lastIndexOf(needle, at - 1) : -1) {
    const start = at > 0 ? buf.lastIndexOf(0x0a, at - 1) + 1 : 0;
    // The stream's field only when it follows the line's first word (its time).
    if (buf.indexOf(0x20, start) !== at) continue;
    const end = buf.indexOf(0x0a, at);
    return buf.subarray(start, end < 0 ? buf.length : end);
  }
  return undefined;
}

/** The lines of `buf` (which ends with "\n"), without their newlines. */
function splitLines(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
    out.push(buf.subarray(start, nl));
    start = nl + 1;
  }
  return out;
}
