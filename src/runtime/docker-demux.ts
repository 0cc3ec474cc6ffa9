/**
 * Docker's multiplexed stdout/stderr stream (attach, exec and logs of a container
 * without a TTY): frames of an 8-byte header — stream type, three zero bytes, a
 * big-endian uint32 length — and that many bytes of payload.
 *
 * dockerode's `modem.demuxStream` pushes into two writables, ignoring what their
 * `write()` returns, and never ends them. This is a pull-based parser instead: it is an
 * async generator over the source, so it reads the next chunk only when the consumer
 * asks for the next batch — a slow log file or a capped ExecSync buffer slows the
 * socket down (TCP backpressure) rather than filling our memory.
 */

export type FrameStream = 'stdin' | 'stdout' | 'stderr';

export interface Frame {
  stream: FrameStream;
  payload: Buffer;
}

const HEADER = 8;
const STREAMS: Record<number, FrameStream | 'systemerr'> = { 0: 'stdin', 1: 'stdout', 2: 'stderr', 3: 'systemerr' };

/** A frame whose header makes no sense: the stream is not multiplexed (a TTY) or is corrupt. */
export class DemuxError extends Error {}

/**
 * Yields the complete frames found in each chunk of `source`, in order, as one batch
 * per chunk (batching lets a consumer write once per chunk, not once per line). A
 * `systemerr` frame (type 3, Docker's in-band error) throws with its text. Bytes left
 * over when the source ends are a truncated frame and throw too.
 */
export async function* demuxFrames(source: AsyncIterable<Buffer | string>, maxFrameBytes = 64 * 1024 * 1024): AsyncGenerator<Frame[]> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Bytes the frame at the head of `pending` needs, header included. */
  let need = HEADER;
  for await (const raw of source) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    if (!chunk.length) continue;
    pending.push(chunk);
    pendingBytes += chunk.length;
    // Join the pieces only once a whole frame is there (no quadratic copying of a big frame).
    if (pendingBytes < need) continue;
    let buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    const frames: Frame[] = [];
    let off = 0;
    while (buf.length - off >= HEADER) {
      const type = STREAMS[buf[off]!];
      if (!type || buf[off + 1] !== 0 || buf[off + 2] !== 0 || buf[off + 3] !== 0) {
        throw new DemuxError(`not a multiplexed Docker stream: header ${buf.subarray(off, off + HEADER).toString('hex')}`);
      }
      const size = buf.readUInt32BE(off + 4);
      if (size > maxFrameBytes) throw new DemuxError(`frame of ${size} bytes exceeds ${maxFrameBytes}`);
      if (buf.length - off - HEADER < size) {
        need = HEADER + size;
        break;
      }
      const payload = buf.subarray(off + HEADER, off + HEADER + size);
      off += HEADER + size;
      if (type === 'systemerr') throw new DemuxError(`dockerd: ${payload.toString('utf8').trim()}`);
      frames.push({ stream: type, payload });
    }
    if (buf.length - off < HEADER) need = HEADER;
    if (off === buf.length) {
      pending = [];
      pendingBytes = 0;
    } else {
      buf = buf.subarray(off);
      pending = [buf];
      pendingBytes = buf.length;
    }
    if (frames.length) yield frames;
  }
  if (pendingBytes) throw new DemuxError(`stream ended inside a frame (${pendingBytes} bytes left)`);
}
