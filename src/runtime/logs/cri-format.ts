/**
 * The CRI container log format (k8s.io/cri-api "CRI logging"): one entry per line,
 * `<RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>\n`. A line longer than
 * MAX_ENTRY_BYTES is cut into `P` (partial) entries, the last piece tagged `F` (full),
 * as containerd does with its default max_container_log_line_size; the kubelet joins
 * the pieces again when it reads the file.
 */

export type LogStream = 'stdout' | 'stderr';
export type LogTag = 'F' | 'P';

/** 16 KiB: containerd's default line limit, and also the buffer Docker cuts long lines at. */
export const MAX_ENTRY_BYTES = 16 * 1024;

/** One message from the container as Docker's json-file driver recorded it. */
export interface LogMessage {
  /** Unix nanoseconds of Docker's timestamp. */
  ts: bigint;
  stream: LogStream;
  /** The bytes without the line's trailing newline. */
  content: Buffer;
  /** True when the message ends a line (it ended with "\n", or was the last bytes of the stream). */
  full: boolean;
}

export interface LogEntry {
  ts: bigint;
  stream: LogStream;
  tag: LogTag;
  content: Buffer;
}

const NS_PER_S = 1_000_000_000n;
const TIMESTAMP_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** RFC 3339 with up to nanosecond digits, any offset → Unix ns; undefined if malformed. */
export function parseTimestamp(text: string): bigint | undefined {
  const m = TIMESTAMP_RE.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms / 1000) * NS_PER_S + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/**
 * Unix ns → `2024-05-01T10:00:00.123456789Z`. Always nine digits and UTC: the kubelet
 * parses with Go's time.RFC3339Nano, which accepts any number of digits, and fixed
 * width keeps entries sortable as text (Docker's RFC3339NanoFixed does the same).
 */
export function formatTimestamp(ns: bigint): string {
  const seconds = ns / NS_PER_S;
  const fraction = ns % NS_PER_S;
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return `${base}.${fraction.toString().padStart(9, '0')}Z`;
}

/** Docker's `since` query parameter: `<seconds>.<nanoseconds>`, inclusive. */
export function dockerSince(ns: bigint): string {
  if (ns <= 0n) return '0';
  return `${ns / NS_PER_S}.${(ns % NS_PER_S).toString().padStart(9, '0')}`;
}

/**
 * The entries one message becomes: pieces of at most MAX_ENTRY_BYTES, all `P` but the
 * last, which is `F` when the message ends a line. An empty full message is an empty
 * `F` entry (an empty line); an empty partial one is nothing.
 */
export function messageEntries(msg: LogMessage): LogEntry[] {
  const { ts, stream, content, full } = msg;
  if (content.length === 0) return full ? [{ ts, stream, tag: 'F', content }] : [];
  const out: LogEntry[] = [];
  for (let off = 0; off < content.length; off += MAX_ENTRY_BYTES) {
    const end = Math.min(off + MAX_ENTRY_BYTES, content.length);
    const last = end === content.length;
    out.push({ ts, stream, tag: last && full ? 'F' : 'P', content: content.subarray(off, end) });
  }
  return out;
}

/** The bytes of one entry, newline included. */
export function encodeEntry(e: LogEntry): Buffer {
  const head = Buffer.from(`${formatTimestamp(e.ts)} ${e.stream} ${e.tag} `, 'latin1');
  return Buffer.concat([head, e.content, NEWLINE]);
}

const NEWLINE = Buffer.from('\n');

/** One line of a CRI log file (without its newline) → entry; undefined when it is not one. */
export function parseEntry(line: Buffer): LogEntry | undefined {
  const s1 = line.indexOf(0x20);
  if (s1 < 0) return undefined;
  const ts = parseTimestamp(line.subarray(0, s1).toString('latin1'));
  const s2 = line.indexOf(0x20, s1 + 1);
  if (ts === undefined || s2 < 0) return undefined;
  const stream = line.subarray(s1 + 1, s2).toString('latin1');
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = line.subarray(s2 + 1, s2 + 2).toString('latin1');
  if ((tag !== 'F' && tag !== 'P') || (line.length > s2 + 2 && line[s2 + 2] !== 0x20)) return undefined;
  return { ts, stream, tag, content: line.subarray(Math.min(line.length, s2 + 3)) };
}
