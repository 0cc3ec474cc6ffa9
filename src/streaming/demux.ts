/**
 * Docker's multiplexed attach/exec stream (non-TTY): frames of an 8-byte header —
 * stream (1 stdout, 2 stderr), three zero bytes, big-endian payload length — and the
 * payload. dockerode's demuxStream ignores backpressure and never ends its outputs;
 * this one pauses the source while a reader is full and ends both at the source's end.
 */
import { PassThrough, Writable, type Readable } from 'node:stream';

const HEADER = 8;

export interface Demuxed {
  stdout: Readable;
  stderr: Readable;
}

class DockerDemuxer extends Writable {
  private header = Buffer.alloc(0);
  private remaining = 0;
  private target: PassThrough | null = null;

  constructor(
    private readonly stdout: PassThrough,
    private readonly stderr: PassThrough,
  ) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const full = new Set<PassThrough>();
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining === 0) {
        const want = HEADER - this.header.length;
        this.header = Buffer.concat([this.header, chunk.subarray(at, at + want)]);
        at += Math.min(want, chunk.length - at);
        if (this.header.length < HEADER) break;
        // Stream 0 would be stdin echoed back; Docker never sends it, but drop rather than misroute.
        const kind = this.header[0];
        this.target = kind === 1 ? this.stdout : kind === 2 ? this.stderr : null;
        this.remaining = this.header.readUInt32BE(4);
        this.header = Buffer.alloc(0);
        continue;
      }
      const piece = chunk.subarray(at, at + this.remaining);
      at += piece.length;
      this.remaining -= piece.length;
      if (this.target && !this.target.write(piece)) full.add(this.target);
    }
    if (!full.size) return done();
    let waiting = full.size;
    for (const out of full) {
      const go = () => {
        out.off('drain', go);
        out.off('close', go);
        if (--waiting === 0) done();
      };
      out.on('drain', go);
      out.on('close', go);
    }
  }

  override _final(done: (err?: Error | null) => void): void {
    this.stdout.end();
    this.stderr.end();
    done();
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    if (!this.stdout.writableEnded) this.stdout.end();
    if (!this.stderr.writableEnded) this.stderr.end();
    done(err);
  }
}

/** Splits `source` into stdout and stderr; both end when `source` ends or fails. */
export function demuxDockerStream(source: Readable): Demuxed {
  const stdout = new PassThrough({ highWaterMark: 256 * 1024 });
  const stderr = new PassThrough({ highWaterMark: 256 * 1024 });
  const demuxer = new DockerDemuxer(stdout, stderr);
  source.pipe(demuxer);
  // pipe() does not end the destination when the source errors or closes early.
  const stop = () => {
    if (!demuxer.writableEnded) demuxer.end();
  };
  source.on('error', stop);
  source.on('close', stop);
  return { stdout, stderr };
}
