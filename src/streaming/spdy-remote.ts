/**
 * The SPDY side of exec/attach: the client opens one stream per `streamtype` (error,
 * stdin, stdout, stderr, resize); we reply to each at once and wait, up to a deadline,
 * until all the request implies are there — as the kubelet's remotecommand server.
 */
import type { SpdyConnection } from './spdy/connection.js';
import type { SpdyStream } from './spdy/stream.js';
import type { RemoteStreams } from './remote-command.js';
import type { StdioOptions } from './requests.js';
import { errorStreamPayload, type Outcome } from './status.js';

const STREAM_TYPES = ['error', 'stdin', 'stdout', 'stderr', 'resize'] as const;
type StreamType = (typeof STREAM_TYPES)[number];

/** The streams a client must open for these options (resize: TTY, v3 and later). */
export function expectedStreamTypes(stdio: StdioOptions, version: number): StreamType[] {
  const types: StreamType[] = ['error'];
  if (stdio.stdin) types.push('stdin');
  if (stdio.stdout) types.push('stdout');
  if (stdio.stderr) types.push('stderr');
  if (stdio.tty && version >= 3) types.push('resize');
  return types;
}

export class StreamCreationTimeout extends Error {}

/**
 * Resolves once every expected stream is open; rejects after `timeoutMs` or when the
 * connection closes first. Streams of unknown or repeated types are replied to and ignored:
 * what the client sends on them is read and dropped, for a stream nobody reads would
 * fill up and pause the socket under every other stream (SPDY here has no per-stream
 * flow control). The streams we only write to (error, stdout, stderr) are drained likewise.
 */
export function acceptRemoteStreams(conn: SpdyConnection, stdio: StdioOptions, version: number, timeoutMs: number): Promise<RemoteStreams> {
  const expected = expectedStreamTypes(stdio, version);
  const got = new Map<StreamType, SpdyStream>();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new StreamCreationTimeout('timed out waiting for client to create streams')), timeoutMs);
    const onClose = () => fail(new Error('connection closed before all streams were created'));
    const onStream = (stream: SpdyStream) => {
      conn.reply(stream);
      const type = stream.headers.streamtype as StreamType;
      if (!STREAM_TYPES.includes(type) || got.has(type)) {
        ignore(stream);
        return;
      }
      got.set(type, stream);
      // We only write on these: anything the client sends there is dropped.
      if (type === 'error' || type === 'stdout' || type === 'stderr') stream.resume();
      if (expected.every((t) => got.has(t))) {
        cleanup();
        resolve(remoteStreams(conn, got, version));
      }
    };
    const cleanup = () => {
      clearTimeout(timer);
      conn.off('close', onClose);
      conn.off('stream', onStream);
      // Streams opened later still get their reply, so the client is never left waiting.
      conn.on('stream', (s) => {
        conn.reply(s);
        ignore(s);
      });
    };
    const fail = (err: Error) => {
      cleanup();
      reject(err);
    };
    conn.on('stream', onStream);
    conn.on('close', onClose);
  });
}

/** A stream we replied to but will never use: whatever comes on it is discarded. */
function ignore(stream: SpdyStream): void {
  stream.resume();
}

function remoteStreams(conn: SpdyConnection, got: Map<StreamType, SpdyStream>, version: number): RemoteStreams {
  const controller = new AbortController();
  conn.on('close', () => controller.abort());
  if (conn.isClosed) controller.abort();
  const error = got.get('error')!;
  return {
    stdin: got.get('stdin') ?? null,
    stdout: got.get('stdout') ?? null,
    stderr: got.get('stderr') ?? null,
    resize: got.get('resize') ?? null,
    signal: controller.signal,
    finish: async (outcome: Outcome) => {
      const payload = errorStreamPayload(outcome, version);
      if (payload && !conn.isClosed) await new Promise<void>((resolve) => error.write(payload, () => resolve()));
      conn.close();
    },
  };
}
