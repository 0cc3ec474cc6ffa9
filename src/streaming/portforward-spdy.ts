/**
 * Port forward over SPDY (`portforward.k8s.io`): per forwarded connection the client
 * opens an `error` and a `data` stream carrying the same `port` and `requestid`
 * headers. A stream with a bad header is reset; a pair not complete within the
 * creation timeout gets a message on its error stream. The connection lives until
 * the client closes it, as many pairs as the client likes.
 */
import type { Logger } from '../logger.js';
import type { SpdyConnection } from './spdy/connection.js';
import type { SpdyStream } from './spdy/stream.js';
import type { PodDial } from './netns-dial.js';
import { forwardConnection } from './port-forward.js';

export interface PortForwardSessionOptions {
  sandboxId: string;
  dial: (port: number) => PodDial;
  streamCreationTimeoutMs: number;
  logger: Logger;
}

interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

/** Why the kubelet would refuse this stream, or null. */
export function streamHeaderProblem(headers: Record<string, string>): string | null {
  const port = headers.port;
  if (!port) return '"port" header is required';
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) return `invalid port "${port}"`;
  const type = headers.streamtype;
  if (!type) return '"streamType" header is required';
  if (type !== 'error' && type !== 'data') return `invalid stream type "${type}"`;
  return null;
}

/**
 * Old clients send no requestid: pair by stream id (an error stream N, its data N+2),
 * the kubelet's best effort for them.
 */
function requestIdOf(stream: SpdyStream): string {
  const given = stream.headers.requestid;
  if (given) return given;
  return String(stream.headers.streamtype === 'error' ? stream.id : stream.id - 2);
}

export function servePortForwardSpdy(conn: SpdyConnection, options: PortForwardSessionOptions): void {
  const { logger } = options;
  const pairs = new Map<string, Pair>();
  const stop = new AbortController();
  conn.on('close', () => {
    stop.abort();
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
  });

  conn.on('stream', (stream) => {
    const problem = streamHeaderProblem(stream.headers);
    if (problem) {
      logger.info({ stream: stream.id, problem }, 'refusing port-forward stream');
      stream.destroy();
      return;
    }
    conn.reply(stream);
    const id = requestIdOf(stream);
    let pair = pairs.get(id);
    if (!pair) {
      const timer = setTimeout(() => timedOut(id), options.streamCreationTimeoutMs);
      timer.unref();
      pair = { timer };
      pairs.set(id, pair);
    }
    const slot = stream.headers.streamtype as 'data' | 'error';
    if (pair[slot]) {
      logger.info({ request: id, slot }, `${slot} stream already assigned; resetting the new one`);
      stream.destroy();
      return;
    }
    pair[slot] = stream;
    // The client never writes on the error stream: drain it from the start, so its FIN is
    // seen and nothing sent there can fill it and pause the connection.
    if (slot === 'error') stream.resume();
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pairs.delete(id);
      run(pair.data, pair.error).catch((err) => logger.error({ err: (err as Error).message }, 'port forward failed'));
    }
  });

  const timedOut = (id: string) => {
    const pair = pairs.get(id);
    if (!pair) return;
    pairs.delete(id);
    if (pair.error) pair.error.end(`timed out waiting for streams of request ${id}`);
    pair.data?.destroy();
  };

  const run = async (data: SpdyStream, error: SpdyStream) => {
    try {
      await forwardConnection(
        {
          fromClient: data,
          toClient: data,
          reportError: (message) => new Promise<void>((resolve) => error.write(message, () => resolve())),
        },
        { port: Number(data.headers.port), sandboxId: options.sandboxId, dial: options.dial, logger },
        stop.signal,
      );
    } finally {
      if (!error.writableEnded) error.end();
    }
  };
}
