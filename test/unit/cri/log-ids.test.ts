/**
 * The per-RPC log line: ids of any length arrive, and an over-long one is shortened
 * with a marker, through the same wrapper every RPC goes through.
 */
import type { handleUnaryCall } from '@grpc/grpc-js';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { wrapUnary } from '../../../src/cri/instrument.js';
import { boundedLogValue, MAX_LOGGED_ID_CHARS } from '../../../src/cri/log-ids.js';
import { InvalidArgumentError } from '../../../src/errors.js';

const HUGE = 'f'.repeat(100_000);
const REAL_ID = 'a'.repeat(64);

/** Runs one unary call through wrapUnary and returns the log lines it wrote. */
async function logLinesOf(request: object, handler: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const wrapped = wrapUnary('RuntimeService/ContainerStatus', handler, logger) as handleUnaryCall<any, any>;
  const call = { request, on: () => undefined, getDeadline: () => Infinity };
  await new Promise<void>((resolve) => wrapped(call as any, () => resolve()));
  return lines;
}

describe('ids on the per-RPC log line', () => {
  it('keeps ids up to the bound whole', () => {
    expect(boundedLogValue(REAL_ID)).toBe(REAL_ID);
    const atBound = 'x'.repeat(MAX_LOGGED_ID_CHARS);
    expect(boundedLogValue(atBound)).toBe(atBound);
  });

  it('shortens a longer one to its start and a marker with its length', () => {
    expect(boundedLogValue('x'.repeat(MAX_LOGGED_ID_CHARS + 1))).toBe(`${'x'.repeat(64)}…[${MAX_LOGGED_ID_CHARS + 1} chars]`);
  });

  it('a refused 100,000-character id is logged shortened, on every id field', async () => {
    const request = { container_id: HUGE, pod_sandbox_id: HUGE, config: { metadata: { name: HUGE, namespace: 'ns' } }, image: { image: HUGE } };
    const lines = await logLinesOf(request, async () => {
      throw new InvalidArgumentError('container_id is too long');
    });
    expect(lines).toHaveLength(1);
    const line = lines[0];
    expect(line).toMatchObject({ msg: 'failed', code: 'INVALID_ARGUMENT', rpc: 'RuntimeService/ContainerStatus' });
    const short = `${'f'.repeat(64)}…[100000 chars]`;
    expect(line).toMatchObject({ container_id: short, pod_sandbox_id: short, image: short, name: `ns/${'f'.repeat(61)}…[100003 chars]` });
    expect(JSON.stringify(line).length).toBeLessThan(1000);
  });

  it('a real id is logged whole', async () => {
    const lines = await logLinesOf({ container_id: REAL_ID }, async () => ({}));
    expect(lines[0]).toMatchObject({ msg: 'ok', container_id: REAL_ID });
  });
});
