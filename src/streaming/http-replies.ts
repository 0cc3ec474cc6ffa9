/**
 * HTTP answers written straight onto a socket whose request asked for an upgrade
 * (Node hands those over raw), worded as Go's net/http writes them, so a client
 * sees the same error the kubelet would give it.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

export interface HttpError {
  status: number;
  /** Go's http.Error appends a newline; http.NotFound says "404 page not found". */
  message: string;
  headers?: Array<[string, string]>;
}

export function notFound(): HttpError {
  return { status: 404, message: '404 page not found' };
}

export function rejectUpgrade(socket: Duplex, error: HttpError): void {
  const body = Buffer.from(`${error.message}\n`);
  const lines = [
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}`,
    'Content-Type: text/plain; charset=utf-8',
    'X-Content-Type-Options: nosniff',
    ...(error.headers ?? []).map(([k, v]) => `${k}: ${v}`),
    `Content-Length: ${body.length}`,
    'Connection: close',
  ];
  socket.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), body]));
  // A client that never reads must not hold the socket.
  setTimeout(() => socket.destroy(), 2000).unref();
}

/** The SPDY upgrade answer, as the kubelet's (Go) server writes it. */
export function spdySwitchingProtocols(protocol: string): Buffer {
  const lines = ['HTTP/1.1 101 Switching Protocols', 'Connection: Upgrade', 'Upgrade: SPDY/3.1'];
  if (protocol) lines.push(`X-Stream-Protocol-Version: ${protocol}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`);
}
