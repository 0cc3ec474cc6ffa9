import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpuRateTracker, nanoCores } from '../../../src/runtime/stats/cpu-rate.js';
import { networkStats, parseNetDev } from '../../../src/runtime/stats/net-dev.js';

const S = 1_000_000_000n;
const T0 = 1_750_000_000n * S; // a Unix-ns timestamp past 2^53

describe('usage_nano_cores', () => {
  it.each([
    // [Δusage ns, Δwall ns, nanocores]
    [S / 2n, S, 500_000_000n], // half a core
    [3n * S, 2n * S, 1_500_000_000n], // one and a half cores
    [0n, 10n * S, 0n], // idle
    [S, 0n, null], // no time passed
    [-1n, S, null], // counter went back: a new cgroup
  ])('Δusage %s over %s ns → %s', (du, dt, want) => {
    expect(nanoCores({ usageNs: 10n * S, timestampNs: T0 }, { usageNs: 10n * S + du, timestampNs: T0 + dt })).toBe(want);
  });

  it('keeps the previous sample per key and answers null for the first', () => {
    const t = new CpuRateTracker(S / 2n);
    expect(t.observe('c:a', { usageNs: 0n, timestampNs: T0 })).toBeNull();
    expect(t.observe('c:b', { usageNs: 5n * S, timestampNs: T0 })).toBeNull();
    expect(t.observe('c:a', { usageNs: S / 4n, timestampNs: T0 + S })).toBe(250_000_000n);
    expect(t.observe('c:b', { usageNs: 7n * S, timestampNs: T0 + S })).toBe(2_000_000_000n);
  });

  it('answers the last rate for a call inside the minimum window, without moving the window', () => {
    const t = new CpuRateTracker(S / 2n);
    t.observe('k', { usageNs: 0n, timestampNs: T0 });
    expect(t.observe('k', { usageNs: S, timestampNs: T0 + S })).toBe(S);
    // 10 ms later: too short to measure; the last rate stands
    expect(t.observe('k', { usageNs: S + 9_000_000n, timestampNs: T0 + S + 10_000_000n })).toBe(S);
    // the next window still starts at T0 + 1 s
    expect(t.observe('k', { usageNs: S + S / 2n, timestampNs: T0 + 2n * S })).toBe(S / 2n);
  });

  it('starts over when the counter goes back, and forgets keys that are gone', () => {
    const t = new CpuRateTracker(0n);
    t.observe('k', { usageNs: 5n * S, timestampNs: T0 });
    expect(t.observe('k', { usageNs: S, timestampNs: T0 + S })).toBeNull();
    expect(t.observe('k', { usageNs: 2n * S, timestampNs: T0 + 2n * S })).toBe(S);
    t.observe('other', { usageNs: 0n, timestampNs: T0 });
    t.retain(new Set(['k']));
    expect(t.size).toBe(1);
  });
});

describe('/proc/<pid>/net/dev', () => {
  const text = readFileSync(join(import.meta.dirname, 'fixtures/proc/net-dev'), 'utf8');

  it('reads receive and transmit counters, past 2^32, with or without a space after the colon', () => {
    const all = parseNetDev(text);
    expect(all.map((i) => i.name)).toEqual(['lo', 'eth0', 'net1']);
    expect(all[1]).toEqual({
      name: 'eth0',
      rxBytes: 1523011n,
      rxPackets: 1021n,
      rxErrors: 2n,
      rxDropped: 1n,
      txBytes: 98765432101n,
      txPackets: 70321n,
      txErrors: 3n,
      txDropped: 4n,
    });
    expect(all[2]).toMatchObject({ name: 'net1', rxBytes: 100n, txBytes: 200n, txPackets: 2n });
  });

  it('splits the CNI interface from the others and leaves loopback out', () => {
    const n = networkStats(parseNetDev(text), 'eth0', T0);
    expect(n.defaultInterface?.name).toBe('eth0');
    expect(n.interfaces.map((i) => i.name)).toEqual(['net1']);
    expect(n.timestampNs).toBe(T0);
    const none = networkStats(parseNetDev(text), 'eth9', T0);
    expect(none.defaultInterface).toBeNull();
    expect(none.interfaces.map((i) => i.name)).toEqual(['eth0', 'net1']);
  });
});
