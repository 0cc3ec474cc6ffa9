/**
 * SpdyConnection against itself over a real loopback TCP connection: one side in the
 * server role, one in the client role.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { SpdyConnection } from '../../../src/streaming/spdy/connection.js';
import { dataFrameHeader, pingFrame } from '../../../src/streaming/spdy/frames.js';
import type { SpdyStream } from '../../../src/streaming/spdy/stream.js';
import { collect, replied } from '../../helpers/spdy-client.js';
import { FrameDecoder, type DecodedFrame } from '../../helpers/streaming-captures.js';

interface Pair {
  server: SpdyConnection;
  client: SpdyConnection;
  serverSocket: Socket;
  clientSocket: Socket;
}

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

async function sockets(): Promise<{ serverSocket: Socket; clientSocket: Socket }> {
  const srv = createServer({ allowHalfOpen: true });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  const accepted = new Promise<Socket>((r) => srv.once('connection', r));
  const clientSocket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const serverSocket = await accepted;
  cleanups.push(() => {
    clientSocket.destroy();
    serverSocket.destroy();
    srv.close();
  });
  return { serverSocket, clientSocket };
}

async function pair(): Promise<Pair> {
  const { serverSocket, clientSocket } = await sockets();
  return {
    server: new SpdyConnection(serverSocket, { role: 'server' }),
    client: new SpdyConnection(clientSocket, { role: 'client' }),
    serverSocket,
    clientSocket,
  };
}

function nextStream(conn: SpdyConnection): Promise<SpdyStream> {
  return new Promise((resolve) => conn.once('stream', resolve));
}

describe('SpdyConnection', () => {
  it('opens streams with headers, replies, carries data both ways and half-closes each side', async () => {
    const { server, client } = await pair();
    const incoming = nextStream(server);
    const s = client.openStream({ streamtype: 'stdin', extra: 'x' });
    const got = await incoming;
    expect(got.id).toBe(1);
    expect(got.headers).toEqual({ streamtype: 'stdin', extra: 'x' });
    server.reply(got, { answered: 'yes' });
    await replied(client, s);
    expect(s.headers).toEqual({ answered: 'yes' });
    // Echo until the client half-closes, then half-close ourselves.
    got.pipe(got);
    s.end('ping-pong');
    expect((await collect(s)).toString()).toBe('ping-pong');
    // A second stream gets the next odd id.
    expect(client.openStream({ streamtype: 'x' }).id).toBe(3);
  });

  it('pauses the socket while a stream reader is full, and loses nothing', async () => {
    const { server, client, serverSocket } = await pair();
    const incoming = nextStream(server);
    const s = client.openStream({ streamtype: 'stdin' });
    const big = randomBytes(8 * 1024 * 1024);
    s.end(big);
    const got = await incoming;
    await new Promise((r) => setTimeout(r, 300));
    // Nobody read yet: what we hold is bounded by the stream's buffer plus a socket read or two.
    expect(got.readableLength).toBeLessThan(1024 * 1024);
    expect(serverSocket.isPaused()).toBe(true);
    expect((await collect(got)).equals(big)).toBe(true);
  });

  it('a stream the peer resets is destroyed; data for unknown streams is dropped', async () => {
    const { server, client, clientSocket } = await pair();
    const incoming = nextStream(server);
    const s = client.openStream({ streamtype: 'data' });
    const got = await incoming;
    const closed = new Promise((r) => got.once('close', r));
    s.destroy();
    await closed;
    expect(got.wasReset).toBe(true);
    // Data on a stream nobody opened (here: the reset one, and id 99) is ignored.
    clientSocket.write(Buffer.concat([dataFrameHeader(1, 3, false), Buffer.from('old'), dataFrameHeader(99, 3, true), Buffer.from('new')]));
    // The connection still works.
    const again = nextStream(server);
    client.openStream({ streamtype: 'again' });
    expect((await again).headers.streamtype).toBe('again');
  });

  it('close(): resets the streams we have not finished, then GOAWAY with the last peer stream', async () => {
    const { serverSocket, clientSocket } = await sockets();
    const server = new SpdyConnection(serverSocket, { role: 'server' });
    const raw = new FrameDecoder();
    const frames: DecodedFrame[] = [];
    let decoding = Promise.resolve();
    clientSocket.on('data', (c: Buffer) => {
      decoding = decoding.then(async () => void frames.push(...(await raw.push(c))));
    });
    // Speak as a client by hand: SYN_STREAM 1, 3 and 5 through a codec of our own.
    const client = new SpdyConnection(clientSocket, { role: 'client' });
    const streams: SpdyStream[] = [];
    server.on('stream', (st) => {
      server.reply(st);
      streams.push(st);
    });
    client.openStream({ streamtype: 'error' });
    client.openStream({ streamtype: 'stdout' });
    client.openStream({ streamtype: 'stdin' });
    while (streams.length < 3) await new Promise((r) => setTimeout(r, 10));
    await new Promise<void>((r) => streams[1]!.end('out', () => r()));
    clientSocket.write(pingFrame(7));
    await new Promise((r) => setTimeout(r, 50));
    server.close();
    await new Promise((r) => clientSocket.once('close', r));
    await decoding;
    const summary = frames.map((f) => (f.kind === 'data' ? `DATA ${f.streamId}${f.fin ? ' FIN' : ''}` : f.type === 'RST_STREAM' ? `RST ${f.streamId} ${f.status}` : f.type === 'GOAWAY' ? `GOAWAY ${f.lastGoodStreamId}` : f.type === 'PING' ? `PING ${f.id}` : `${f.type} ${(f as { streamId?: number }).streamId}`));
    expect(summary).toEqual(['SYN_REPLY 1', 'SYN_REPLY 3', 'SYN_REPLY 5', 'DATA 3', 'DATA 3 FIN', 'PING 7', 'RST 1 5', 'RST 5 5', 'GOAWAY 5']);
    expect(server.isClosed).toBe(true);
    raw.close();
  });

  it('drops a peer that speaks another SPDY version, and says why with GOAWAY', async () => {
    const { serverSocket, clientSocket } = await sockets();
    const server = new SpdyConnection(serverSocket, { role: 'server' });
    const closed = new Promise<void>((r) => server.on('close', r));
    const seen: Buffer[] = [];
    clientSocket.on('data', (c: Buffer) => seen.push(c));
    // A SYN_STREAM of SPDY/2.
    clientSocket.write(Buffer.from([0x80, 0x02, 0x00, 0x01, 0, 0, 0, 10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
    await closed;
    await new Promise((r) => setTimeout(r, 50));
    const bytes = Buffer.concat(seen);
    // GOAWAY (type 7) with status PROTOCOL_ERROR (1).
    expect(bytes.subarray(0, 4)).toEqual(Buffer.from([0x80, 0x03, 0x00, 0x07]));
    expect(bytes.readUInt32BE(12)).toBe(1);
  });
});

describe('a peer that ends right after its last frames', () => {
  it('frames queued behind a header block are still delivered before the connection closes', async () => {
    // The server's bytes (SYN_REPLY, DATA "last words" with FIN) are captured, then fed to
    // the client in one chunk followed at once by the socket's end: the reply's header
    // block inflates asynchronously, so 'end' arrives while the DATA frame is queued.
    const fromServer: Buffer[] = [];
    const serverSide = new Duplex({ read() {}, write: (c, _e, done) => (fromServer.push(c), done()) });
    const toClient: Buffer[] = [];
    const clientSide = new Duplex({ read() {}, write: (c, _e, done) => (toClient.push(c), done()), allowHalfOpen: true });
    const client = new SpdyConnection(clientSide, { role: 'client' });
    const stream = client.openStream({ streamtype: 'stdout' });
    const server = new SpdyConnection(serverSide, { role: 'server' });
    const accepted = new Promise<SpdyStream>((r) => server.once('stream', r));
    serverSide.push(Buffer.concat(toClient));
    const remote = await accepted;
    server.reply(remote);
    await new Promise<void>((r) => remote.end('last words', () => r()));
    const got = collect(stream);
    clientSide.push(Buffer.concat(fromServer));
    clientSide.push(null);
    expect((await got).toString()).toBe('last words');
  });
});
