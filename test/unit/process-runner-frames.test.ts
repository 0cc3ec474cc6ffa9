/**
 * The byte protocol with the C helper, as pure logic: frames split anywhere in the pipe's
 * chunks, answers naming signals and errnos as Node does, and sizes past the limit refused.
 */
import { describe, expect, it } from 'vitest';
import { decodeAnswer, encodeRequest, FrameReader, MAX_FRAME_BYTES } from '../../src/process-runner/frames.js';

function answerFrame(id: number, exit: number, signo: number, errno: number, stdout: string, stderr: string): Buffer {
  const out = Buffer.from(stdout);
  const err = Buffer.from(stderr);
  const body = Buffer.alloc(25 + out.length + err.length);
  body.writeUInt32LE(id, 0);
  body.writeInt32LE(exit, 4);
  body.writeUInt32LE(signo, 8);
  body[12] = 0;
  body.writeUInt32LE(errno, 13);
  body.writeUInt32LE(out.length, 17);
  out.copy(body, 21);
  body.writeUInt32LE(err.length, 21 + out.length);
  err.copy(body, 25 + out.length);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(body.length, 0);
  return Buffer.concat([size, body]);
}

describe('process-runner frames', () => {
  it('reassembles frames split into single bytes and several frames in one chunk', () => {
    const a = answerFrame(1, 0, 0, 0, 'héllo', '');
    const b = answerFrame(2, -1, 9, 0, '', 'x');
    const reader = new FrameReader();
    const bodies: Buffer[] = [];
    for (const byte of Buffer.concat([a, b])) bodies.push(...reader.push(Buffer.from([byte])));
    bodies.push(...new FrameReader().push(Buffer.concat([a, b])));
    const decoded = bodies.map((body) => decodeAnswer(body, () => '/x'));
    expect(decoded.map((d) => d.id)).toEqual([1, 2, 1, 2]);
    expect(decoded[0]!.outcome).toEqual({ stdout: 'héllo', stderr: '', exitCode: 0, signal: null, timedOut: false });
    expect(decoded[1]!.outcome).toEqual({ stdout: '', stderr: 'x', exitCode: null, signal: 'SIGKILL', timedOut: false });
  });

  it('names errnos as Node does, with the file only where Node names it', () => {
    const enoent = decodeAnswer(answerFrame(3, -1, 0, 2, '', '').subarray(4), () => 'du');
    expect(enoent.outcome.spawnError).toEqual({ message: 'spawn du ENOENT', code: 'ENOENT' });
    const busy = decodeAnswer(answerFrame(4, -1, 0, 26, '', '').subarray(4), () => 'du');
    expect(busy.outcome.spawnError).toEqual({ message: 'spawn ETXTBSY', code: 'ETXTBSY' });
    expect(decodeAnswer(answerFrame(5, -1, 6, 0, '', '').subarray(4), () => 'x').outcome.signal).toBe('SIGABRT');
  });

  it('refuses oversized and inconsistent frames', () => {
    const huge = Buffer.alloc(4);
    huge.writeUInt32LE(MAX_FRAME_BYTES + 1, 0);
    expect(() => new FrameReader().push(huge)).toThrow(/exceeds/);
    const bad = answerFrame(6, 0, 0, 0, 'abc', '');
    bad.writeUInt32LE(1000, 4 + 17);
    expect(() => decodeAnswer(bad.subarray(4), () => 'x')).toThrow(/beyond the frame/);
    const req = { file: 'f', args: [], timeoutMs: 0, maxStdoutBytes: 1, maxStderrBytes: 1, detached: false, busyRetries: 0, busyDelayMs: 0, drainGraceMs: 0 };
    expect(encodeRequest(1, { ...req, stdin: 'a'.repeat(MAX_FRAME_BYTES) })).toBeNull();
    expect(encodeRequest(1, req)!.readUInt32LE(0)).toBe(encodeRequest(1, req)!.length - 4);
  });
});
