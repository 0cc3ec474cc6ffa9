/**
 * WebSocket clients for our streaming server: one built on `ws`, speaking the k8s
 * channel protocol as client-go's WebSocket executor does (v5: [255, channel]
 * half-closes), and a bare one for the SPDY tunnel, whose subprotocol
 * `SPDY/3.1+portforward.k8s.io` `ws` refuses to offer ('/' is not a token character;
 * kubectl's gorilla/websocket does not check).
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Duplex } from 'node:stream';
import { WebSocket } from 'ws';

export interface WsSession {
  ws: WebSocket;
  protocol: string;
  channels: Map<number, Buffer[]>;
  /** Messages in arrival order (to see the initial empty message). */
  messages: Array<{ channel: number; length: number }>;
  text(channel: number): string;
  send(channel: number, data: Buffer | string): Promise<void>;
  /** v5 close signal: the server sees EOF on `channel`. */
  closeChannel(channel: number): Promise<void>;
  closed: Promise<number>;
}

export type WsOpen = { opened: true; session: WsSession } | { opened: false; status: number; body: string };

/** Connects and records every message from the start (the first may come with the 101). */
export function wsConnect(url: string, protocols: string[]): Promise<WsOpen> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), protocols, { perMessageDeflate: false });
    const channels = new Map<number, Buffer[]>();
    const messages: WsSession['messages'] = [];
    ws.on('message', (data: Buffer) => {
      const ch = data[0]!;
      messages.push({ channel: ch, length: data.length - 1 });
      if (!channels.has(ch)) channels.set(ch, []);
      channels.get(ch)!.push(data.subarray(1));
    });
    const closed = new Promise<number>((done) => ws.once('close', (code) => done(code)));
    const sendRaw = (bytes: Buffer) => new Promise<void>((ok, fail) => ws.send(bytes, { binary: true }, (err) => (err ? fail(err) : ok())));
    ws.once('open', () =>
      resolve({
        opened: true,
        session: {
          ws,
          protocol: ws.protocol,
          channels,
          messages,
          text: (ch) => Buffer.concat(channels.get(ch) ?? []).toString(),
          send: (ch, data) => sendRaw(Buffer.concat([Buffer.from([ch]), Buffer.from(data)])),
          closeChannel: (ch) => sendRaw(Buffer.from([255, ch])),
          closed,
        },
      }),
    );
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ opened: false, status: res.statusCode ?? 0, body }));
    });
    ws.once('error', reject);
  });
}

export async function wsSession(url: string, protocols: string[]): Promise<WsSession> {
  const open = await wsConnect(url, protocols);
  if (!open.opened) throw new Error(`websocket refused: ${open.status} ${open.body}`);
  return open.session;
}

/**
 * A bare RFC 6455 client: handshake with `protocol` offered verbatim, then a Duplex whose
 * writes go out as masked binary messages and whose reads are the payloads received.
 */
export function rawWebSocket(url: string, protocol: string): Promise<{ stream: Duplex; protocol: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        'Sec-WebSocket-Protocol': protocol,
      },
    });
    req.on('response', (res) => reject(new Error(`websocket refused: ${res.statusCode}`)));
    req.on('error', reject);
    req.on('upgrade', (res, socket, head) => {
      let pending = head;
      const frame = (opcode: number, payload: Buffer) => {
        const mask = randomBytes(4);
        const len = payload.length;
        const header = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len]) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
        if (len >= 126 && len < 65536) {
          header[0] = 0x80 | opcode;
          header[1] = 0x80 | 126;
          header.writeUInt16BE(len, 2);
        } else if (len >= 65536) {
          header[0] = 0x80 | opcode;
          header[1] = 0x80 | 127;
          header.writeBigUInt64BE(BigInt(len), 2);
        }
        const masked = Buffer.from(payload);
        for (let i = 0; i < masked.length; i++) masked[i]! ^= mask[i % 4]!;
        return Buffer.concat([header, mask, masked]);
      };
      const stream = new Duplex({
        read: () => socket.resume(),
        write: (chunk: Buffer, _enc, done) => {
          socket.write(frame(2, chunk), done);
        },
        final: (done) => {
          socket.write(frame(8, Buffer.from([0x03, 0xe8])), () => done());
        },
      });
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        for (;;) {
          if (pending.length < 2) return;
          const opcode = pending[0]! & 0x0f;
          let len = pending[1]! & 0x7f;
          let at = 2;
          if (len === 126) {
            if (pending.length < 4) return;
            len = pending.readUInt16BE(2);
            at = 4;
          } else if (len === 127) {
            if (pending.length < 10) return;
            len = Number(pending.readBigUInt64BE(2));
            at = 10;
          }
          if (pending.length < at + len) return;
          const payload = pending.subarray(at, at + len);
          pending = pending.subarray(at + len);
          if (opcode === 2 || opcode === 0) {
            if (!stream.push(payload)) socket.pause();
          } else if (opcode === 8) {
            stream.push(null);
            socket.end();
          } else if (opcode === 9) socket.write(frame(10, payload));
        }
      });
      socket.on('close', () => stream.destroy());
      resolve({ stream, protocol: String(res.headers['sec-websocket-protocol'] ?? '') });
    });
    req.end();
  });
}
