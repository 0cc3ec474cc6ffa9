import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/logger.js';
import { capsFromMask, normalizeCap } from '../../../src/runtime/capabilities.js';
import { liveState, stateName } from '../../../src/runtime/container-state.js';
import { JsonStore } from '../../../src/runtime/json-store.js';
import { criLabelsOf, dockerLabels, managedFilter, matchesSelector } from '../../../src/runtime/labels.js';
import { sandboxContainerName, workloadContainerName } from '../../../src/runtime/naming.js';
import { clampOomScoreAdj } from '../../../src/runtime/oom.js';
import { renderHosts, renderResolvConf } from '../../../src/runtime/pod-files.js';
import { bandwidthFromAnnotations, parseQuantity } from '../../../src/runtime/pod-network.js';
import { nowNs, rfc3339ToNs } from '../../../src/runtime/time.js';
import { UndoStack } from '../../../src/runtime/undo.js';

describe('naming', () => {
  const pod = { name: 'web', namespace: 'default', uid: 'u-1' };
  it('follows the kubelet scheme', () => {
    expect(sandboxContainerName(pod, 2)).toBe('k8s_POD_web_default_u-1_2');
    expect(workloadContainerName('nginx', pod, 0)).toBe('k8s_nginx_web_default_u-1_0');
  });
  it('replaces characters Docker refuses, and marks such names with a hash of the exact parts', () => {
    expect(workloadContainerName('a b/c', pod, 0)).toMatch(/^k8s_a-b-c_web_default_u-1_0_h[0-9a-f]{20}$/);
  });
});

describe('labels', () => {
  it('carries CRI labels, annotations with a prefix, and ours', () => {
    const l = dockerLabels(
      { instance: '/var/lib/cri-shim', kind: 'container', sandboxId: 's', podName: 'p', podNamespace: 'n', podUid: 'u', containerName: 'c', logPath: '/l/c.log' },
      { app: 'web' },
      { 'note/a': 'x' },
    );
    expect(l).toMatchObject({
      app: 'web',
      'annotation.note/a': 'x',
      'io.cri-shim.managed': '/var/lib/cri-shim',
      'io.cri-shim.log-path': '/l/c.log',
      'io.cri-shim.kind': 'container',
      'io.cri-shim.sandbox-id': 's',
      'io.kubernetes.pod.name': 'p',
      'io.kubernetes.pod.namespace': 'n',
      'io.kubernetes.pod.uid': 'u',
      'io.kubernetes.container.name': 'c',
    });
  });
  it.each([
    [{ a: '1', b: '2' }, { a: '1' }, true],
    [{ a: '1' }, { a: '2' }, false],
    [{ a: '1' }, { c: '1' }, false],
    [{ a: '1' }, undefined, true],
    [{ a: '1' }, {}, true],
  ])('selector %j ⊇ %j → %s', (labels, selector, ok) => {
    expect(matchesSelector(labels, selector)).toBe(ok);
  });
  it('filters Docker lists to our own containers', () => {
    expect(managedFilter('/s', 'sandbox')).toEqual({ label: ['io.cri-shim.managed=/s', 'io.cri-shim.kind=sandbox'] });
  });
  it('gives back the CRI labels and annotations, without ours', () => {
    const docker = dockerLabels(
      { instance: '/s', kind: 'sandbox', sandboxId: 's', podName: 'p', podNamespace: 'n', podUid: 'u' },
      { app: 'web' },
      { 'kubernetes.io/config.source': 'api' },
    );
    expect(criLabelsOf(docker)).toEqual({
      labels: { app: 'web', 'io.kubernetes.pod.name': 'p', 'io.kubernetes.pod.namespace': 'n', 'io.kubernetes.pod.uid': 'u' },
      annotations: { 'kubernetes.io/config.source': 'api' },
    });
  });
});

describe('nowNs', () => {
  it('never goes backwards, even within one microsecond', () => {
    let last = 0n;
    for (let i = 0; i < 50_000; i++) {
      const now = BigInt(nowNs());
      expect(now > last).toBe(true);
      last = now;
    }
    // And it is the wall clock, in nanoseconds.
    expect(Number(last / 1_000_000n) - Date.now()).toBeLessThan(1000);
  });
});

describe('time', () => {
  it.each([
    ['2024-05-01T10:00:00.123456789Z', '1714557600123456789'],
    ['2024-05-01T10:00:00Z', '1714557600000000000'],
    ['2024-05-01T10:00:00.5Z', '1714557600500000000'],
    ['2024-05-01T12:00:00.000000001+02:00', '1714557600000000001'],
    ['0001-01-01T00:00:00Z', '0'],
    ['', '0'],
  ])('%s → %s ns', (input, ns) => {
    expect(rfc3339ToNs(input)).toBe(ns);
  });
});

