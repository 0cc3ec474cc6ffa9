import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { demuxDockerStream } from '../../../src/streaming/demux.js';
import { collect } from '../../helpers/spdy-client.js';

function frame(kind: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = kind;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

describe('demuxDockerStream', () => {
  it('splits stdout and stderr however the bytes are cut, and ends both', async () => {
    const wire = Buffer.concat([frame(1, Buffer.from('out-1\n')), frame(2, Buffer.from('err-1\n')), frame(1, Buffer.alloc(0)), frame(1, Buffer.from('out-2\n')), frame(0, Buffer.from('stdin?'))]);
    for (const size of [1, 3, 8, 9, wire.length]) {
      const source = new PassThrough();
      const { stdout, stderr } = demuxDockerStream(source);
      const results = Promise.all([collect(stdout), collect(stderr)]);
      for (let at = 0; at < wire.length; at += size) source.write(wire.subarray(at, at + size));
      source.end();
      const [out, err] = await results;
      expect(out.toString()).toBe('out-1\nout-2\n');
      expect(err.toString()).toBe('err-1\n');
    }
  });

  it('holds the source while a reader is full (backpressure), and loses nothing', async () => {
    const source = new PassThrough();
    const { stdout, stderr } = demuxDockerStream(source);
    const payload = randomBytes(4 * 1024 * 1024);
    const ok: boolean[] = [];
    for (let at = 0; at < payload.length; at += 64 * 1024) ok.push(source.write(frame(1, payload.subarray(at, at + 64 * 1024))));
    source.end();
    await new Promise((r) => setTimeout(r, 50));
    // Nobody reads stdout: the source must have been told to stop.
    expect(ok.at(-1)).toBe(false);
    expect(stdout.readableLength).toBeLessThanOrEqual(512 * 1024);
    const [out, err] = await Promise.all([collect(stdout), collect(stderr)]);
    expect(out.equals(payload)).toBe(true);
    expect(err.length).toBe(0);
  });

  it('ends both outputs when the source is destroyed mid-frame, keeping the whole frames before it', async () => {
    const source = new PassThrough();
    const { stdout, stderr } = demuxDockerStream(source);
    const results = Promise.all([collect(stdout), collect(stderr)]);
    source.write(Buffer.concat([frame(1, Buffer.from('whole ')), frame(1, Buffer.from('partial')).subarray(0, 12)]));
    await new Promise((r) => setImmediate(r));
    source.destroy();
    const [out, err] = await results;
    // A frame cut short is dropped: Docker sends a frame's header only with its payload ready.
    expect(out.toString()).toBe('whole ');
    expect(err.length).toBe(0);
  });
  it('lets go when the source closes while nobody reads a full output (a client that left)', async () => {
    const source = new PassThrough();
    const { stdout, stderr } = demuxDockerStream(source);
    // 1 MiB for a reader that never reads: the pump blocks on drain.
    source.write(frame(1, Buffer.alloc(1024 * 1024)));
    await new Promise((r) => setTimeout(r, 20));
    source.destroy();
    const ended = await Promise.race([
      new Promise<string>((resolve) => stderr.on('finish', () => resolve('ended'))),
      new Promise<string>((resolve) => setTimeout(() => resolve('stuck'), 1000)),
    ]);
    expect(ended).toBe('ended');
    expect((stdout as PassThrough).writableEnded).toBe(true);
  });
});
