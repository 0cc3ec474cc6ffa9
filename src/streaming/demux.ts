/**
 * Docker's multiplexed attach/exec stream (non-TTY) as two readables, stdout and
 * stderr, on top of the one frame parser in src/runtime/docker-demux.ts. Writing waits
 * for a full reader to drain, so a slow client slows the container's output down
 * (dockerode's demuxStream ignores backpressure and never ends its outputs).
 */
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { demuxFrames } from '../runtime/docker-demux.js';

export interface Demuxed {
  stdout: Readable;
  stderr: Readable;
}

async function pump(source: Readable, stdout: PassThrough, stderr: PassThrough): Promise<void> {
  // A reader that went away (a reset stream) never drains: stop waiting when the
  // source is cut off (the session detached), or the pump and its buffers stay
  // forever. A source that simply ended still has its last frames to deliver.
  const aborted = () => source.readableAborted;
  const sourceAborted = new Promise<void>((resolve) => {
    if (aborted()) resolve();
    else source.once('close', () => aborted() && resolve());
  });
  for await (const frames of demuxFrames(source)) {
    for (const frame of frames) {
      // Stream 0 would be stdin echoed back; Docker never sends it, but drop rather than misroute.
      const out = frame.stream === 'stdout' ? stdout : frame.stream === 'stderr' ? stderr : null;
      if (!out || out.destroyed) continue;
      if (!out.write(frame.payload)) await Promise.race([once(out, 'drain'), once(out, 'close'), sourceAborted]);
      if (aborted()) return;
    }
  }
}

/** Splits `source` into stdout and stderr; both end when `source` ends, fails or closes early. */
export function demuxDockerStream(source: Readable): Demuxed {
  const stdout = new PassThrough({ highWaterMark: 256 * 1024 });
  const stderr = new PassThrough({ highWaterMark: 256 * 1024 });
  pump(source, stdout, stderr)
    // A stream cut inside a frame, or closed early, simply ends both outputs.
    .catch(() => undefined)
    .finally(() => {
      if (!stdout.writableEnded) stdout.end();
      if (!stderr.writableEnded) stderr.end();
    });
  return { stdout, stderr };
}
