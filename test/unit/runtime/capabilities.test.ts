import { describe, expect, it } from 'vitest';
import { GrantableCapabilities, capsFromMask, unknownCapabilityOf } from '../../../src/runtime/capabilities.js';

/** A kernel ≥ 5.9 with every capability up to CHECKPOINT_RESTORE (bit 40). */
const NEWER_KERNEL = capsFromMask((1n << 41n) - 1n);
/** What Docker 20.10's capability list ends with. */
const DOCKER_20_10_UNKNOWN = ['PERFMON', 'BPF', 'CHECKPOINT_RESTORE'];

/** dockerode's error for a 400 from the Engine, in Docker 20.10's own words. */
function unknownCapError(cap: string): Error {
  return Object.assign(new Error(`(HTTP code 400) unexpected - invalid CapAdd: unknown capability: "CAP_${cap}"`), {
    statusCode: 400,
    json: { message: `invalid CapAdd: unknown capability: "CAP_${cap}"` },
  });
}

/** A daemon that, like Docker 20.10, refuses the first capability it does not know, one per call. */
function fakeDaemon(unknown: string[]) {
  const calls: string[][] = [];
  const create = async (capAdd: string[]) => {
    calls.push(capAdd);
    const bad = capAdd.find((c) => unknown.includes(c));
    if (bad) throw unknownCapError(bad);
    return { id: 'c1' };
  };
  return { calls, create };
}

describe('GrantableCapabilities', () => {
  it('a newer kernel on Docker 20.10: learns the three unknown capabilities from the refusals, then asks for the rest', async () => {
    const caps = new GrantableCapabilities(() => NEWER_KERNEL);
    const daemon = fakeDaemon(DOCKER_20_10_UNKNOWN);
    const res = await caps.create((grantable) => grantable, daemon.create);
    expect(res).toEqual({ id: 'c1' });
    expect(daemon.calls).toHaveLength(4);
    const granted = daemon.calls.at(-1)!;
    expect(granted).toContain('SYS_ADMIN');
    expect(granted).toContain('AUDIT_READ');
    for (const c of DOCKER_20_10_UNKNOWN) expect(granted).not.toContain(c);
    expect(granted).toHaveLength(NEWER_KERNEL.length - 3);
    expect(caps.refusedByDaemon().sort()).toEqual([...DOCKER_20_10_UNKNOWN].sort());
  });

  it('learns once: the next privileged create goes through at the first try', async () => {
    const caps = new GrantableCapabilities(() => NEWER_KERNEL);
    await caps.create((g) => g, fakeDaemon(DOCKER_20_10_UNKNOWN).create);
    const second = fakeDaemon(DOCKER_20_10_UNKNOWN);
    await caps.create((g) => g, second.create);
    expect(second.calls).toHaveLength(1);
  });

  it('a daemon that knows every capability of the kernel is asked for all of them, once', async () => {
    const caps = new GrantableCapabilities(() => NEWER_KERNEL);
    const daemon = fakeDaemon([]);
    await caps.create((g) => g, daemon.create);
    expect(daemon.calls).toEqual([NEWER_KERNEL]);
  });

  it('never grants what the bounding set lacks (this VM has no SYS_RESOURCE)', () => {
    const caps = new GrantableCapabilities(() => NEWER_KERNEL.filter((c) => c !== 'SYS_RESOURCE'));
    expect(caps.list()).not.toContain('SYS_RESOURCE');
    expect(caps.list()).toContain('PERFMON');
  });

  it('a capability the caller named that is not the kernel\'s stays the caller\'s error', async () => {
    const caps = new GrantableCapabilities(() => ['CHOWN']);
    const daemon = fakeDaemon(['BOGUS']);
    await expect(caps.create(() => ['CHOWN', 'BOGUS'], daemon.create)).rejects.toThrow(/unknown capability: "CAP_BOGUS"/);
    expect(daemon.calls).toHaveLength(1);
    expect(caps.refusedByDaemon()).toEqual([]);
  });

  it('passes other failures through untouched', async () => {
    const caps = new GrantableCapabilities(() => NEWER_KERNEL);
    const boom = Object.assign(new Error('no such image'), { statusCode: 404, json: { message: 'No such image' } });
    await expect(caps.create((g) => g, async () => Promise.reject(boom))).rejects.toBe(boom);
    expect(caps.list()).toEqual(NEWER_KERNEL);
  });
});

describe('unknownCapabilityOf', () => {
  it.each([
    [unknownCapError('PERFMON'), 'PERFMON'],
    [Object.assign(new Error('x'), { statusCode: 400, json: { message: 'invalid CapAdd: unknown capability: "bpf"' } }), 'BPF'],
    [Object.assign(new Error('x'), { statusCode: 400, json: { message: 'invalid mount config' } }), null],
    [Object.assign(new Error('x'), { statusCode: 500, json: { message: 'unknown capability: "CAP_BPF"' } }), null],
    [new Error('connect ENOENT /var/run/docker.sock'), null],
  ])('%#', (err, cap) => {
    expect(unknownCapabilityOf(err)).toBe(cap);
  });
});
