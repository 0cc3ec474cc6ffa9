/**
 * The streaming server over real HTTP, with the pod runtime and the in-pod dialer
 * faked (no Docker): tokens, HTTP errors, timeouts, teardown.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type Docker from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { FailedPreconditionError, NotFoundError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import type { PodDial } from '../../../src/streaming/netns-dial.js';
import { StreamingServer, type StreamingServerOptions } from '../../../src/streaming/server.js';
import { spdyForward, spdyUpgrade } from '../../helpers/spdy-client.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An echo server standing in for the pod's port. */
async function echoServer(): Promise<{ port: number; server: Server }> {
  const server = createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => void server.close());
  return { port: (server.address() as { port: number }).port, server };
}

interface Fixture {
  streaming: StreamingServer;
  dials: Array<{ netns: string; port: number; killed: boolean; socket: Socket }>;
}

async function start(overrides: Partial<StreamingServerOptions> = {}): Promise<Fixture> {
  const echo = await echoServer();
  const dials: Fixture['dials'] = [];
  const pods = {
    sandboxStatus: async (id: string) => {
      if (id === 'gone') throw new NotFoundError(`pod sandbox "${id}" not found`);
      return { record: { id } as never, state: id === 'stopped' ? ('notready' as const) : ('ready' as const), pausePid: id === 'stopped' ? 0 : 4242 };
    },
  };
  const dial = (netns: string, port: number): PodDial => {
    const socket = connect(echo.port, '127.0.0.1');
    const entry = { netns, port, killed: false, socket };
    dials.push(entry);
    return {
      stream: socket,
      done: new Promise((r) => socket.once('close', () => r(null))),
      kill: () => {
        entry.killed = true;
        socket.destroy();
      },
    };
  };
  const streaming = new StreamingServer({ address: '127.0.0.1:0', docker: {} as Docker, pods, logger: silentLogger, dial, ...overrides });
  await streaming.start();
  cleanups.push(() => streaming.stop());
  return { streaming, dials };
}

async function get(url: string, init: RequestInit = {}): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text() };
}

describe('StreamingServer', () => {
  it('refuses to hand out URLs before it listens', () => {
    const s = new StreamingServer({ address: '127.0.0.1:0', docker: {} as Docker, pods: { sandboxStatus: async () => { throw new Error('x'); } }, logger: silentLogger });
    expect(() => s.register({ kind: 'portforward', sandboxId: 'p', ports: [] })).toThrow(FailedPreconditionError);
  });

  it('answers 404 for unknown paths and tokens, expired tokens included; 405 for other methods', async () => {
    const { streaming } = await start({ tokenTtlMs: 100 });
    const base = streaming.baseUrl;
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await get(`${base}/`)).toEqual({ status: 404, body: '404 page not found\n' });
    expect((await get(`${base}/exec/unknown-token`)).status).toBe(404);
    const url = streaming.register({ kind: 'portforward', sandboxId: 'p', ports: [80] });
    await new Promise((r) => setTimeout(r, 150));
    expect((await spdyUpgrade(url, ['portforward.k8s.io'])).upgraded).toBe(false);
    const fresh = streaming.register({ kind: 'portforward', sandboxId: 'p', ports: [80] });
    expect((await get(fresh, { method: 'PUT' })).status).toBe(405);
  });

  it('a valid URL without an upgrade gets 400 and is used up', async () => {
    const { streaming } = await start();
    const url = streaming.register({ kind: 'portforward', sandboxId: 'p', ports: [80] });
    const res = await get(url);
    expect(res.status).toBe(400);
    expect(res.body).toContain('unable to upgrade');
    expect((await get(url)).status).toBe(404);
  });

  it('forwards through the dialer inside the pause process\'s network namespace', async () => {
    const { streaming, dials } = await start();
    const up = await spdyUpgrade(streaming.register({ kind: 'portforward', sandboxId: 'p', ports: [80] }), ['portforward.k8s.io']);
    if (!up.upgraded) throw new Error(up.body);
    const r = await spdyForward(up.conn, 8080, 0, Buffer.from('echo me'), true);
    expect(r).toEqual({ data: Buffer.from('echo me'), error: '' });
    expect(dials).toMatchObject([{ netns: '/proc/4242/ns/net', port: 8080 }]);
    up.conn.destroy();
  });

  it('resets port-forward streams without a valid port or type, as the kubelet', async () => {
    const { streaming } = await start();
    const up = await spdyUpgrade(streaming.register({ kind: 'portforward', sandboxId: 'p', ports: [80] }), ['portforward.k8s.io']);
    if (!up.upgraded) throw new Error(up.body);
    for (const headers of [{ streamtype: 'data' }, { streamtype: 'data', port: '0' }, { streamtype: 'stdin', port: '80' }] as Array<Record<string, string>>) {
      const s = up.conn.openStream(headers);
      await new Promise((r) => s.once('close', r));
      expect(s.wasReset).toBe(true);
    }
    up.conn.destroy();
  });

  it('a client that goes away ends its forwarded connections', async () => {
    const { streaming, dials } = await start();
    const up = await spdyUpgrade(streaming.register({ kind: 'portforward', sandboxId: 'p', ports: [80] }), ['portforward.k8s.io']);
    if (!up.upgraded) throw new Error(up.body);
    const headers = { port: '80', requestid: '1' };
    up.conn.openStream({ streamtype: 'error', ...headers }, { fin: true });
    const data = up.conn.openStream({ streamtype: 'data', ...headers });
    data.write('hello');
    let echoed = '';
    await new Promise<void>((r) => data.on('data', (c: Buffer) => ((echoed += c), r())));
    expect(echoed).toBe('hello');
    up.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(dials).toHaveLength(1);
    expect(dials[0]!.killed).toBe(true);
  });

  it('answers 500 when the pod is not ready and 500 naming NOT_FOUND when it is gone', async () => {
    const { streaming } = await start();
    for (const [id, text] of [['stopped', 'not ready'], ['gone', 'not found']]) {
      const up = await spdyUpgrade(streaming.register({ kind: 'portforward', sandboxId: id!, ports: [80] }), ['portforward.k8s.io']);
      expect(up).toMatchObject({ upgraded: false, status: 500 });
      expect(up.upgraded === false && up.body).toContain(text);
    }
  });

  it('closes a remote-command connection whose streams never come', async () => {
    const { streaming } = await start({ streamCreationTimeoutMs: 100 });
    const url = streaming.register({ kind: 'exec', containerId: 'c', cmd: ['true'], stdin: false, stdout: true, stderr: true, tty: false });
    const up = await spdyUpgrade(url);
    if (!up.upgraded) throw new Error(up.body);
    up.conn.openStream({ streamtype: 'error' });
    const started = Date.now();
    await new Promise<void>((r) => up.conn.on('close', r));
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('closes connections idle for idleTimeoutMs, and stop() ends the rest', async () => {
    const { streaming } = await start({ idleTimeoutMs: 150 });
    const idle = await spdyUpgrade(streaming.register({ kind: 'portforward', sandboxId: 'p', ports: [80] }), ['portforward.k8s.io']);
    if (!idle.upgraded) throw new Error(idle.body);
    const t0 = Date.now();
    await new Promise<void>((r) => idle.conn.on('close', r));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);

    const { streaming: other } = await start();
    const busy = await spdyUpgrade(other.register({ kind: 'portforward', sandboxId: 'p', ports: [80] }), ['portforward.k8s.io']);
    if (!busy.upgraded) throw new Error(busy.body);
    const closed = new Promise<void>((r) => busy.conn.on('close', r));
    await other.stop();
    await closed;
  });
});
