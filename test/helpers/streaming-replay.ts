/**
 * Replays a captured client.bin at a streaming URL of ours over plain TCP and records
 * what the server writes back. The bytes go out as captured, with two liberties the
 * README allows or causality demands: the request path becomes our URL's, and a
 * teardown frame (RST_STREAM, GOAWAY) waits until the server has finished the
 * stream(s) it concerns — the real client only sent it after seeing that.
 */
import { connect, type Socket } from 'node:net';
import { FrameDecoder, splitHead, splitRawFrames, type DecodedFrame } from './streaming-captures.js';

export interface ReplayResult {
  head: string;
  frames: DecodedFrame[];
}

export interface ReplayOptions {
  /** Stop (close our side) once this holds; default: wait for the server to close. */
  doneWhen?: (frames: DecodedFrame[]) => boolean;
  timeoutMs?: number;
}

export async function replay(clientBin: Buffer, url: string, options: ReplayOptions = {}): Promise<ReplayResult> {
  const target = new URL(url);
  const { head, rest } = splitHead(clientBin);
  const request = head.replace(/^(POST|GET) \S+ /, `$1 ${target.pathname} `);
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect(Number(target.port), target.hostname, () => resolve(s));
    s.once('error', reject);
  });
  const decoder = new FrameDecoder();
  let serverHead: string | null = null;
  let pending = Buffer.alloc(0);
  let chain = Promise.resolve();
  const waiters: Array<() => void> = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  let closed = false;

  socket.on('data', (chunk: Buffer) => {
    chain = chain.then(async () => {
      if (serverHead === null) {
        pending = Buffer.concat([pending, chunk]);
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        serverHead = pending.subarray(0, end + 4).toString('latin1');
        chunk = pending.subarray(end + 4);
      }
      await decoder.push(chunk);
      wake();
    });
  });
  socket.on('close', () => {
    closed = true;
    void chain.then(wake);
  });
  socket.on('error', () => undefined);

  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  const until = async (what: () => boolean) => {
    while (!what() && !closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50).unref();
      });
    }
  };
  const finishedByServer = (id: number) => decoder.frames.some((f) => (f.kind === 'data' && f.fin && f.streamId === id) || (f.kind === 'control' && f.type === 'RST_STREAM' && f.streamId === id));
  const replied = () => decoder.frames.flatMap((f) => (f.kind === 'control' && f.type === 'SYN_REPLY' ? [f.streamId] : []));

  socket.write(request);
  for (const frame of splitRawFrames(rest)) {
    if (frame.type === 'rst') await until(() => finishedByServer(frame.streamId));
    if (frame.type === 'goaway') await until(() => replied().length > 0 && replied().every(finishedByServer));
    if (closed) break;
    socket.write(frame.bytes);
  }
  if (options.doneWhen) await until(() => options.doneWhen!(decoder.frames));
  else await until(() => false);
  socket.destroy();
  await chain;
  decoder.close();
  return { head: serverHead ?? '', frames: decoder.frames };
}
