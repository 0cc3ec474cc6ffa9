/**
 * Ground truth: every captured crictl session (test/fixtures/cri-wire/streaming/) replayed
 * against our streaming server with a real container must yield what the reference
 * server (containerd 1.6) answered: the same streams replied, finished and reset, the
 * same output bytes and the same status JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCapture, readCapture, summarize, type DecodedFrame } from '../../helpers/streaming-captures.js';
import { replay } from '../../helpers/streaming-replay.js';
import { startStreamingPod, type StreamingPod } from '../../helpers/streaming-pod.js';

/** Headers of busybox httpd that depend on the clock. */
const normalizeHttp = (data: string) =>
  data.replace(/^(Date|Last-Modified): .*$/gm, '$1: <time>').replace(/^ETag: .*$/gm, 'ETag: <etag>');

describe('replaying the captured crictl sessions', () => {
  let p: StreamingPod;
  beforeAll(async () => {
    p = await startStreamingPod(5);
  });
  afterAll(async () => {
    await p?.cleanup();
  });

  async function check(dir: string, url: string, options: { doneWhen?: (f: DecodedFrame[]) => boolean; normalize?: (d: string) => string } = {}) {
    const ours = await replay(readCapture(dir, 'client.bin'), url, { doneWhen: options.doneWhen });
    const reference = await decodeCapture(dir, 'server.bin');
    // A modern kubelet (and we) take the client's first choice, v5; containerd 1.6 knew only up to v4.
    const expectedHead = reference.head.replace('X-Stream-Protocol-Version: v4.channel.k8s.io', 'X-Stream-Protocol-Version: v5.channel.k8s.io');
    expect(ours.head).toBe(expectedHead);
    expect(summarize(ours.frames, options.normalize)).toEqual(summarize(reference.frames, options.normalize));
    return ours;
  }

  it('exec-nontty: stdout, stderr, and exit code 3 as a NonZeroExitCode Status', async () => {
    const { url } = await p.call('Exec', {
      container_id: p.web,
      cmd: ['sh', '-c', 'echo out-line; echo err-line >&2; exit 3'],
      stdout: true,
      stderr: true,
    });
    const ours = await check('exec-nontty', url);
    const status = ours.frames.find((f) => f.kind === 'data' && f.streamId === 1) as Extract<DecodedFrame, { kind: 'data' }>;
    expect(JSON.parse(status.data.toString()).details.causes[0]).toEqual({ reason: 'ExitCode', message: '3' });
  });

  it('exec-stdin: stdin half-closed by the client is echoed by cat, then Success', async () => {
    const { url } = await p.call('Exec', { container_id: p.web, cmd: ['cat'], stdin: true, stdout: true, stderr: true });
    await check('exec-stdin', url);
  });

  it('exec-tty: TTY output (echoed NUL, CRLF), resize stream of 0x0 ignored, Success', async () => {
    const { url } = await p.call('Exec', {
      container_id: p.web,
      cmd: ['sh', '-c', 'stty size; echo tty-done'],
      stdin: true,
      stdout: true,
      tty: true,
    });
    // The kernel echoes the NUL crictl typed ahead whenever Docker's shim gets it to the
    // pty: before, after or (process gone) never relative to the command's output —
    // a race of the runtime, not of the protocol. Compare the rest exactly.
    const ours = await check('exec-tty', url, { normalize: (d) => d.replace('^@', '') });
    const out = ours.frames.flatMap((f) => (f.kind === 'data' && f.streamId === 5 ? [f.data.toString('latin1')] : [])).join('');
    expect(out.split('^@').length).toBeLessThanOrEqual(2);
  });

  it('portforward: two HTTP requests through data/error pairs reach the pod on port 80', async () => {
    const { url } = await p.call('PortForward', { pod_sandbox_id: p.sandboxId, port: [80] });
    const allFinished = (frames: DecodedFrame[]) => [1, 3, 5, 7].every((id) => frames.some((f) => f.kind === 'data' && f.fin && f.streamId === id));
    const ours = await check('portforward', url, { doneWhen: allFinished, normalize: normalizeHttp });
    const body = ours.frames.filter((f) => f.kind === 'data' && f.streamId === 7).map((f) => (f as { data: Buffer }).data.toString()).join('');
    expect(body).toMatch(/\r\n\r\npod-says-hello\n$/);
  });
});
