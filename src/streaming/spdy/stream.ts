/**
 * One SPDY stream as a Node Duplex: what the peer sends on it is readable, what we
 * write goes out as data frames, end() sends FIN (a half-close), destroy() before both
 * sides finished sends RST_STREAM. The connection does the framing; the stream only
 * tracks its own half-closes.
 */
import { Duplex } from 'node:stream';
import type { SpdyHeaders } from './header-block.js';

/** What a stream needs from its connection. */
export interface StreamOwner {
  writeData(stream: SpdyStream, data: Buffer, fin: boolean, done: (err?: Error | null) => void): void;
  reset(stream: SpdyStream, status: number): void;
  /** The stream's reader wants more: the connection may read from its socket again. */
  readMore(stream: SpdyStream): void;
  /** Both halves are done: the connection can forget the stream. */
  forget(stream: SpdyStream): void;
}

const CANCEL = 5;

export class SpdyStream extends Duplex {
  /** The stream was reset (by either side): nothing more will flow. */
  wasReset = false;
  private remoteFin = false;
  private localFin = false;

  constructor(
    private readonly owner: StreamOwner,
    readonly id: number,
    /** SYN_STREAM headers (streams the peer opened) or SYN_REPLY headers (ours, once replied). */
    public headers: SpdyHeaders,
  ) {
    super({ allowHalfOpen: true, highWaterMark: 256 * 1024 });
  }

  /** We have sent FIN (or a reset): no more data frames from us. */
  get finishedLocally(): boolean {
    return this.localFin || this.wasReset;
  }

  override _read(): void {
    this.owner.readMore(this);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.wasReset) return done(new Error(`stream ${this.id} was reset`));
    this.owner.writeData(this, chunk, false, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.wasReset) return done();
    this.localFin = true;
    this.owner.writeData(this, Buffer.alloc(0), true, (err) => {
      this.maybeForget();
      done(err);
    });
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    if (!this.wasReset && !(this.localFin && this.remoteFin)) {
      this.wasReset = true;
      this.owner.reset(this, CANCEL);
    }
    this.owner.forget(this);
    done(err);
  }

  /** Data from the peer; false when the reader is full and the socket should pause. */
  receiveData(data: Buffer, fin: boolean): boolean {
    if (this.remoteFin || this.wasReset) return true;
    const more = data.length ? this.push(data) : true;
    if (fin) this.receiveFin();
    return more;
  }

  receiveFin(): void {
    if (this.remoteFin) return;
    this.remoteFin = true;
    this.push(null);
    // An ended stream is never read again: it must not keep the socket paused.
    this.owner.readMore(this);
    this.maybeForget();
  }

  /** RST_STREAM from the peer, or the connection went away. */
  receiveReset(): void {
    if (this.wasReset) return;
    this.wasReset = true;
    this.destroy();
  }

  private maybeForget(): void {
    if (this.localFin && this.remoteFin) this.owner.forget(this);
  }
}
