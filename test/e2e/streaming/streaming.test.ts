/**
 * Exec, attach and port-forward end to end against a real pod, with a client built from
 * our own SPDY codec and one built on `ws`: the shim's RPCs hand out the URLs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpdyConnection } from '../../../src/streaming/spdy/connection.js';
import { spdyExec, spdyForward, spdyUpgrade } from '../../helpers/spdy-client.js';
import { startStreamingPod, type StreamingPod } from '../../helpers/streaming-pod.js';
import { rawWebSocket, wsConnect, wsSession } from '../../helpers/streaming-ws-client.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const HTTP_GET = Buffer.from('GET /index.html HTTP/1.0\r\nHost: pod\r\n\r\n');

/** Everything `stream` printed, once it matches `pattern`; rejects after `ms`. */
function waitForOutput(stream: NodeJS.ReadableStream, pattern: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${ms} ms; got ${JSON.stringify(seen)}`)), ms);
    stream.on('data', (c: Buffer) => {
      seen += c.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
  });
}

describe('streaming end to end', () => {
  let p: StreamingPod;
  beforeAll(async () => {
    p = await startStreamingPod(6);
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  const exec = (cmd: string[], stdio: Record<string, boolean>, container = p.web) =>
    p.call('Exec', { container_id: container, cmd, ...stdio }).then((r) => r.url as string);

  describe('RPCs', () => {
    it('return http URLs on the streaming server, one token each', async () => {
      const a = await exec(['true'], { stdout: true });
      const b = await exec(['true'], { stdout: true });
      expect(a).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]{16,}$/);
      expect(a).not.toBe(b);
      expect((await p.call('Attach', { container_id: p.catter, stdin: true, stdout: true })).url).toMatch(/\/attach\//);
      expect((await p.call('PortForward', { pod_sandbox_id: p.sandboxId, port: [80] })).url).toMatch(/\/portforward\//);
    });

    it('refuse TTY with stderr, no stdio at all, an empty command: INVALID_ARGUMENT', async () => {
      const bad = [
        ['Exec', { container_id: p.web, cmd: ['sh'], tty: true, stdout: true, stderr: true }],
        ['Attach', { container_id: p.shell, tty: true, stdout: true, stderr: true }],
        ['Exec', { container_id: p.web, cmd: ['sh'] }],
        ['Exec', { container_id: p.web, cmd: [], stdout: true }],
        ['PortForward', { pod_sandbox_id: p.sandboxId, port: [70000] }],
      ] as const;
      for (const [method, req] of bad) {
        await expect(p.call(method, req), `${method} ${JSON.stringify(req)}`).rejects.toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT });
      }
    });

    it('unknown container or pod: NOT_FOUND', async () => {
      const unknown = 'f'.repeat(64);
      await expect(p.call('Exec', { container_id: unknown, cmd: ['sh'], stdout: true })).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND });
      await expect(p.call('PortForward', { pod_sandbox_id: unknown, port: [80] })).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND });
    });
  });

  describe('exec over SPDY (our codec)', () => {
    it('echoes 10 MiB of stdin through cat without stalling', async () => {
      const input = randomBytes(10 * MiB);
      const url = await exec(['cat'], { stdin: true, stdout: true, stderr: true });
      const started = Date.now();
      const r = await spdyExec(url, { stdin: input, stderr: true });
      expect(r.stdout.length).toBe(input.length);
      expect(sha(r.stdout)).toBe(sha(input));
      expect(r.status).toEqual({ metadata: {}, status: 'Success' });
      expect(Date.now() - started).toBeLessThan(20_000);
    });

    it('keeps stdout and stderr apart, each in order', async () => {
      const url = await exec(['sh', '-c', 'i=0; while [ $i -lt 200 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done'], { stdout: true, stderr: true });
      const r = await spdyExec(url, { stderr: true });
      const lines = (prefix: string) => Array.from({ length: 200 }, (_, i) => `${prefix}${i}\n`).join('');
      expect(r.stdout.toString()).toBe(lines('out'));
      expect(r.stderr.toString()).toBe(lines('err'));
    });

    it.each([
      [0, 'true', null],
      [3, 'exit 3', '3'],
      [137, 'kill -9 $$', '137'],
    ])('reports exit code %i', async (_code, script, cause) => {
      const url = await exec(['sh', '-c', script], { stdout: true });
      const r = await spdyExec(url);
      if (cause === null) expect(r.status).toEqual({ metadata: {}, status: 'Success' });
      else expect(r.status).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: cause }] } });
    });

    it('runs a TTY and applies resizes from the resize stream', async () => {
      const script = 'i=0; while [ $i -lt 50 ]; do s=$(stty size); [ "$s" = "30 100" ] && break; sleep 0.1; i=$((i+1)); done; echo "size=$s"';
      const url = await exec(['sh', '-c', script], { stdin: true, stdout: true, tty: true });
      const r = await spdyExec(url, { stdin: true, tty: true, resize: [{ Width: 0, Height: 0 }, { Width: 100, Height: 30 }] });
      expect(r.stdout.toString()).toContain('size=30 100\r\n');
      expect(r.status).toEqual({ metadata: {}, status: 'Success' });
    });

    it('speaks v4 and v1 when that is all the client offers', async () => {
      const v4 = await spdyExec(await exec(['sh', '-c', 'exit 5'], { stdout: true }), { protocols: ['v4.channel.k8s.io'] });
      expect(v4.protocol).toBe('v4.channel.k8s.io');
      expect(v4.status).toMatchObject({ reason: 'NonZeroExitCode' });
      const v1 = await spdyExec(await exec(['sh', '-c', 'echo hi; exit 5'], { stdout: true }), { protocols: ['channel.k8s.io'] });
      expect(v1.protocol).toBe('channel.k8s.io');
      expect(v1.stdout.toString()).toBe('hi\n');
      expect(v1.error).toBe('command terminated with non-zero exit code: error executing command [sh -c echo hi; exit 5], exit code 5');
    });

    it('answers 403 when no protocol is shared, naming ours', async () => {
      const up = await spdyUpgrade(await exec(['true'], { stdout: true }), ['v9.channel.k8s.io']);
      expect(up).toMatchObject({ upgraded: false, status: 403 });
      expect(up.upgraded === false && up.body).toContain('unable to negotiate protocol');
    });

    it('ends when the process exits even though the client keeps stdin open (crictl exec -i)', async () => {
      const url = await exec(['sh', '-c', 'echo bye; exit 4'], { stdin: true, stdout: true, stderr: true });
      const r = await spdyExec(url, { stdin: () => undefined, stderr: true });
      expect(r.stdout.toString()).toBe('bye\n');
      expect(r.status).toMatchObject({ details: { causes: [{ message: '4' }] } });
    });

    it('a client that goes away mid-exec lets go of the process: it sees EOF and exits', async () => {
      const url = await exec(['tee', '/tmp/gone-marker'], { stdin: true, stdout: true });
      const up = await spdyUpgrade(url);
      if (!up.upgraded) throw new Error(up.body);
      up.conn.openStream({ streamtype: 'error' });
      const stdin = up.conn.openStream({ streamtype: 'stdin' });
      const stdout = up.conn.openStream({ streamtype: 'stdout' });
      await new Promise<void>((resolve) => {
        stdout.once('data', () => resolve());
        stdin.write('marker-for-ps\n');
      });
      const running = async () => (await spdyExec(await exec(['ps', '-o', 'args'], { stdout: true }))).stdout.toString();
      const marker = /^tee \/tmp\/gone-marker$/m;
      expect(await running()).toMatch(marker);
      up.socket.destroy();
      let ps = '';
      for (let i = 0; i < 50 && marker.test((ps = await running())); i++) await new Promise((r) => setTimeout(r, 100));
      expect(ps).not.toMatch(marker);
    });

    it('reports a command that cannot run as a failure status, not a hang', async () => {
      const r = await spdyExec(await exec(['/no/such/binary'], { stdout: true, stderr: true }), { stderr: true });
      expect(r.status).toMatchObject({ status: 'Failure' });
      expect(r.status.details.causes[0].message).toMatch(/^12[67]$/);
    });
  });

  describe('attach', () => {
    it('attaches to a container that reads stdin (no TTY), and detaching leaves it running', async () => {
      const { url } = await p.call('Attach', { container_id: p.catter, stdin: true, stdout: true, stderr: true });
      const up = await spdyUpgrade(url);
      if (!up.upgraded) throw new Error(up.body);
      const { conn } = up;
      conn.openStream({ streamtype: 'error' });
      const stdin = conn.openStream({ streamtype: 'stdin' });
      const stdout = conn.openStream({ streamtype: 'stdout' });
      conn.openStream({ streamtype: 'stderr' });
      stdin.write('hello-attach\n');
      await waitForOutput(stdout, /hello-attach\n/, 5000);
      up.socket.destroy();
      await new Promise((r) => setTimeout(r, 200));
      const st = await p.call('ContainerStatus', { container_id: p.catter });
      expect(st.status.state).toBe('CONTAINER_RUNNING');
    });

    it('attaches to a TTY container: an interactive shell that sees resizes', async () => {
      const { url } = await p.call('Attach', { container_id: p.shell, stdin: true, stdout: true, tty: true });
      const up = await spdyUpgrade(url);
      if (!up.upgraded) throw new Error(up.body);
      const { conn } = up;
      conn.openStream({ streamtype: 'error' });
      const stdin = conn.openStream({ streamtype: 'stdin' });
      const stdout = conn.openStream({ streamtype: 'stdout' });
      const resize = conn.openStream({ streamtype: 'resize' });
      resize.write('{"Width":77,"Height":21}\n');
      // Ask until the resize has reached the terminal (it travels apart from stdin).
      const tick = setInterval(() => stdin.write('echo "rows=$(stty size)"\n'), 150);
      const seen = await waitForOutput(stdout, /rows=21 77\r\n/, 8000).finally(() => clearInterval(tick));
      expect(seen).toMatch(/rows=21 77\r\n/);
      conn.destroy();
    });
  });

  describe('port forward over SPDY (our codec)', () => {
    it('forwards several concurrent connections, to port 80 and to a port bound to the pod loopback only', async () => {
      const { url } = await p.call('PortForward', { pod_sandbox_id: p.sandboxId, port: [80, 8081] });
      const up = await spdyUpgrade(url, ['portforward.k8s.io']);
      if (!up.upgraded) throw new Error(up.body);
      expect(up.protocol).toBe('portforward.k8s.io');
      const runs = Array.from({ length: 6 }, (_, i) => spdyForward(up.conn, i % 2 ? 8081 : 80, i, HTTP_GET, i === 0));
      const results = await Promise.all(runs);
      for (const r of results) {
        expect(r.error).toBe('');
        expect(r.data.toString()).toMatch(/^HTTP\/1\.[01] 200 OK\r\n[\s\S]*\r\n\r\npod-says-hello\n$/);
      }
      up.conn.destroy();
    });

    it('puts a connect failure on the error stream', async () => {
      const { url } = await p.call('PortForward', { pod_sandbox_id: p.sandboxId, port: [81] });
      const up = await spdyUpgrade(url, ['portforward.k8s.io']);
      if (!up.upgraded) throw new Error(up.body);
      const r = await spdyForward(up.conn, 81, 0, HTTP_GET);
      expect(r.data.length).toBe(0);
      expect(r.error).toMatch(new RegExp(`^error forwarding port 81 to pod ${p.sandboxId}, uid : .*Connection refused`));
      up.conn.destroy();
    });
  });

  describe('tokens', () => {
    it('unknown and reused tokens get 404, a URL of another kind too', async () => {
      const url = await exec(['true'], { stdout: true });
      const first = await spdyExec(url);
      expect(first.status).toEqual({ metadata: {}, status: 'Success' });
      const again = await spdyUpgrade(url);
      expect(again).toMatchObject({ upgraded: false, status: 404 });
      const unknown = await spdyUpgrade(url.replace(/\/exec\/.*/, '/exec/AAAAAAAAAAAAAAAAAAAAAA'));
      expect(unknown).toMatchObject({ upgraded: false, status: 404 });
      const other = await exec(['true'], { stdout: true });
      expect(await spdyUpgrade(other.replace('/exec/', '/attach/'))).toMatchObject({ upgraded: false, status: 404 });
      // The mismatched try used the token up.
      expect(await spdyUpgrade(other)).toMatchObject({ upgraded: false, status: 404 });
    });
  });

  describe('WebSocket (ws client)', () => {
    it('v5: echoes 10 MiB, half-closes stdin with the close signal, keeps stderr apart, reports exit codes', async () => {
      const input = randomBytes(10 * MiB);
      const url = await exec(['sh', '-c', 'cat; echo done >&2; exit 7'], { stdin: true, stdout: true, stderr: true });
      const s = await wsSession(url, ['v5.channel.k8s.io']);
      expect(s.protocol).toBe('v5.channel.k8s.io');
      for (let at = 0; at < input.length; at += 256 * 1024) await s.send(0, input.subarray(at, at + 256 * 1024));
      await s.closeChannel(0);
      expect(await s.closed).toBe(1000);
      expect(s.messages[0]).toEqual({ channel: 1, length: 0 });
      const out = Buffer.concat(s.channels.get(1) ?? []);
      expect(sha(out)).toBe(sha(input));
      expect(s.text(2)).toBe('done\n');
      expect(JSON.parse(s.text(3))).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ message: '7' }] } });
    });

    it('v4: TTY with resize on channel 4, Success on channel 3', async () => {
      const script = 'i=0; while [ $i -lt 50 ]; do s=$(stty size); [ "$s" = "40 120" ] && break; sleep 0.1; i=$((i+1)); done; echo "size=$s"';
      const url = await exec(['sh', '-c', script], { stdin: true, stdout: true, tty: true });
      const s = await wsSession(url, ['v4.channel.k8s.io']);
      await s.send(4, '{"Width":120,"Height":40}');
      await s.closed;
      expect(s.text(1)).toContain('size=40 120\r\n');
      expect(JSON.parse(s.text(3))).toEqual({ metadata: {}, status: 'Success' });
    });

    it('attach over v5: stdin in, stdout out; closing the session leaves the container running', async () => {
      const { url } = await p.call('Attach', { container_id: p.catter, stdin: true, stdout: true });
      const s = await wsSession(url, ['v5.channel.k8s.io']);
      await s.send(0, 'over-websocket\n');
      for (let i = 0; i < 50 && !s.text(1).includes('over-websocket\n'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(s.text(1)).toContain('over-websocket\n');
      s.ws.close();
      await s.closed;
      const st = await p.call('ContainerStatus', { container_id: p.catter });
      expect(st.status.state).toBe('CONTAINER_RUNNING');
    });

    it('refuses unsupported subprotocols with 403 and unknown tokens with 404', async () => {
      const url = await exec(['true'], { stdout: true });
      expect(await wsConnect(url, ['v3.base64.channel.k8s.io'])).toMatchObject({ opened: false, status: 403 });
      expect(await wsConnect(url, ['v5.channel.k8s.io'])).toMatchObject({ opened: false, status: 404 });
    });

    it('port forward, channel form: port prefix on both channels, then the pod reply', async () => {
      const { url } = await p.call('PortForward', { pod_sandbox_id: p.sandboxId, port: [8081, 81] });
      const s = await wsSession(url, ['v4.channel.k8s.io']);
      await s.send(0, HTTP_GET);
      expect(await s.closed).toBe(1000);
      const port = (ch: number) => s.channels.get(ch)![0]!.readUInt16LE(0);
      expect([port(0), port(1), port(2), port(3)]).toEqual([8081, 8081, 81, 81]);
      expect(Buffer.concat(s.channels.get(0)!.slice(1)).toString()).toMatch(/\r\n\r\npod-says-hello\n$/);
      expect(Buffer.concat(s.channels.get(3)!.slice(1)).toString()).toMatch(/^error forwarding port 81 .*Connection refused/);
    });

    it('port forward, SPDY tunnelled in WebSocket messages (kubectl ≥ 1.30)', async () => {
      const { url } = await p.call('PortForward', { pod_sandbox_id: p.sandboxId, port: [80] });
      const tunnel = await rawWebSocket(url, 'SPDY/3.1+portforward.k8s.io');
      expect(tunnel.protocol).toBe('SPDY/3.1+portforward.k8s.io');
      const conn = new SpdyConnection(tunnel.stream, { role: 'client' });
      const [a, b] = await Promise.all([spdyForward(conn, 80, 0, HTTP_GET), spdyForward(conn, 8081, 1, HTTP_GET)]);
      for (const r of [a, b]) expect(r.data.toString()).toMatch(/\r\n\r\npod-says-hello\n$/);
      conn.destroy();
    });
  });

  it('a plain HTTP request to a valid URL gets 400, never a hang', async () => {
    const url = await exec(['true'], { stdout: true });
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('unable to upgrade');
  });
});
