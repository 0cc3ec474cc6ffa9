/**
 * The Prometheus endpoint of a real shim (--metrics-address 127.0.0.1:0): real
 * dockerd, real CNI plugins, a real gRPC client; scraped over HTTP before and after
 * a few RPCs, one of them failing.
 */
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { usePodShim } from '../../helpers/pod-shim.js';
import { startTestShim, uniqueId } from '../../helpers/shim.js';

const BUSYBOX = 'localhost/cri-shim/busybox:1.0';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

function samplesOf(samples: Sample[], name: string, labels: Record<string, string>): Sample[] {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${hits.length} samples`);
  return hits;
}

/** The value of the one sample `name` whose labels include `labels`; a missing series fails. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const [hit] = samplesOf(samples, name, labels);
  if (!hit) throw new Error(`no series ${name} ${JSON.stringify(labels)} in the scrape`);
  return hit.value;
}

/**
 * How far a counter moved between two scrapes. It must exist in the later one; a
 * labelled series appears on its first increment, so absent from the earlier one is 0.
 */
function movedBetween(before: Sample[], after: Sample[], name: string, labels: Record<string, string> = {}): number {
  const [was] = samplesOf(before, name, labels);
  return valueOf(after, name, labels) - (was?.value ?? 0);
}

describe('metrics endpoint', () => {
  const s = usePodShim(111, { config: { metricsAddress: '127.0.0.1:0' } });
  const base = (): string => `http://${s.t.shim.metricsAddress}`;
  const uid = uniqueId('uid');

  async function scrape(): Promise<Sample[]> {
    const res = await fetch(`${base()}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return parseExposition(await res.text());
  }

  it('binds the address given, with the real port when 0 was asked', () => {
    expect(s.t.shim.metricsAddress).toMatch(/^127\.0\.0\.1:[1-9][0-9]*$/);
  });

  it('is off unless asked for', async () => {
    const plain = await startTestShim();
    try {
      expect(plain.shim.metricsAddress).toBeUndefined();
    } finally {
      await plain.close();
    }
  });

  it('answers 404 off /metrics and 405 to other methods', async () => {
    expect((await fetch(`${base()}/`)).status).toBe(404);
    expect((await fetch(`${base()}/metrics/x`)).status).toBe(404);
    expect((await fetch(`${base()}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('every family is there and moves with RPCs, pods, CNI plugins and Docker calls', async () => {
    const before = await scrape();
    const rpc = (method: string, code: string) => ({ service: 'RuntimeService', method, code });

    await s.call('Version', {});
    const err = await s.call('ContainerStatus', { container_id: 'no-such-container' }).catch((e: any) => e);
    expect(err.code).toBe(status.NOT_FOUND);
    const podConfig = {
      metadata: { name: 'metrics', uid, namespace: 'crt', attempt: 0 },
      hostname: 'metrics',
      log_directory: join(s.env.dir, 'logs'),
      linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    };
    const { pod_sandbox_id: podId } = await s.call('RunPodSandbox', { config: podConfig });
    const { container_id: cid } = await s.call('CreateContainer', {
      pod_sandbox_id: podId,
      sandbox_config: podConfig,
      config: { metadata: { name: 'sleeper', attempt: 0 }, image: { image: BUSYBOX }, command: ['sleep', '3600'], log_path: 'sleeper.log' },
    });
    await s.call('StartContainer', { container_id: cid });

    const after = await scrape();
    const moved = (name: string, labels: Record<string, string> = {}) => movedBetween(before, after, name, labels);

    // Every family: ours under our prefix, the standard process ones under their usual names.
    const names = new Set(after.map((s) => s.name));
    for (const name of names) expect(/^(cri_shim_|process_|nodejs_)/.test(name), name).toBe(true);
    for (const family of [
      'cri_shim_grpc_request_duration_seconds_bucket',
      'cri_shim_pod_start_duration_seconds_sum',
      'cri_shim_cni_plugin_duration_seconds_count',
      'cri_shim_docker_request_duration_seconds_count',
      'cri_shim_pod_sandboxes',
      'cri_shim_containers',
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(names.has(family), family).toBe(true);
    }

    // RPCs by method and code, the failing one included.
    expect(moved('cri_shim_grpc_request_duration_seconds_count', rpc('Version', 'OK'))).toBe(1);
    expect(moved('cri_shim_grpc_request_duration_seconds_count', rpc('ContainerStatus', 'NOT_FOUND'))).toBe(1);
    expect(moved('cri_shim_grpc_request_duration_seconds_count', rpc('RunPodSandbox', 'OK'))).toBe(1);
    expect(valueOf(after, 'cri_shim_grpc_request_duration_seconds_bucket', { ...rpc('Version', 'OK'), le: '+Inf' })).toBeGreaterThanOrEqual(1);
    expect(moved('cri_shim_grpc_request_duration_seconds_count', { service: 'RuntimeService', method: 'Status', code: 'OK' })).toBe(0);

    // One pod started; its duration is the RunPodSandbox call's.
    expect(moved('cri_shim_pod_start_duration_seconds_count')).toBe(1);
    expect(valueOf(after, 'cri_shim_pod_start_duration_seconds_sum')).toBeGreaterThan(0);

    // The chain of createPodNetEnv ran once for the pod.
    for (const plugin of ['bridge', 'portmap', 'firewall']) {
      expect(moved('cri_shim_cni_plugin_duration_seconds_count', { plugin, verb: 'ADD', result: 'ok' }), plugin).toBe(1);
    }

    // Docker calls by operation, ids elided: the pause container and ours were created and started.
    expect(moved('cri_shim_docker_request_duration_seconds_count', { operation: 'POST /containers/create', result: 'ok' })).toBe(2);
    expect(moved('cri_shim_docker_request_duration_seconds_count', { operation: 'POST /containers/{id}/start', result: 'ok' })).toBe(2);
    expect(moved('cri_shim_docker_request_duration_seconds_count', { operation: 'GET /containers/{id}/json', result: 'ok' })).toBeGreaterThanOrEqual(2);

    // Pods and containers by state, from the live view.
    expect(valueOf(after, 'cri_shim_pod_sandboxes', { state: 'ready' })).toBe(1);
    expect(valueOf(after, 'cri_shim_pod_sandboxes', { state: 'notready' })).toBe(0);
    expect(valueOf(after, 'cri_shim_containers', { state: 'running' })).toBe(1);

    await s.call('StopPodSandbox', { pod_sandbox_id: podId });
    const stopped = await scrape();
    expect(valueOf(stopped, 'cri_shim_pod_sandboxes', { state: 'ready' })).toBe(0);
    expect(valueOf(stopped, 'cri_shim_pod_sandboxes', { state: 'notready' })).toBe(1);
    expect(valueOf(stopped, 'cri_shim_containers', { state: 'exited' })).toBe(1);
    expect(valueOf(stopped, 'cri_shim_cni_plugin_duration_seconds_count', { plugin: 'bridge', verb: 'DEL', result: 'ok' })).toBe(1);

    await s.call('RemovePodSandbox', { pod_sandbox_id: podId });
    const removed = await scrape();
    expect(valueOf(removed, 'cri_shim_pod_sandboxes', { state: 'notready' })).toBe(0);
    expect(valueOf(removed, 'cri_shim_containers', { state: 'exited' })).toBe(0);
  });
});
