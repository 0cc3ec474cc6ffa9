/**
 * The k8s channel protocol over one WebSocket (`channel.k8s.io` family): every binary
 * message is a channel byte and a payload. Each channel becomes a Node stream here:
 * incoming messages for it are readable, writes go out prefixed with its number.
 * v5 adds a close signal, the message [255, channel], by which the client half-closes
 * a channel (stdin). Reading pauses the WebSocket while a channel's reader is full.
 */
import { Readable, Writable } from 'node:stream';
import type { WebSocket } from 'ws';

const CLOSE_SIGNAL = 255;

export interface ChannelMuxOptions {
  channels: number;
  /** v5: honour [255, channel] close signals. */
  closeSignal: boolean;
}

export class ChannelMux {
  private readonly readers: Readable[] = [];
  private readonly full = new Set<number>();
  /**
   * Channels whose input has ended. `readableEnded` turns true only once 'end' is
   * emitted, which may be much later than push(null); a push after that throws
   * ERR_STREAM_PUSH_AFTER_EOF, and without this set one message after a close signal
   * would crash the shim.
   */
  private readonly ended = new Set<number>();

  constructor(
    private readonly ws: WebSocket,
    options: ChannelMuxOptions,
  ) {
    for (let ch = 0; ch < options.channels; ch++) {
      const reader = new Readable({
        highWaterMark: 256 * 1024,
        read: () => this.unblock(ch),
      });
      // A reader nobody consumes must not turn a stream error into a crash.
      reader.on('error', () => undefined);
      this.readers.push(reader);
    }
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary || data.length === 0) return;
      if (options.closeSignal && data[0] === CLOSE_SIGNAL) {
        if (data.length === 2) this.endChannel(data[1]!);
        return;
      }
      const reader = this.readers[data[0]!];
      // A message for a channel we do not have is dropped, as wsstream does.
      if (!reader || this.ended.has(data[0]!)) return;
      if (!reader.push(data.subarray(1))) {
        this.full.add(data[0]!);
        this.ws.pause();
      }
    });
    ws.on('close', () => this.readers.forEach((_, ch) => this.endChannel(ch)));
  }

  /** No more input on `channel`; an ended reader is never read again, so it must not hold the socket paused. */
  private endChannel(channel: number): void {
    const reader = this.readers[channel];
    if (!reader || this.ended.has(channel)) return;
    this.ended.add(channel);
    reader.push(null);
    this.unblock(channel);
  }

  private unblock(channel: number): void {
    if (this.full.delete(channel) && this.full.size === 0) this.ws.resume();
  }

  /** Discards whatever the client still sends (the session is over), so the close handshake can be read. */
  drain(): void {
    for (const r of this.readers) r.resume();
    this.full.clear();
    this.ws.resume();
  }

  /** What the client sends on `channel`. */
  reader(channel: number): Readable {
    return this.readers[channel]!;
  }

  /** A stream whose writes go to the client on `channel`; ending it sends nothing. */
  writer(channel: number): Writable {
    return new Writable({
      highWaterMark: 256 * 1024,
      write: (chunk: Buffer, _enc, done) => this.send(channel, chunk, done),
    });
  }

  /** Sends one message on `channel`; `done` runs once it is handed to the socket. */
  send(channel: number, payload: Buffer, done: (err?: Error | null) => void = () => undefined): void {
    if (this.ws.readyState !== this.ws.OPEN) return done();
    // ws errors here only when the socket is gone; the session notices that through 'close'.
    this.ws.send(Buffer.concat([Buffer.from([channel]), payload]), { binary: true }, () => done());
  }
}
