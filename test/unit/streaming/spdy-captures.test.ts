/**
 * Our SPDY reader and header decompressor against every byte crictl 1.32 and the
 * reference streaming server wrote (test/fixtures/cri-wire/streaming/).
 */
import { describe, expect, it } from 'vitest';
import { captureDirs, decodeCapture, type DecodedFrame } from '../../helpers/streaming-captures.js';

const SPDY_DIRS = captureDirs().filter((d) => d !== 'websocket-exec');

function summary(frames: DecodedFrame[]): string[] {
  return frames.map((f) => {
    if (f.kind === 'data') return `DATA ${f.streamId}${f.fin ? ' FIN' : ''} ${f.data.length}`;
    if ('headers' in f && f.headers) return `${f.type} ${'streamId' in f ? f.streamId : ''} ${JSON.stringify(f.headers)}`;
    return `${f.type} ${JSON.stringify({ ...f, kind: undefined, type: undefined })}`;
  });
}

describe('SPDY/3 codec on the captured sessions', () => {
  it('finds the four SPDY captures and the WebSocket one', () => {
    expect(SPDY_DIRS).toEqual(['exec-nontty', 'exec-stdin', 'exec-tty', 'portforward']);
    expect(captureDirs()).toContain('websocket-exec');
  });

  for (const dir of SPDY_DIRS) {
    for (const file of ['client.bin', 'server.bin'] as const) {
      it(`${dir}/${file}: every frame decodes, headers through the shared zlib context`, async () => {
        const whole = await decodeCapture(dir, file);
        expect(whole.frames.length).toBeGreaterThan(2);
        const controls = whole.frames.filter((f) => f.kind === 'control');
        expect(controls.every((f) => f.type !== 'UNKNOWN')).toBe(true);
        // Byte-by-byte feeding must give the same frames: the reader keeps partial frames.
        const byteWise = await decodeCapture(dir, file, 1);
        expect(summary(byteWise.frames)).toEqual(summary(whole.frames));
        expect(byteWise.trailing).toBe(whole.trailing);
        if (file === 'client.bin') {
          expect(whole.head).toMatch(/^POST \/(exec|portforward)\/\S+ HTTP\/1\.1\r\n/);
          const syns = whole.frames.filter((f) => f.kind === 'control' && f.type === 'SYN_STREAM');
          expect(syns.length).toBeGreaterThan(2);
          for (const s of syns) expect((s as { headers: Record<string, string> }).headers.streamtype).toMatch(/^(error|stdin|stdout|stderr|resize|data)$/);
        } else {
          expect(whole.head).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
          const replies = whole.frames.filter((f) => f.kind === 'control' && f.type === 'SYN_REPLY');
          expect(replies.length).toBeGreaterThan(1);
          for (const r of replies) expect((r as { headers: object }).headers).toEqual({});
        }
      });
    }
  }

  it('exec-nontty: stream types, output and the NonZeroExitCode status', async () => {
    const client = await decodeCapture('exec-nontty', 'client.bin');
    expect(client.frames.map((f) => (f.kind === 'control' && f.type === 'SYN_STREAM' ? [f.streamId, f.headers?.streamtype] : null)).filter(Boolean)).toEqual([
      [1, 'error'],
      [3, 'stdout'],
      [5, 'stderr'],
    ]);
    const server = await decodeCapture('exec-nontty', 'server.bin');
    const data = (id: number) => Buffer.concat(server.frames.flatMap((f) => (f.kind === 'data' && f.streamId === id ? [f.data] : []))).toString();
    expect(data(3)).toBe('out-line\n');
    expect(data(5)).toBe('err-line\n');
    const status = JSON.parse(data(1));
    expect(status).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
    expect(server.head).toContain('X-Stream-Protocol-Version: v4.channel.k8s.io');
  });

  it('exec-stdin: the client half-closes stdin; a capture may end in the middle of a frame', async () => {
    const client = await decodeCapture('exec-stdin', 'client.bin');
    const stdin = client.frames.filter((f) => f.kind === 'data' && f.streamId === 3) as Array<Extract<DecodedFrame, { kind: 'data' }>>;
    expect(Buffer.concat(stdin.map((f) => f.data)).toString()).toBe('hello-from-stdin\n');
    expect(stdin.at(-1)?.fin).toBe(true);
    expect(client.trailing).toBe(4);
  });

  it('exec-tty: a resize stream carrying Go-encoded JSON', async () => {
    const client = await decodeCapture('exec-tty', 'client.bin');
    const resize = client.frames.find((f) => f.kind === 'data' && f.streamId === 7) as Extract<DecodedFrame, { kind: 'data' }>;
    expect(JSON.parse(resize.data.toString())).toEqual({ Width: 0, Height: 0 });
  });

  it('portforward: data/error pairs with port and requestid headers, then GOAWAY', async () => {
    const client = await decodeCapture('portforward', 'client.bin');
    const syns = client.frames.filter((f) => f.kind === 'control' && f.type === 'SYN_STREAM').map((f) => (f as { headers: object }).headers);
    expect(syns).toEqual([
      { streamtype: 'error', port: '80', requestid: '0' },
      { streamtype: 'data', port: '80', requestid: '0' },
      { streamtype: 'error', port: '80', requestid: '1' },
      { streamtype: 'data', port: '80', requestid: '1' },
    ]);
    expect(client.frames.at(-1)).toMatchObject({ kind: 'control', type: 'GOAWAY', lastGoodStreamId: 0 });
  });
});
