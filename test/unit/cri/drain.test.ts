import type { ServiceDefinition } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { CallDrain } from '../../../src/cri/drain.js';
import { silentLogger } from '../../../src/logger.js';

const service = {
  Slow: { responseStream: false },
  Events: { responseStream: true },
} as unknown as ServiceDefinition;
const ctx = { logger: silentLogger, signal: new AbortController().signal };

describe('CallDrain', () => {
  it('waits for the unary call in flight, refuses new ones with UNAVAILABLE, and leaves streams alone', async () => {
    const drain = new CallDrain();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const events = async () => undefined;
    const h = drain.wrap(service, { Slow: async () => (await gate, 'done'), Events: events });
    expect(h.Events).toBe(events);
    const inFlight = (h.Slow as any)({}, ctx);
    let drained = false;
    const draining = drain.drain(60_000).then((left) => ((drained = true), left));
    await expect((h.Slow as any)({}, ctx)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await new Promise((r) => setTimeout(r, 20));
    expect(drained).toBe(false);
    release();
    await expect(inFlight).resolves.toBe('done');
    await expect(draining).resolves.toBe(0);
  });

  it('gives up after the grace period and says how many calls were left', async () => {
    const drain = new CallDrain();
    const h = drain.wrap(service, { Slow: () => new Promise(() => undefined) });
    void (h.Slow as any)({}, ctx);
    await expect(drain.drain(30)).resolves.toBe(1);
  });
});
