/**
 * A client for our streaming server built from our own SPDY codec (the same
 * SpdyConnection, in the client role), speaking as client-go does: the HTTP upgrade
 * with X-Stream-Protocol-Version, then one stream per streamtype.
 */
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { SpdyConnection } from '../../src/streaming/spdy/connection.js';
import type { SpdyStream } from '../../src/streaming/spdy/stream.js';

export const CLIENT_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

export type UpgradeResult =
  | { upgraded: true; conn: SpdyConnection; socket: Socket; protocol: string; headers: Record<string, unknown> }
  | { upgraded: false; status: number; body: string; headers: Record<string, unknown> };

export function spdyUpgrade(url: string, protocols: string[] = CLIENT_PROTOCOLS, method = 'POST'): Promise<UpgradeResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': protocols, 'Content-Length': '0' },
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no answer to the upgrade')));
    req.on('upgrade', (res, socket, head) => {
      if (head.length) socket.unshift(head);
      const conn = new SpdyConnection(socket, { role: 'client' });
      resolve({ upgraded: true, conn, socket, protocol: String(res.headers['x-stream-protocol-version'] ?? ''), headers: res.headers });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ upgraded: false, status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

export function collect(stream: NodeJS.ReadableStream | null): Promise<Buffer> {
  if (!stream) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

/** Resolves once the peer replied to `stream` (SYN_REPLY). */
export function replied(conn: SpdyConnection, stream: SpdyStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const onReply = (s: SpdyStream) => {
      if (s !== stream) return;
      conn.off('reply', onReply);
      resolve();
    };
    conn.on('reply', onReply);
    stream.once('close', () => reject(new Error(`stream ${stream.id} closed before a reply`)));
  });
}

export interface ExecOptions {
  stdin?: Buffer | ((stdin: SpdyStream) => void) | true;
  stdout?: boolean;
  stderr?: boolean;
  tty?: boolean;
  /** Sizes to send on the resize stream, right after it opens. */
  resize?: Array<{ Width: number; Height: number }>;
  protocols?: string[];
  /** Called with the stdout stream as soon as it exists (interactive tests). */
  onStdout?: (stdout: SpdyStream) => void;
}

export interface ExecResult {
  protocol: string;
  stdout: Buffer;
  stderr: Buffer;
  /** The error stream's bytes (v4+: Status JSON). */
  error: string;
  status: any;
}

/** Runs a remote command against a streaming URL; resolves when the server closes. */
export async function spdyExec(url: string, opts: ExecOptions = {}): Promise<ExecResult> {
  const up = await spdyUpgrade(url, opts.protocols);
  if (!up.upgraded) throw new Error(`upgrade refused: ${up.status} ${up.body}`);
  const { conn } = up;
  const closed = new Promise<void>((resolve) => conn.on('close', resolve));
  // Like client-go: error stream first; no stream but stdin is ever half-closed.
  const error = conn.openStream({ streamtype: 'error' });
  const stdin = opts.stdin ? conn.openStream({ streamtype: 'stdin' }) : null;
  const stdout = opts.stdout !== false ? conn.openStream({ streamtype: 'stdout' }) : null;
  const stderr = opts.stderr && !opts.tty ? conn.openStream({ streamtype: 'stderr' }) : null;
  const resize = opts.tty ? conn.openStream({ streamtype: 'resize' }) : null;
  if (stdout && opts.onStdout) opts.onStdout(stdout);
  const outputs = Promise.all([collect(stdout), collect(stderr), collect(error)]);
  for (const size of opts.resize ?? []) resize?.write(`${JSON.stringify(size)}\n`);
  if (stdin) {
    if (Buffer.isBuffer(opts.stdin)) stdin.end(opts.stdin);
    else if (typeof opts.stdin === 'function') opts.stdin(stdin);
  }
  const [out, err, errorBytes] = await outputs;
  await closed;
  const text = errorBytes.toString();
  let status: any = null;
  try {
    status = text ? JSON.parse(text) : null;
  } catch {
    status = text;
  }
  return { protocol: up.protocol, stdout: out, stderr: err, error: text, status };
}

export interface ForwardResult {
  data: Buffer;
  error: string;
}

/**
 * One forwarded connection as client-go makes it: an error stream (half-closed at once,
 * the client never writes on it) and a data stream with the same port and requestid;
 * we send `payload`, and close our side once the pod has closed its own.
 */
export async function spdyForward(conn: SpdyConnection, port: number, requestId: number, payload: Buffer, halfCloseEarly = false): Promise<ForwardResult> {
  const headers = { port: String(port), requestid: String(requestId) };
  const error = conn.openStream({ streamtype: 'error', ...headers }, { fin: true });
  const data = conn.openStream({ streamtype: 'data', ...headers });
  const results = Promise.all([collect(data), collect(error)]);
  if (halfCloseEarly) data.end(payload);
  else {
    data.write(payload);
    data.once('end', () => data.end());
  }
  const [bytes, err] = await results;
  return { data: bytes, error: err.toString() };
}
