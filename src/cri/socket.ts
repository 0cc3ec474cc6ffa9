/**
 * The listening Unix socket. We own it (rather than letting grpc-js bind) so that
 * every accepted connection can go through the `:authority` rewriter first, and so
 * that a stale socket file is told apart from a live server.
 */
import { chmod, mkdir, unlink } from 'node:fs/promises';
import net from 'node:net';
import { dirname } from 'node:path';
import { FailedPreconditionError } from '../errors.js';

const SOCKET_MODE = 0o660;

/** Resolves true when something accepts connections on `path`. */
export function socketAnswers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = net.connect({ path });
    const done = (answer: boolean) => {
      conn.destroy();
      resolve(answer);
    };
    conn.setTimeout(timeoutMs, () => done(true)); // accepted but silent is still alive
    conn.once('connect', () => done(true));
    conn.once('error', () => done(false));
  });
}

/**
 * Binds `path`, replacing a leftover socket file only when nothing answers on it:
 * two shims on one socket would split the kubelet's calls between them.
 */
export async function listenUnix(path: string, onConnection: (socket: net.Socket) => void): Promise<net.Server> {
  await mkdir(dirname(path), { recursive: true });
  if (await socketAnswers(path)) {
    throw new FailedPreconditionError(`another server is already listening on ${path}; refusing to replace it`);
  }
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  const server = net.createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // The socket is created with the process umask; the kubelet's group needs rw.
  await chmod(path, SOCKET_MODE);
  return server;
}

/** Stops accepting and removes the socket file; open connections are the caller's to drain. */
export async function closeUnix(server: net.Server, path: string): Promise<void> {
  server.close();
  await unlink(path).catch(() => undefined);
}
