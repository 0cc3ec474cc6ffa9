/**
 * SPDY (and the k8s WebSocket channels) have no per-stream flow control here: a stream
 * whose reader is full pauses the whole transport. So every stream the client may
 * write on must be read — used, or drained and dropped — or one unread stream stalls
 * all the others. These tests send a lot on streams nobody uses and check the real
 * streams still flow.
 */
import { connect, createServer, type Socket } from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { silentLogger } from '../../../src/logger.js';
import type { PodDial } from '../../../src/streaming/netns-dial.js';
import { servePortForwardChannels } from '../../../src/streaming/portforward-ws.js';
import { servePortForwardSpdy } from '../../../src/streaming/portforward-spdy.js';
import type { AttachedProcess } from '../../../src/streaming/process.js';
import { runRemoteCommand } from '../../../src/streaming/remote-command.js';
import { acceptRemoteStreams } from '../../../src/streaming/spdy-remote.js';
import { SpdyConnection } from '../../../src/streaming/spdy/connection.js';
import { collect, spdyForward } from '../../helpers/spdy-client.js';

/** Well over a stream's 256 KiB buffer. */
const FLOOD = Buffer.alloc(1024 * 1024, 'x');

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

async function spdyPair(): Promise<{ server: SpdyConnection; client: SpdyConnection }> {
  const srv = createServer({ allowHalfOpen: true });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const accepted = new Promise<Socket>((r) => srv.once('connection', r));
  const clientSocket = connect({ port: (srv.address() as { port: number }).port, host: '127.0.0.1', allowHalfOpen: true });
  const serverSocket = await accepted;
  cleanups.push(() => {
    clientSocket.destroy();
    serverSocket.destroy();
    srv.close();
  });
  return { server: new SpdyConnection(serverSocket, { role: 'server' }), client: new SpdyConnection(clientSocket, { role: 'client' }) };
}

