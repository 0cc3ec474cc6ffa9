/**
 * ExecSync when the container exits under the command: dockerd does not always end the
 * exec's stream then (an exec started while its container was being stopped held its
 * stream until the timeout; with no timeout it would hold it forever). A fake Docker
 * whose stream never ends stands for that dockerd: the command must fail soon after the
 * container's exit is seen, and a command whose stream ends by itself keeps its result.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FailedPreconditionError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import { execSync } from '../../../src/runtime/exec-sync.js';

/** One Docker exec whose output stream is `stream`; inspect reports it finished with `exitCode`. */
function fakeDocker(stream: PassThrough, exitCode = 0) {
  const exec = {
    id: 'e1',
    start: async () => stream,
    inspect: async () => ({ Running: false, ExitCode: exitCode, Pid: 0 }),
  };
  return { getContainer: () => ({ exec: async () => exec }) } as any;
}

/** A Docker multiplexed-stream frame (stdout) carrying `text`. */
function frame(text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = 1;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('execSync and the container exiting', () => {
  it('fails with FAILED_PRECONDITION about a second after the exit when the stream never ends (no timeout set)', async () => {
    const stream = new PassThrough();
    const exited = new AbortController();
    const started = Date.now();
    const result = execSync(fakeDocker(stream), silentLogger, 'c1', ['sleep', '30'], { timeoutMs: 0, containerExited: exited.signal });
    setTimeout(() => exited.abort(), 50);
    await expect(result).rejects.toMatchObject({ message: expect.stringContaining('exited while') });
    await expect(result).rejects.toBeInstanceOf(FailedPreconditionError);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('keeps the result of a command whose stream ends within the grace after the exit', async () => {
    const stream = new PassThrough();
    const exited = new AbortController();
    const result = execSync(fakeDocker(stream, 137), silentLogger, 'c1', ['echo', 'hi'], { timeoutMs: 0, containerExited: exited.signal });
    exited.abort();
    setTimeout(() => stream.end(frame('hi\n')), 100);
    const r = await result;
    expect(r.exitCode).toBe(137);
    expect(r.stdout.toString()).toBe('hi\n');
  });
});
