/**
 * What a CRI log file already holds at its end: the timestamps of its last entries,
 * read backwards, for the ResumeWindow. A line cut short by a crash (no "\n") is cut off
 * the file, so the resumed writer rewrites it whole after the last complete entry.
 */
import { open } from 'node:fs/promises';
import { parseEntry } from './cri-format.js';
import { WINDOW_NS } from './resume-window.js';

/** How far behind the window we keep reading for stragglers (pieces of a long line share one old time). */
const SLACK_NS = 10n * WINDOW_NS;
const CHUNK = 64 * 1024;

export interface FileTail {
  /** Timestamps of the entries read, in file order. */
  stamps: bigint[];
  /** Bytes of an incomplete last line that were cut off. */
  truncated: number;
}

/**
 * Reads `path` backwards until an entry is older than newest - WINDOW - SLACK, the start
 * of the file, or `maxBytes`. A missing file is an empty tail.
 */
export async function readFileTail(path: string, maxBytes = 16 * 1024 * 1024): Promise<FileTail> {
  let fh;
  try {
    fh = await open(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { stamps: [], truncated: 0 };
    throw err;
  }
  try {
    const size = (await fh.stat()).size;
    const reversed: bigint[] = [];
    let newest = -1n;
    let pos = size;
    /** Bytes after `pos` not yet looked at: the end of a line that starts before `pos`. */
    let carry = Buffer.alloc(0);
    let truncated = -1;
    scan: while (pos > 0 && size - pos < maxBytes) {
      const len = Math.min(CHUNK, pos);
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
      const lines = splitLines(buf.subarray(from));
      for (let i = lines.length - 1; i >= 0; i--) {
        const entry = parseEntry(lines[i]!);
        if (!entry) continue;
        if (entry.ts > newest) newest = entry.ts;
        if (entry.ts < newest - WINDOW_NS - SLACK_NS) break scan;
        reversed.push(entry.ts);
      }
    }
    // No newline anywhere: the whole file is one unfinished line.
    if (truncated < 0) truncated = pos === 0 ? size : 0;
    if (truncated) await fh.truncate(size - truncated);
    return { stamps: reversed.reverse(), truncated };
  } finally {
    await fh.close();
  }
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