describe('container state', () => {
  it.each([
    ['created', 'created'],
    ['running', 'running'],
    ['paused', 'running'],
    ['exited', 'exited'],
    ['dead', 'exited'],
    ['removing', 'unknown'],
  ])('%s → %s', (docker, cri) => {
    expect(stateName(docker)).toBe(cri);
  });
  const base = { Status: 'exited', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: '2024-05-01T10:00:00Z', FinishedAt: '2024-05-01T10:00:01Z' };
  it.each([
    [{ ExitCode: 0 }, 'Completed'],
    [{ ExitCode: 3 }, 'Error'],
    [{ ExitCode: 137, OOMKilled: true }, 'OOMKilled'],
  ])('%j → reason %s', (over, reason) => {
    expect(liveState({ ...base, ...over } as any).reason).toBe(reason);
  });
});

describe('oom_score_adj', () => {
  it.each([
    [-998, 0, 0],
    [-998, -999, -998],
    [500, 0, 500],
    [2000, 0, 1000],
  ])('requested %d with own %d → %d', (req, own, out) => {
    expect(clampOomScoreAdj(req, own)).toBe(out);
  });
});

describe('capabilities', () => {
  it('decodes a CapBnd mask', () => {
    expect(capsFromMask(0b101n)).toEqual(['CHOWN', 'DAC_READ_SEARCH']);
  });
  it.each([['CAP_NET_ADMIN', 'NET_ADMIN'], ['net_raw', 'NET_RAW'], ['ALL', 'ALL']])('%s → %s', (a, b) => {
    expect(normalizeCap(a)).toBe(b);
  });
});

describe('pod files', () => {
  it('renders resolv.conf from dns_config', () => {
    expect(renderResolvConf({ servers: ['1.2.3.4', '5.6.7.8'], searches: ['a.svc', 'b'], options: ['ndots:5'] })).toBe(
      'search a.svc b\nnameserver 1.2.3.4\nnameserver 5.6.7.8\noptions ndots:5\n',
    );
  });
  it('renders /etc/hosts with the pod name on each IP', () => {
    const hosts = renderHosts('web', ['10.88.0.5']);
    expect(hosts.startsWith('127.0.0.1\tlocalhost\n')).toBe(true);
    expect(hosts).toContain('10.88.0.5\tweb\n');
  });
});

describe('bandwidth annotations', () => {
  it.each([
    ['10M', 10_000_000],
    ['1Gi', 2 ** 30],
    ['500k', 500_000],
    ['7', 7],
    ['1.5M', 1_500_000],
    ['ten', null],
    ['10X', null],
  ])('%s → %s', (q, v) => {
    expect(parseQuantity(q)).toBe(v);
  });
  it('maps both directions with an unlimited burst', () => {
    expect(
      bandwidthFromAnnotations({ 'kubernetes.io/ingress-bandwidth': '1M', 'kubernetes.io/egress-bandwidth': '2M' }),
    ).toEqual({ ingressRate: 1_000_000, ingressBurst: 2 ** 31 - 1, egressRate: 2_000_000, egressBurst: 2 ** 31 - 1 });
    expect(bandwidthFromAnnotations({})).toBeNull();
    expect(() => bandwidthFromAnnotations({ 'kubernetes.io/ingress-bandwidth': 'fast' })).toThrow(/ingress-bandwidth/);
  });
});

describe('JsonStore', () => {
  it('persists records atomically and reloads them; resolves unique prefixes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jsonstore-'));
    const a = new JsonStore<{ id: string; v: number }>(dir, silentLogger);
    await a.load();
    await a.put({ id: 'abc123', v: 1 });
    await a.put({ id: 'abd456', v: 2 });
    expect(readdirSync(dir).sort()).toEqual(['abc123.json', 'abd456.json']);
    writeFileSync(join(dir, 'broken.json'), '{');
    const b = new JsonStore<{ id: string; v: number }>(dir, silentLogger);
    await b.load();
    expect(b.get('abc123')).toEqual({ id: 'abc123', v: 1 });
    expect(b.resolve('abc')?.id).toBe('abc123');
    expect(() => b.resolve('ab')).toThrow(/matches 2/);
    expect(b.resolve('zzz')).toBeUndefined();
    await b.delete('abc123');
    await b.delete('abc123');
    expect(JSON.parse(readFileSync(join(dir, 'abd456.json'), 'utf8')).v).toBe(2);
    expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('UndoStack', () => {
  it('runs steps newest first and keeps going past a failing one', async () => {
    const order: string[] = [];
    const undo = new UndoStack(silentLogger, 1000);
    undo.push('a', async () => order.push('a'));
    undo.push('b', async () => {
      throw new Error('b fails');
    });
    undo.push('c', async () => order.push('c'));
    await undo.run();
    expect(order).toEqual(['c', 'a']);
  });
  it('stops unwinding after a failed step that must keep what is older for a retry', async () => {
    const order: string[] = [];
    const undo = new UndoStack(silentLogger, 1000);
    undo.push('remove container', async () => order.push('remove container'));
    undo.push('delete state', async () => order.push('delete state'));
    undo.push('CNI DEL', async () => {
      throw new Error('plugin failed');
    }, { stopOnFailure: true });
    await undo.run();
    expect(order).toEqual([]);
  });
  it('does not wait forever on a hung step', async () => {
    const undo = new UndoStack(silentLogger, 50);
    let after = false;
    undo.push('after', async () => (after = true));
    undo.push('hang', () => new Promise(() => undefined));
    await undo.run();
    expect(after).toBe(true);
  });
});
