/**
 * A SPDY/3.1 connection over any byte Duplex (an upgraded HTTP socket, or a WebSocket
 * tunnel): streams in both directions, SYN_REPLY, data with FIN half-close, RST_STREAM,
 * PING echo and GOAWAY. No flow-control windows: the Go client (moby/spdystream)
 * ignores SETTINGS and WINDOW_UPDATE and never sends WINDOW_UPDATE, so backpressure
 * goes through the socket instead — a stream whose reader is full pauses reading
 * from the socket, and our writes wait for the socket to drain.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../logger.js';
import { silentLogger } from '../../logger.js';
import {
  dataFrameHeader,
  FLAG_FIN,
  FrameReader,
  goAwayFrame,
  parseControl,
  pingFrame,
  rstStreamFrame,
  RstStatus,
  SpdyProtocolError,
  synReplyFrame,
  synStreamFrame,
  type RawFrame,
} from './frames.js';
import { decodeHeaderBlock, encodeHeaderBlock, HeaderCompressor, HeaderDecompressor, type SpdyHeaders } from './header-block.js';
import { SpdyStream, type StreamOwner } from './stream.js';

/** Data frames we send carry at most this much, so streams interleave fairly. */
const MAX_DATA_FRAME = 64 * 1024;
/** Bytes of frames read but not yet handled (e.g. behind a header block being inflated) before we stop reading the socket. */
const MAX_QUEUED_BYTES = 256 * 1024;

export interface SpdyConnectionOptions {
  /** Servers open even stream ids, clients odd (§2.3.2). */
  role: 'server' | 'client';
  logger?: Logger;
}

export interface SpdyConnection {
  on(event: 'stream', listener: (stream: SpdyStream) => void): this;
  on(event: 'reply', listener: (stream: SpdyStream) => void): this;
  on(event: 'goaway', listener: (lastGoodStreamId: number) => void): this;
  on(event: 'close', listener: () => void): this;
}

export class SpdyConnection extends EventEmitter implements StreamOwner {
  private readonly reader = new FrameReader();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private readonly queue: RawFrame[] = [];
  private queuedBytes = 0;
  /** Streams whose readers are full; the socket stays paused while any is. */
  private readonly fullStreams = new Set<SpdyStream>();
  private readonly logger: Logger;
  private handling = false;
  private nextOwnId: number;
  private lastPeerId = 0;
  private goAwaySent = false;
  private closed = false;
  /** The peer ended while frames were still queued: close once they are handled. */
  private peerGone: string | undefined;
  /** Writers waiting for the socket to drain (one listener for all of them). */
  private drainWaiters: Array<() => void> = [];

