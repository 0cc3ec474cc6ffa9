/**
 * The cgroup v1 and v2 readers on fixture trees (test/unit/stats/fixtures): files as
 * the kernel writes them, one tree per layout we must read.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countLines, parseKeyedCounters, parseSingleValue } from '../../../src/runtime/stats/cgroup-files.js';
import { readCgroupV1, V1_UNLIMITED } from '../../../src/runtime/stats/cgroup-v1.js';
import { readCgroupV2 } from '../../../src/runtime/stats/cgroup-v2.js';
import {
  isEmptySample,
  parentRef,
  parseMountinfo,
  parseProcCgroup,
  readCgroup,
  refForPath,
  refFromProcCgroup,
  sumSamples,
  type CgroupLayout,
} from '../../../src/runtime/stats/cgroups.js';

const F = join(import.meta.dirname, 'fixtures');
const ID = '0f3c9a1e5b7d';
const fixture = (p: string) => readFileSync(join(F, p), 'utf8');

describe('cgroup file parsing', () => {
  it('reads `key value` lines as bigints and skips anything else', () => {
    const m = parseKeyedCounters('usage_usec 18446744073709551615\nbogus line here\nnr_periods 3\n\n');
    expect(m.get('usage_usec')).toBe(18446744073709551615n);
    expect(m.get('nr_periods')).toBe(3n);
    expect(m.size).toBe(2);
  });

  it.each([
    ['12345\n', 12345n],
    ['max\n', null],
    ['9223372036854771712', 9223372036854771712n],
  ])('reads the single value %j', (text, want) => {
    expect(parseSingleValue(text)).toBe(want);
  });

  it('refuses a file that is not a counter', () => {
    expect(() => parseSingleValue('0-3\n')).toThrow(/not a counter/);
  });

  it('counts the pids of a cgroup.procs file', () => {
    expect(countLines('1\n22\n333\n')).toBe(3n);
    expect(countLines('')).toBe(0n);
  });
});

describe('cgroup v1 reader', () => {
  const dirs = (root: string) => ({
    cpuacct: join(F, root, 'cpuacct/docker', ID),
    cpu: join(F, root, 'cpu/docker', ID),
    memory: join(F, root, 'memory/docker', ID),
    pids: join(F, root, 'pids/docker', ID),
  });

  it('reads CPU, throttling, memory and pids of a container', async () => {
    const s = await readCgroupV1(dirs('v1'));
    expect(s.cpu).toEqual({
      usageNs: 100093873n,
      userNs: 52000000n,
      systemNs: 48000000n,
      periods: 120n,
      throttledPeriods: 7n,
      throttledNs: 350000000n,
    });
    expect(s.memory).toEqual({
      usage: 23461888n,
      // usage − total_inactive_file
      workingSet: 23461888n - 2162688n,
      rss: 20127744n,
      cache: 3244032n,
      mappedFile: 1081344n,
      inactiveFile: 2162688n,
      pgfault: 9685n,
      pgmajfault: 12n,
      limit: 67108864n,
      maxUsage: 31010048n,
      failcnt: 2n,
      swap: 4096n,
    });
    expect(s.pids).toEqual({ current: 3n });
  });

  it('falls back to cpuacct.stat ticks and cgroup.procs on an older kernel, and treats 2^63 as no limit', async () => {
    const s = await readCgroupV1(dirs('v1-old'));
    expect(s.cpu).toEqual({
      usageNs: 5000000000n,
      userNs: 320n * 10_000_000n,
      systemNs: 150n * 10_000_000n,
      periods: null,
      throttledPeriods: null,
      throttledNs: null,
    });
    expect(9223372036854771712n >= V1_UNLIMITED).toBe(true);
    expect(s.memory).toMatchObject({
      usage: 1048576n,
      // inactive file above usage: the working set floors at 0, never wraps.
      workingSet: 0n,
      // no total_* keys: the cgroup's own values
      rss: 524288n,
      pgfault: 50n,
      pgmajfault: 1n,
      limit: null,
      maxUsage: null,
      failcnt: null,
      swap: null,
    });
    expect(s.pids).toEqual({ current: 3n });
  });

  it('gives an empty sample for a cgroup that is gone', async () => {
    const s = await readCgroupV1(dirs('no-such-tree'));
    expect(isEmptySample(s)).toBe(true);
  });
});

describe('cgroup v2 reader', () => {
  it('reads cpu.stat (µs), memory.current/stat/max/events/peak and pids.current', async () => {
    const s = await readCgroupV2(join(F, 'v2/kubepods/besteffort/pod7c5f2a44', ID));
    expect(s.cpu).toEqual({
      usageNs: 2500123000n,
      userNs: 2000100000n,
      systemNs: 500023000n,
      periods: 40n,
      throttledPeriods: 3n,
      throttledNs: 120000000n,
    });
    expect(s.memory).toEqual({
      usage: 52428800n,
      workingSet: 52428800n - 8388608n,
      rss: 41943040n,
      cache: 10485760n,
      mappedFile: 2097152n,
      inactiveFile: 8388608n,
      pgfault: 12345n,
      pgmajfault: 67n,
      limit: 104857600n,
      maxUsage: 60000000n,
      failcnt: 5n,
      swap: 0n,
    });
    expect(s.pids).toEqual({ current: 4n });
  });

  it('reads "max" as no limit, and counts cgroup.procs without the pids controller', async () => {
    const s = await readCgroupV2(join(F, 'v2-min/system.slice', `docker-${ID}.scope`));
    expect(s.cpu).toEqual({ usageNs: 1000000n, userNs: 600000n, systemNs: 400000n, periods: null, throttledPeriods: null, throttledNs: null });
    expect(s.memory).toMatchObject({ usage: 4096n, workingSet: 4096n, rss: 4096n, limit: null, maxUsage: null, failcnt: null, swap: null });
    expect(s.pids).toEqual({ current: 1n });
  });

  it('gives an empty sample for a cgroup that is gone', async () => {
    expect(isEmptySample(await readCgroupV2(join(F, 'v2/nope')))).toBe(true);
  });
});

describe('cgroup layout and paths', () => {
  it('finds the v1 controllers on a hybrid host (the empty v2 tree is not used)', () => {
    const layout = parseMountinfo(fixture('proc/mountinfo-v1'));
    expect(layout?.version).toBe(1);
    const ref = refFromProcCgroup(layout!, parseProcCgroup(fixture('proc/cgroup-v1')));
    expect(ref).toEqual({
      path: `/docker/${ID}`,
      v1: {
        cpu: `/sys/fs/cgroup/cpu/docker/${ID}`,
        cpuacct: `/sys/fs/cgroup/cpuacct/docker/${ID}`,
        memory: `/sys/fs/cgroup/memory/docker/${ID}`,
        pids: `/sys/fs/cgroup/pids/docker/${ID}`,
      },
    });
  });

  it('handles joined controllers (cpu,cpuacct), escaped mount fields and a mount root that is not /', () => {
    const layout = parseMountinfo(fixture('proc/mountinfo-v1-joined'));
    const ref = refFromProcCgroup(layout!, parseProcCgroup(fixture('proc/cgroup-v1-joined')));
    expect(ref).toEqual({
      path: `/kubepods/pod1/${ID}`,
      v1: {
        cpu: `/sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/${ID}`,
        cpuacct: `/sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/${ID}`,
        memory: `/sys/fs/cgroup/memory/kubepods/pod1/${ID}`,
        pids: `/sys/fs/cgroup/pids/kubepods/pod1/${ID}`,
      },
    });
  });

  it('finds the unified hierarchy on a v2 host', () => {
    const layout = parseMountinfo(fixture('proc/mountinfo-v2'));
    expect(layout).toEqual({ version: 2, mount: { mountpoint: '/sys/fs/cgroup', root: '/' } });
    const ref = refFromProcCgroup(layout!, parseProcCgroup(fixture('proc/cgroup-v2')));
    expect(ref).toEqual({
      path: `/kubepods/besteffort/pod7c5f2a44/${ID}`,
      v2: `/sys/fs/cgroup/kubepods/besteffort/pod7c5f2a44/${ID}`,
    });
    expect(parentRef(ref!)).toEqual({ path: '/kubepods/besteffort/pod7c5f2a44', v2: '/sys/fs/cgroup/kubepods/besteffort/pod7c5f2a44' });
  });

  it('has no layout without cgroup mounts', () => {
    expect(parseMountinfo('22 1 0:21 / /sys rw - sysfs sysfs rw\n')).toBeNull();
  });

  it('builds the cgroupfs path of a container when its pid is not visible', () => {
    const layout = parseMountinfo(fixture('proc/mountinfo-v1'))!;
    expect(refForPath(layout, `/kubepods/pod1/${ID}`).v1?.memory).toBe(`/sys/fs/cgroup/memory/kubepods/pod1/${ID}`);
    expect(parentRef(refForPath(layout, `/kubepods/pod1/${ID}`))).toMatchObject({
      path: '/kubepods/pod1',
      v1: { memory: '/sys/fs/cgroup/memory/kubepods/pod1', pids: '/sys/fs/cgroup/pids/kubepods/pod1' },
    });
  });

  it('reads a container through its /proc/<pid>/cgroup, v1 and v2', async () => {
    const v1: CgroupLayout = {
      version: 1,
      controllers: new Map(['cpu', 'cpuacct', 'memory', 'pids'].map((c) => [c, { mountpoint: join(F, 'v1', c), root: '/' }])),
    };
    const s1 = await readCgroup(refFromProcCgroup(v1, parseProcCgroup(fixture('proc/cgroup-v1')))!);
    expect(s1.cpu?.usageNs).toBe(100093873n);
    expect(s1.memory?.workingSet).toBe(21299200n);
    const v2: CgroupLayout = { version: 2, mount: { mountpoint: join(F, 'v2'), root: '/' } };
    const s2 = await readCgroup(refFromProcCgroup(v2, parseProcCgroup(fixture('proc/cgroup-v2')))!);
    expect(s2.cpu?.usageNs).toBe(2500123000n);
    expect(s2.pids?.current).toBe(4n);
  });
});

describe('summing a pod without a cgroup of its own', () => {
  it('adds usage and counters, and drops limits', async () => {
    const a = await readCgroupV2(join(F, 'v2/kubepods/besteffort/pod7c5f2a44', ID));
    const b = await readCgroupV2(join(F, 'v2-min/system.slice', `docker-${ID}.scope`));
    const s = sumSamples([a, b, { cpu: null, memory: null, pids: null }]);
    expect(s.cpu?.usageNs).toBe(2500123000n + 1000000n);
    // present in one of them only
    expect(s.cpu?.periods).toBe(40n);
    expect(s.memory?.usage).toBe(52428800n + 4096n);
    expect(s.memory?.workingSet).toBe(44040192n + 4096n);
    expect(s.memory?.limit).toBeNull();
    expect(s.pids?.current).toBe(5n);
    expect(sumSamples([])).toEqual({ cpu: null, memory: null, pids: null });
  });
});