/** Rejects, rather than hanging the test, when the transport is stalled. */
function within<T>(p: Promise<T>, what: string, ms = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stalled: ${what}`)), ms);
    p.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** `cat`: what comes on stdin goes back on stdout; exits 0 when stdin ends. */
function catProcess(): AttachedProcess {
  const pipe = new PassThrough();
  const ended = new Promise<void>((r) => pipe.once('end', r));
  return { stdin: pipe, stdout: pipe, stderr: null, resize: async () => undefined, wait: () => ended.then(() => 0), detach: () => undefined };
}

/** A pod port that says `bye` and is gone; `gone` settles once the forward let go of it. */
function closingPod(): { dial: PodDial; gone: Promise<void> } {
  const stream = new Duplex({ read() {}, write: (_c, _e, done) => done() });
  stream.push('bye');
  stream.push(null);
  const gone = new Promise<void>((r) => stream.once('close', () => r()));
  return { dial: { stream, done: Promise.resolve(null), kill: () => stream.destroy() }, gone };
}

function echoPod(): PodDial {
  const stream = new PassThrough();
  return { stream, done: new Promise((r) => stream.once('close', () => r(null))), kill: () => stream.destroy() };
}

describe('streams nobody reads do not stall the transport', () => {
  it('SPDY exec: data on unknown, repeated, late and write-only streams is dropped; stdin and stdout still flow', async () => {
    const { server, client } = await spdyPair();
    const stdio = { stdin: true, stdout: true, stderr: false, tty: false };
    const accepted = acceptRemoteStreams(server, stdio, 4, 5000);
    // Before the real streams: an unknown stream and a flood on it.
    client.openStream({ streamtype: 'bogus' }).write(FLOOD);
    const error = client.openStream({ streamtype: 'error' });
    const stdin = client.openStream({ streamtype: 'stdin' });
    // A second stdin: ignored, and what comes on it too.
    client.openStream({ streamtype: 'stdin' }).write(FLOOD);
    const stdout = client.openStream({ streamtype: 'stdout' });
    const output = Promise.all([collect(stdout), collect(error)]);
    const remote = await within(accepted, 'streams never all accepted');
    const ran = runRemoteCommand(remote, async () => catProcess(), () => ({ kind: 'success' }), silentLogger);
    // After acceptance: a late stream, and floods on the streams we only write to.
    client.openStream({ streamtype: 'late' }).write(FLOOD);
    error.write(FLOOD);
    stdout.write(FLOOD);
    stdin.end('hello through the flood');
    const [out, status] = await within(output, 'exec output');
    expect(out.toString()).toBe('hello through the flood');
    expect(JSON.parse(status.toString())).toMatchObject({ status: 'Success' });
    await ran;
  });

  it('SPDY port forward: a client still sending after its forward ended does not stall the next forward', async () => {
    const { server, client } = await spdyPair();
    const closing = closingPod();
    servePortForwardSpdy(server, {
      sandboxId: 'p',
      dial: (port) => (port === 1 ? closing.dial : echoPod()),
      streamCreationTimeoutMs: 5000,
      logger: silentLogger,
    });
    const headers = { port: '1', requestid: '1' };
    client.openStream({ streamtype: 'error', ...headers }, { fin: true });
    const data = client.openStream({ streamtype: 'data', ...headers });
    const first = collect(data);
    await within(closing.gone, 'first forward never ended');
    data.write(FLOOD);
    expect((await within(first, 'first forward output')).toString()).toBe('bye');
    const second = await within(spdyForward(client, 2, 2, Buffer.from('ping'), true), 'second forward');
    expect(second).toEqual({ data: Buffer.from('ping'), error: '' });
  });

  it('SPDY port forward: data on an error stream does not stall the pair it belongs to', async () => {
    const { server, client } = await spdyPair();
    servePortForwardSpdy(server, { sandboxId: 'p', dial: () => echoPod(), streamCreationTimeoutMs: 5000, logger: silentLogger });
    const headers = { port: '80', requestid: '5' };
    const error = client.openStream({ streamtype: 'error', ...headers });
    error.write(FLOOD);
    const data = client.openStream({ streamtype: 'data', ...headers });
    const echoed = collect(data);
    data.end('ping');
    expect((await within(echoed, 'forward output')).toString()).toBe('ping');
  });

  it('WebSocket port forward: a client still sending on a finished port does not stall the other ports', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => wss.once('listening', r));
    cleanups.push(() => wss.close());
    const closing = closingPod();
    wss.on('connection', (ws) =>
      servePortForwardChannels(ws, { sandboxId: 'p', ports: [1, 2], dial: (port) => (port === 1 ? closing.dial : echoPod()), logger: silentLogger }),
    );
    const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`, ['v4.channel.k8s.io'], { perMessageDeflate: false });
    cleanups.push(() => ws.terminate());
    const received = new Map<number, string>();
    let onMessage: () => void = () => undefined;
    ws.on('message', (m: Buffer) => {
      received.set(m[0]!, (received.get(m[0]!) ?? '') + m.subarray(1).toString('latin1'));
      onMessage();
    });
    const until = (pred: () => boolean, what: string) =>
      within(
        new Promise<void>((resolve) => {
          onMessage = () => pred() && resolve();
          onMessage();
        }),
        what,
      );
    await new Promise((r) => ws.once('open', r));
    const send = (channel: number, data: Buffer | string) =>
      new Promise<void>((r, j) => ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]), { binary: true }, (err) => (err ? j(err) : r())));
    // Port 1 (channels 0/1) is done once the pod is let go; then the client floods its channel.
    await until(() => received.get(0)?.endsWith('bye') ?? false, 'first port output');
    await within(closing.gone, 'first forward never ended');
    // In many messages: the socket pauses once the reader is full, the rest wait behind it.
    for (let at = 0; at < FLOOD.length; at += 64 * 1024) void send(0, FLOOD.subarray(at, at + 64 * 1024));
    await send(2, 'ping');
    // Port 2's data channel starts with its 2-byte port prefix.
    await until(() => received.get(2)?.endsWith('ping') ?? false, 'second port output');
  });
});