  constructor(
    private readonly socket: Duplex,
    private readonly options: SpdyConnectionOptions,
  ) {
    super();
    this.logger = options.logger ?? silentLogger;
    this.nextOwnId = options.role === 'server' ? 2 : 1;
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('end', () => this.onPeerGone('peer closed the connection'));
    socket.on('close', () => this.onPeerGone('socket closed'));
    socket.on('drain', () => this.releaseWriters());
    socket.on('error', (err) => this.logger.debug({ err: err.message }, 'spdy socket error'));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Accepts a stream the peer opened: SYN_REPLY with `headers` (the kubelet sends none). */
  reply(stream: SpdyStream, headers: SpdyHeaders = {}): void {
    this.write(synReplyFrame(stream.id, this.compressor.compress(encodeHeaderBlock(headers))));
  }

  /**
   * Opens a stream of our own; 'reply' is emitted on the connection when the peer answers.
   * `fin`: we will not write on it — half-closed at once with an empty DATA FIN, as
   * client-go does for a port-forward error stream.
   */
  openStream(headers: SpdyHeaders, options: { fin?: boolean } = {}): SpdyStream {
    const id = this.nextOwnId;
    this.nextOwnId += 2;
    const stream = this.track(new SpdyStream(this, id, {}));
    this.write(synStreamFrame(id, this.compressor.compress(encodeHeaderBlock(headers))));
    if (options.fin) stream.end();
    return stream;
  }

  /**
   * Ends the connection as the kubelet's streaming server does: streams we have not
   * finished are reset (CANCEL), then GOAWAY, then the socket is closed.
   */
  close(): void {
    if (this.closed) return;
    for (const stream of [...this.streams.values()]) {
      if (!stream.finishedLocally) stream.destroy();
    }
    this.sendGoAway();
    this.shutdown();
    this.socket.end();
    // A peer that never reads would keep the socket (and us) alive.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  /** Drops the connection at once (no GOAWAY). */
  destroy(): void {
    this.shutdown();
    this.socket.destroy();
  }

  // ---- StreamOwner -------------------------------------------------------

  writeData(stream: SpdyStream, data: Buffer, fin: boolean, done: (err?: Error | null) => void): void {
    if (this.closed) return done();
    let ok = true;
    this.socket.cork();
    if (data.length === 0) {
      ok = this.write(dataFrameHeader(stream.id, 0, fin));
    }
    for (let at = 0; at < data.length; at += MAX_DATA_FRAME) {
      const slice = data.subarray(at, at + MAX_DATA_FRAME);
      const last = at + MAX_DATA_FRAME >= data.length;
      this.write(dataFrameHeader(stream.id, slice.length, fin && last));
      ok = this.write(slice);
    }
    this.socket.uncork();
    if (ok) return done();
    this.drainWaiters.push(done);
  }

  reset(stream: SpdyStream, status: number): void {
    this.write(rstStreamFrame(stream.id, status));
  }

  readMore(stream: SpdyStream): void {
    if (this.fullStreams.delete(stream)) this.updateFlow();
  }

  forget(stream: SpdyStream): void {
    this.streams.delete(stream.id);
    if (this.fullStreams.delete(stream)) this.updateFlow();
  }

  // ---- reading -------------------------------------------------------------

  private onBytes(chunk: Buffer): void {
    if (this.closed) return;
    for (const frame of this.reader.push(chunk)) {
      this.queue.push(frame);
      this.queuedBytes += frameSize(frame);
    }
    this.updateFlow();
    void this.handleQueue();
  }

  /** Frames are handled strictly in order: header blocks share one zlib stream. */
  private async handleQueue(): Promise<void> {
    if (this.handling) return;
    this.handling = true;
    try {
      while (this.queue.length && !this.closed) {
        const frame = this.queue.shift()!;
        this.queuedBytes -= frameSize(frame);
        if (frame.control) await this.handleControl(frame);
        else this.handleData(frame.streamId, frame.flags, frame.data);
      }
    } catch (err) {
      this.logger.info({ err: (err as Error).message }, 'spdy protocol error; closing');
      if (err instanceof SpdyProtocolError) this.sendGoAway(1);
      this.destroy();
    } finally {
      this.handling = false;
      this.updateFlow();
      if (this.peerGone !== undefined && !this.queue.length) this.onPeerGone(this.peerGone);
    }
  }

  private handleData(streamId: number, flags: number, data: Buffer): void {
    const stream = this.streams.get(streamId);
    // Data for a stream we already forgot (e.g. reset) is dropped, as spdystream does.
    if (!stream) return;
    if (!stream.receiveData(data, (flags & FLAG_FIN) !== 0)) {
      this.fullStreams.add(stream);
      this.updateFlow();
    }
  }

  private async handleControl(frame: Extract<RawFrame, { control: true }>): Promise<void> {
    const c = parseControl(frame);
    switch (c.type) {
      case 'SYN_STREAM': {
        // Inflate even a block we refuse: later blocks depend on it.
        const headers = decodeHeaderBlock(await this.decompressor.decompress(c.headerBlock));
        const peerParity = this.options.role === 'server' ? 1 : 0;
        if (c.streamId % 2 !== peerParity || c.streamId <= this.lastPeerId) {
          this.write(rstStreamFrame(c.streamId, RstStatus.PROTOCOL_ERROR));
          return;
        }
        this.lastPeerId = c.streamId;
        if (this.goAwaySent) {
          this.write(rstStreamFrame(c.streamId, RstStatus.REFUSED_STREAM));
          return;
        }
        const stream = this.track(new SpdyStream(this, c.streamId, headers));
        if (c.flags & FLAG_FIN) stream.receiveFin();
        this.emit('stream', stream);
        return;
      }
      case 'SYN_REPLY':
      case 'HEADERS': {
        const headers = decodeHeaderBlock(await this.decompressor.decompress(c.headerBlock));
        const stream = this.streams.get(c.streamId);
        if (!stream) return;
        stream.headers = { ...stream.headers, ...headers };
        if (c.type === 'SYN_REPLY') this.emit('reply', stream);
        if (c.flags & FLAG_FIN) stream.receiveFin();
        return;
      }
      case 'RST_STREAM':
        this.streams.get(c.streamId)?.receiveReset();
        return;
      case 'PING':
        // Echo the peer's pings (their ids have the peer's parity); ours come back as-is.
        if (c.id % 2 === (this.options.role === 'server' ? 1 : 0)) this.write(pingFrame(c.id));
        return;
      case 'GOAWAY':
        this.emit('goaway', c.lastGoodStreamId);
        return;
      default:
        // SETTINGS, WINDOW_UPDATE and unknown types: nothing to do without flow control.
        return;
    }
  }

  // ---- plumbing --------------------------------------------------------------

  private track(stream: SpdyStream): SpdyStream {
    this.streams.set(stream.id, stream);
    // A misbehaving peer must never crash the shim through an unhandled stream error.
    stream.on('error', (err) => this.logger.debug({ stream: stream.id, err: err.message }, 'spdy stream error'));
    return stream;
  }

  private write(bytes: Buffer): boolean {
    if (this.closed || this.socket.destroyed || this.socket.writableEnded) return true;
    return this.socket.write(bytes);
  }

  private updateFlow(): void {
    const stop = this.fullStreams.size > 0 || this.queuedBytes > MAX_QUEUED_BYTES;
    if (stop && !this.socket.isPaused()) this.socket.pause();
    else if (!stop && this.socket.isPaused() && !this.closed) this.socket.resume();
  }

  private sendGoAway(status = 0): void {
    if (this.goAwaySent) return;
    this.write(goAwayFrame(this.lastPeerId, status));
    this.goAwaySent = true;
  }

  private releaseWriters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const done of waiters) done();
  }

  private onPeerGone(why: string): void {
    if (this.closed) return;
    // Frames that came before the peer's FIN still count (the last stdout bytes, the
    // exit status): handle what is queued first, then close.
    if (this.handling || this.queue.length) {
      this.peerGone = why;
      return;
    }
    this.logger.debug({ why }, 'spdy connection ended by the peer');
    this.shutdown();
    this.socket.destroy();
  }

  /** Marks the connection closed, resets what is left, emits 'close' once. */
  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.decompressor.close();
    for (const stream of [...this.streams.values()]) stream.receiveReset();
    this.streams.clear();
    this.releaseWriters();
    this.emit('close');
  }
}

function frameSize(frame: RawFrame): number {
  return frame.control ? frame.payload.length : frame.data.length;
}
