/**
 * The byte protocol between the shim and the C helper (native/runner.c has the layout):
 * length-prefixed binary frames, so the helper parses no JSON. Numbers the helper sends
 * (signal, errno) become the names Node itself would give, so callers see the same
 * ProcessOutcome as from runLocal.
 */
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import type { ProcessOutcome, ProcessRequest } from './run-local.js';

/** Both sides refuse frames above this (the helper clips each captured stream to 24 MiB). */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

const U32_MAX = 0xffffffff;

/** Envc that asks the helper for its own environment (the shim's when the helper started). */
const OWN_ENVIRONMENT = U32_MAX;

/**
 * The environment given, as "K=V" strings as Node builds them for spawn. None given: the
 * helper passes on its own, inherited from the shim, as the Node helper did; walking
 * process.env on every request cost more than all the rest of a request.
 */
function environment(req: ProcessRequest): string[] | null {
  if (!req.env) return null;
  const out: string[] = [];
  for (const [k, v] of Object.entries(req.env)) if (v !== undefined) out.push(`${k}=${v}`);
  return out;
}

/** Node refuses NUL in these strings with its own error; the runner leaves such requests to runLocal. */
export function hasNul(req: ProcessRequest): boolean {
  const strings = [req.file, ...req.args, ...Object.entries(req.env ?? {}).flatMap(([k, v]) => [k, v ?? ''])];
  return strings.some((s) => s.includes('\0'));
}

function u32(v: number): number {
  return Math.min(Math.max(0, Math.floor(v)), U32_MAX);
}

/** The request frame, or null when it would exceed MAX_FRAME_BYTES. */
export function encodeRequest(id: number, req: ProcessRequest): Buffer | null {
  // argv[0] is the file as given, as Node passes it.
  const env = environment(req);
  const strings = [req.file, req.file, ...req.args, ...(env ?? [])].map((s) => Buffer.from(s, 'utf8'));
  const stdin = Buffer.from(req.stdin ?? '', 'utf8');
  const argc = req.args.length + 1;
  const size = 4 * 7 + 1 + strings.reduce((n, s) => n + 5 + s.length, 0) + 4 + 4 + 4 + stdin.length;
  if (size > MAX_FRAME_BYTES) return null;
  const buf = Buffer.allocUnsafe(4 + size);
  let at = 0;
  const put = (v: number) => (at = buf.writeUInt32LE(u32(v), at));
  const str = (s: Buffer) => {
    put(s.length);
    at += s.copy(buf, at);
    buf[at++] = 0;
  };
  put(size);
  put(id);
  put(req.timeoutMs);
  put(req.maxStdoutBytes);
  put(req.maxStderrBytes);
  put(req.busyRetries);
  put(req.busyDelayMs);
  put(req.drainGraceMs);
  buf[at++] = req.detached ? 1 : 0;
  str(strings[0]!);
  put(argc);
  for (const s of strings.slice(1, 1 + argc)) str(s);
  put(env ? env.length : OWN_ENVIRONMENT);
  for (const s of strings.slice(1 + argc)) str(s);
  put(stdin.length);
  stdin.copy(buf, at);
  return buf;
}

const signalNames = new Map<number, NodeJS.Signals>();
// First name wins: SIGABRT before SIGIOT, SIGIO before SIGPOLL, as Node names them.
for (const [name, num] of Object.entries(constants.signals)) if (!signalNames.has(num)) signalNames.set(num, name as NodeJS.Signals);

/** Node reports these start failures asynchronously, naming the file; it throws the others as "spawn CODE". */
const NAMED_FILE_ERRORS = new Set(['EACCES', 'EAGAIN', 'EMFILE', 'ENFILE', 'ENOENT']);

/** An answer frame's body (without its length) as the caller's id and outcome; throws on a malformed one. */
export function decodeAnswer(body: Buffer, fileOf: (id: number) => string | undefined): { id: number; outcome: ProcessOutcome } {
  if (body.length < 25) throw new Error(`answer frame of ${body.length} bytes is too short`);
  const id = body.readUInt32LE(0);
  const exit = body.readInt32LE(4);
  const signo = body.readUInt32LE(8);
  const timedOut = body[12] === 1;
  const errno = body.readUInt32LE(13);
  const outLen = body.readUInt32LE(17);
  if (21 + outLen + 4 > body.length) throw new Error('answer frame: stdout length beyond the frame');
  const stdout = body.subarray(21, 21 + outLen);
  const errLen = body.readUInt32LE(21 + outLen);
  if (25 + outLen + errLen !== body.length) throw new Error('answer frame: stderr length does not match the frame');
  const stderr = body.subarray(25 + outLen);
  const outcome: ProcessOutcome = {
    stdout: stdout.toString('utf8'),
    stderr: stderr.toString('utf8'),
    exitCode: exit >= 0 ? exit : null,
    signal: signo ? (signalNames.get(signo) ?? null) : null,
    timedOut,
  };
  if (errno) {
    const code = getSystemErrorName(-errno);
    const file = fileOf(id) ?? '';
    outcome.spawnError = { message: NAMED_FILE_ERRORS.has(code) ? `spawn ${file} ${code}` : `spawn ${code}`, code };
  }
  return { id, outcome };
}

/** Splits the helper's byte stream into frame bodies; chunks are joined once per frame. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** The complete frame bodies this chunk finished; throws on a size above MAX_FRAME_BYTES. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    while (this.buffered >= 4) {
      if (this.chunks[0]!.length < 4) this.chunks = [Buffer.concat(this.chunks)];
      const size = this.chunks[0]!.readUInt32LE(0);
      if (size > MAX_FRAME_BYTES) throw new Error(`answer frame of ${size} bytes exceeds the limit`);
      if (this.buffered < 4 + size) break;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      frames.push(all.subarray(4, 4 + size));
      const rest = all.subarray(4 + size);
      this.chunks = rest.length ? [rest] : [];
      this.buffered = rest.length;
    }
    return frames;
  }
}
