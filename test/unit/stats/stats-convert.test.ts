import { describe, expect, it } from 'vitest';
import {
  containerStatsFilterFromCri,
  containerStatsToCri,
  cpuToCri,
  memoryToCri,
  metricDescriptorToCri,
  networkToCri,
  podSandboxMetricsToCri,
  podSandboxStatsFilterFromCri,
} from '../../../src/cri/stats-convert.js';
import type { ContainerStatsSample } from '../../../src/runtime/stats/service.js';

const TS = 1_750_000_000_123_456_789n;

describe('stats → CRI', () => {
  it('writes counters as decimal strings, past 2^53 included', () => {
    expect(
      cpuToCri({ timestampNs: TS, usageNs: 2n ** 60n, userNs: null, systemNs: null, periods: null, throttledPeriods: null, throttledNs: null, nanoCores: 1_500_000_000n }),
    ).toEqual({ timestamp: '1750000000123456789', usage_core_nano_seconds: { value: '1152921504606846976' }, usage_nano_cores: { value: '1500000000' } });
  });

  it('leaves out what was not measured rather than sending 0', () => {
    expect(cpuToCri(null)).toBeNull();
    const cpu = cpuToCri({ timestampNs: TS, usageNs: 1n, userNs: null, systemNs: null, periods: null, throttledPeriods: null, throttledNs: null, nanoCores: null });
    expect(cpu?.usage_nano_cores).toBeNull();
    const mem = memoryToCri({
      timestampNs: TS,
      usage: 10n,
      workingSet: 8n,
      rss: 5n,
      cache: 2n,
      mappedFile: 0n,
      inactiveFile: 2n,
      pgfault: 3n,
      pgmajfault: 1n,
      limit: null,
      maxUsage: null,
      failcnt: null,
      swap: null,
      available: null,
    });
    expect(mem).toEqual({
      timestamp: String(TS),
      working_set_bytes: { value: '8' },
      available_bytes: null,
      usage_bytes: { value: '10' },
      rss_bytes: { value: '5' },
      page_faults: { value: '3' },
      major_page_faults: { value: '1' },
    });
    expect(networkToCri(null)).toBeNull();
  });

  it('names the container in attributes and its layer by filesystem', () => {
    const sample = {
      view: { record: { id: 'abc', spec: { name: 'web', attempt: 2, labels: { a: '1' }, annotations: { b: '2' } } } },
      cpu: null,
      memory: null,
      process: null,
      writableLayer: { timestampNs: TS, mountpoint: '/var/lib/docker', usedBytes: 4096n, inodesUsed: 3n },
    } as unknown as ContainerStatsSample;
    expect(containerStatsToCri(sample)).toEqual({
      attributes: { id: 'abc', metadata: { name: 'web', attempt: 2 }, labels: { a: '1' }, annotations: { b: '2' } },
      cpu: null,
      memory: null,
      writable_layer: { timestamp: String(TS), fs_id: { mountpoint: '/var/lib/docker' }, used_bytes: { value: '4096' }, inodes_used: { value: '3' } },
    });
  });

  it('maps metrics with their type and labels', () => {
    expect(metricDescriptorToCri({ name: 'm', help: 'h', labelKeys: ['a', 'b'] })).toEqual({ name: 'm', help: 'h', label_keys: ['a', 'b'] });
    expect(
      podSandboxMetricsToCri({
        podSandboxId: 'p',
        metrics: [{ name: 'n', kind: 'counter', labelValues: ['x'], value: 7n, timestampNs: 0n }],
        containers: [{ containerId: 'c', metrics: [{ name: 'g', kind: 'gauge', labelValues: [], value: 1n, timestampNs: TS }] }],
      }),
    ).toEqual({
      pod_sandbox_id: 'p',
      metrics: [{ name: 'n', timestamp: '0', metric_type: 'COUNTER', label_values: ['x'], value: { value: '7' } }],
      container_metrics: [{ container_id: 'c', metrics: [{ name: 'g', timestamp: String(TS), metric_type: 'GAUGE', label_values: [], value: { value: '1' } }] }],
    });
  });
});

describe('stats filters', () => {
  it.each([
    [null, {}],
    [{ id: '', pod_sandbox_id: '', label_selector: {} }, {}],
    [{ id: 'ab', pod_sandbox_id: 'cd', label_selector: { k: 'v' } }, { id: 'ab', sandboxId: 'cd', labelSelector: { k: 'v' } }],
  ])('container filter %j', (filter, want) => {
    expect(containerStatsFilterFromCri(filter as any)).toEqual(want);
  });

  it('pod filter', () => {
    expect(podSandboxStatsFilterFromCri({ id: 'x', label_selector: { a: 'b' } })).toEqual({ id: 'x', labelSelector: { a: 'b' } });
    expect(podSandboxStatsFilterFromCri(null)).toEqual({});
  });
});
