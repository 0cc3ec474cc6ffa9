/**
 * The pure parts of ExecSync and UpdateContainerResources (kept here with the other
 * container-depth unit tests): the CRI → update conversion, Docker's update body, the
 * merged record, and the process-tree walk used to kill a timed-out exec.
 */
import { describe, expect, it } from 'vitest';
import { fitExecOutput, resourcesUpdateFromCri } from '../../../src/cri/exec-handlers.js';
import { descendantsOf } from '../../../src/runtime/exec-sync.js';
import { dockerUpdateBody, mergeResources, type ResourcesUpdate } from '../../../src/runtime/update-resources.js';

const NONE: ResourcesUpdate = { cpuPeriod: 0, cpuQuota: 0, cpuShares: 0, memoryLimitBytes: 0, memorySwapLimitBytes: 0, cpusetCpus: '', cpusetMems: '' };

function criResources(fields: Record<string, string>) {
  return {
    cpu_period: '0',
    cpu_quota: '0',
    cpu_shares: '0',
    memory_limit_in_bytes: '0',
    oom_score_adj: '0',
    cpuset_cpus: '',
    cpuset_mems: '',
    hugepage_limits: [],
    unified: {},
    memory_swap_limit_in_bytes: '0',
    ...fields,
  };
}

describe('resourcesUpdateFromCri', () => {
  it('reads what crictl update sends (quota, shares, memory) and leaves the rest unset', () => {
    expect(resourcesUpdateFromCri(criResources({ cpu_quota: '20000', cpu_shares: '256', memory_limit_in_bytes: '67108864' }))).toEqual({
      ...NONE,
      cpuQuota: 20000,
      cpuShares: 256,
      memoryLimitBytes: 67108864,
    });
  });

  it('treats a missing linux message as "change nothing"', () => {
    expect(resourcesUpdateFromCri(null)).toEqual(NONE);
  });

  it.each([
    [{ cpu_period: '999' }, 'linux.cpu_period'],
    [{ cpu_period: '1000001' }, 'linux.cpu_period'],
    [{ cpu_quota: '-2' }, 'linux.cpu_quota'],
    [{ cpu_quota: '500' }, 'linux.cpu_quota'],
    [{ cpu_shares: '-1' }, 'linux.cpu_shares'],
    [{ memory_limit_in_bytes: '1024' }, 'linux.memory_limit_in_bytes'],
    [{ memory_limit_in_bytes: '67108864', memory_swap_limit_in_bytes: '1048576' }, 'linux.memory_swap_limit_in_bytes'],
    [{ memory_limit_in_bytes: '99999999999999999999' }, 'linux.memory_limit_in_bytes'],
  ])('refuses %j naming %s', (fields, field) => {
    expect(() => resourcesUpdateFromCri(criResources(fields))).toThrow(field);
  });

  it('accepts -1 as unlimited swap (what kubelet 1.28-1.29 send for UnlimitedSwap), refuses -2', () => {
    expect(resourcesUpdateFromCri(criResources({ memory_limit_in_bytes: '67108864', memory_swap_limit_in_bytes: '-1' })).memorySwapLimitBytes).toBe(-1);
    expect(() => resourcesUpdateFromCri(criResources({ memory_swap_limit_in_bytes: '-2' }))).toThrow('linux.memory_swap_limit_in_bytes');
  });

  it('accepts -1 as "no CPU quota"', () => {
    expect(resourcesUpdateFromCri(criResources({ cpu_quota: '-1' })).cpuQuota).toBe(-1);
  });
});

describe('dockerUpdateBody', () => {
  it.each<[string, Partial<ResourcesUpdate>, Record<string, unknown>]>([
    ['nothing', {}, {}],
    ['cpu', { cpuShares: 256, cpuQuota: 20000, cpuPeriod: 50000 }, { CpuShares: 256, CpuQuota: 20000, CpuPeriod: 50000 }],
    ['cpuset', { cpusetCpus: '0', cpusetMems: '0' }, { CpusetCpus: '0', CpusetMems: '0' }],
    ['memory without swap: swap limit = memory', { memoryLimitBytes: 64 << 20 }, { Memory: 64 << 20, MemorySwap: 64 << 20 }],
    ['memory with swap', { memoryLimitBytes: 64 << 20, memorySwapLimitBytes: 128 << 20 }, { Memory: 64 << 20, MemorySwap: 128 << 20 }],
    ['memory with unlimited swap', { memoryLimitBytes: 64 << 20, memorySwapLimitBytes: -1 }, { Memory: 64 << 20, MemorySwap: -1 }],
    ['swap alone', { memorySwapLimitBytes: 128 << 20 }, { MemorySwap: 128 << 20 }],
    ['unlimited swap alone', { memorySwapLimitBytes: -1 }, { MemorySwap: -1 }],
  ])('%s', (_name, update, body) => {
    expect(dockerUpdateBody({ ...NONE, ...update })).toEqual(body);
  });
});

describe('mergeResources', () => {
  const current = { cpuPeriod: 100000, cpuQuota: 50000, cpuShares: 512, memoryLimitBytes: 32 << 20, cpusetCpus: '0-1', cpusetMems: '0', oomScoreAdj: 999 };
  it('replaces the fields set, keeps the others (oom_score_adj included)', () => {
    expect(mergeResources(current, { ...NONE, cpuShares: 256, memoryLimitBytes: 64 << 20, cpusetCpus: '0' })).toEqual({
      ...current,
      cpuShares: 256,
      memoryLimitBytes: 64 << 20,
      cpusetCpus: '0',
    });
  });
  it('starts from nothing for a container created without resources', () => {
    expect(mergeResources(null, { ...NONE, cpuQuota: -1 })).toMatchObject({ cpuQuota: -1, cpuShares: 0, memoryLimitBytes: 0 });
  });
});

describe('descendantsOf', () => {
  it('walks children, grandchildren and finds the leaves', () => {
    const procs = new Map(
      [
        [1, 0],
        [10, 1], // the exec'd shell
        [11, 10],
        [12, 10],
        [13, 12],
        [20, 1], // unrelated
        [21, 20],
      ].map(([pid, ppid]) => [pid!, { ppid: ppid! }]),
    );
    const { pids, leaves } = descendantsOf(10, procs);
    expect(pids.sort()).toEqual([11, 12, 13]);
    expect(leaves.sort()).toEqual([11, 13]);
    expect(descendantsOf(13, procs)).toEqual({ pids: [], leaves: [] });
  });
});

describe('fitExecOutput', () => {
  const b = (n: number) => Buffer.alloc(n, 'a');
  it.each([
    [10, 5, 100, 10, 5],
    [100, 5, 100, 100, 0],
    [150, 5, 100, 100, 0],
    [60, 60, 100, 60, 40],
    [0, 150, 100, 0, 100],
  ])('stdout %i + stderr %i within %i → %i + %i', (o, e, limit, wantO, wantE) => {
    const r = fitExecOutput(b(o), b(e), limit);
    expect([r.stdout.length, r.stderr.length]).toEqual([wantO, wantE]);
  });
});
