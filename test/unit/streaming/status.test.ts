import { describe, expect, it } from 'vitest';
import { errorStreamPayload, goJson, statusJson, type Outcome } from '../../../src/streaming/status.js';
import { decodeCapture } from '../../helpers/streaming-captures.js';

describe('metav1.Status on the error stream', () => {
  it('is byte for byte what the reference server wrote for exit code 3', async () => {
    const server = await decodeCapture('exec-nontty', 'server.bin');
    const reference = Buffer.concat(server.frames.flatMap((f) => (f.kind === 'data' && f.streamId === 1 ? [f.data] : []))).toString();
    const ours = statusJson({ kind: 'exit', code: 3, command: ['sh', '-c', 'echo out-line; echo err-line >&2; exit 3'] });
    expect(ours).toBe(reference);
  });

  it('is byte for byte the reference Success', async () => {
    const server = await decodeCapture('exec-stdin', 'server.bin');
    const reference = Buffer.concat(server.frames.flatMap((f) => (f.kind === 'data' && f.streamId === 1 ? [f.data] : []))).toString();
    expect(statusJson({ kind: 'success' })).toBe(reference);
  });

  it('escapes as Go does', () => {
    expect(goJson({ s: '<a href="x">&</a>\u2028\n' })).toBe('{"s":"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e\\u2028\\n"}');
  });

  it('internal errors as apierrors.NewInternalError', () => {
    expect(JSON.parse(statusJson({ kind: 'error', message: 'boom' }))).toEqual({
      metadata: {},
      status: 'Failure',
      message: 'Internal error occurred: boom',
      reason: 'InternalError',
      details: { causes: [{ message: 'boom' }] },
      code: 500,
    });
  });

  it.each([
    [1, { kind: 'success' } as const, null],
    [3, { kind: 'success' } as const, null],
    [2, { kind: 'exit', code: 2, command: ['false'] } satisfies Outcome, 'command terminated with non-zero exit code: error executing command [false], exit code 2'],
    [4, { kind: 'success' } as const, '{"metadata":{},"status":"Success"}'],
    [5, { kind: 'success' } as const, '{"metadata":{},"status":"Success"}'],
  ])('protocol v%i writes %j as %j', (version, outcome, expected) => {
    const payload = errorStreamPayload(outcome, version);
    expect(payload === null ? null : payload.toString()).toBe(expected);
  });
});
