/**
 * Stats and metrics end to end: real dockerd, real CNI, real cgroups (v1 here). Pod A
 * has a cgroup_parent, so its stats come from its own cgroup; pod B has none, so its
 * stats are the sum of its containers'. The CPU, memory, network and disk numbers
 * are caused by the test (a throttled busy loop, a 20 MB shell variable, an HTTP
 * download from the host, a 300 KB file), and checked against an idle container.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestShim, uniqueId, type TestShim } from '../../helpers/shim.js';
import { createPodNetEnv, dockerContainersOfSandbox, sh, subnetIpPattern, waitFor, type PodNetEnv } from '../../helpers/pod-net.js';
import { capturedRequest } from '../../helpers/crictl.js';

const BUSYBOX = 'localhost/cri-shim/busybox:1.0';
const SUITE = uniqueId('stats');
const MEM_LIMIT = 128 * 1024 * 1024;
const HELD = 20_000_000;
const BLOB = 300_000;
const DOWNLOAD = 400_000;


const n = (v: { value: string } | null | undefined): number => {
  if (!v) throw new Error('value missing');
  return Number(v.value);
};

describe('stats and metrics from cgroups and procfs', () => {
  let env: PodNetEnv;
  let t: TestShim;
  const uid = uniqueId('stats-uid');
  const cgroupParent = `/cri-shim-stats-${uid}`;
  const pods: Record<'a' | 'b', string> = { a: '', b: '' };
  const ids: Record<string, string> = {};

  const call = <T = any>(method: string, req: object) => t.call<T>(t.runtime, method, req);

  async function runPod(name: string, extraLinux: Record<string, unknown> = {}) {
    const config = {
      metadata: { name, uid: `${uid}-${name}`, namespace: 'crt-stats', attempt: 0 },
      hostname: name,
      log_directory: join(env.dir, 'logs', name),
      labels: { 'cri-shim-test': SUITE, pod: name },
      linux: { ...extraLinux, security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    };
    const res = await call('RunPodSandbox', { config });
    return { id: res.pod_sandbox_id as string, config };
  }

  async function runContainer(pod: { id: string; config: object }, name: string, command: string[], extra: Record<string, unknown> = {}) {
    const config = {
      metadata: { name, attempt: 0 },
      image: { image: BUSYBOX },
      command,
      log_path: `${name}.log`,
      labels: { 'cri-shim-test': SUITE, container: name },
      ...extra,
    };
    const created = await call('CreateContainer', { pod_sandbox_id: pod.id, config, sandbox_config: pod.config });
    await call('StartContainer', { container_id: created.container_id });
    ids[name] = created.container_id;
    return created.container_id as string;
  }

  const containerStats = async (name: string) => (await call('ContainerStats', { container_id: ids[name] })).stats;

  beforeAll(async () => {
    env = createPodNetEnv(7);
    t = await startTestShim({ stateDir: join(env.dir, 'state'), cniConfDir: env.confDir, cniBinDirs: env.binDirs, cniCacheDir: env.cacheDir });
    await waitFor('NetworkReady', async () => {
      const res = await call('Status', {});
      return res.status.conditions.find((c: any) => c.type === 'NetworkReady')?.status === true || undefined;
    });
    const www = join(env.dir, 'www');
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, 'big.bin'), randomBytes(DOWNLOAD));

    const a = await runPod('stats-a', { cgroup_parent: cgroupParent });
    const b = await runPod('stats-b');
    pods.a = a.id;
    pods.b = b.id;
    // Half a core at most: enough to measure, and the suites running beside us keep theirs.
    await runContainer(a, 'burn', ['sh', '-c', 'while :; do :; done'], { linux: { resources: { cpu_period: '100000', cpu_quota: '50000' } } });
    await runContainer(a, 'mem', ['sh', '-c', `x=$(head -c ${HELD} /dev/zero | tr "\\0" a); sleep 3600; echo \${#x}`], {
      linux: { resources: { memory_limit_in_bytes: String(MEM_LIMIT) } },
    });
    await runContainer(a, 'httpd', ['httpd', '-f', '-p', '80', '-h', '/www'], { mounts: [{ container_path: '/www', host_path: www, readonly: true }] });
    await runContainer(a, 'writer', ['sh', '-c', `head -c ${BLOB} /dev/urandom > /blob && touch /ready; sleep 3600`]);
    await runContainer(b, 'idle', ['sleep', '3600']);
    await runContainer(b, 'procs', ['sh', '-c', 'sleep 3600 & sleep 3600 & wait']);
    // The first look at a writable layer is the one that is waited for: take it once the file is there.
    await waitFor('the writer wrote its file', () => {
      try {
        sh('docker', ['exec', ids.writer!, 'test', '-f', '/ready']);
        return true;
      } catch {
        return undefined;
      }
    });
  });

  afterAll(async () => {
    for (const id of Object.values(pods)) if (id) await call('RemovePodSandbox', { pod_sandbox_id: id }).catch(() => undefined);
    await t?.close();
    for (const id of Object.values(pods)) for (const c of id ? dockerContainersOfSandbox(id) : []) sh('docker', ['rm', '-f', c]);
    // Docker's cgroupfs driver leaves the pod's parent cgroup behind.
    sh('sh', ['-c', `for d in /sys/fs/cgroup/*${cgroupParent}; do [ -d "$d" ] && rmdir "$d"; done; true`]);
    env?.cleanup();
  });

  it('CPU: the cumulative usage of a busy loop rises and usage_nano_cores shows it, the idle container shows ~0', async () => {
    const first = await containerStats('burn');
    expect(first.attributes).toMatchObject({ id: ids.burn, metadata: { name: 'burn', attempt: 0 }, labels: { container: 'burn' } });
    const usage0 = n(first.cpu.usage_core_nano_seconds);
    await containerStats('idle');
    const later = await waitFor('200 ms more CPU time and a rate', async () => {
      const s = await containerStats('burn');
      return n(s.cpu.usage_core_nano_seconds) - usage0 > 200e6 && s.cpu.usage_nano_cores ? s : undefined;
    });
    expect(BigInt(later.cpu.timestamp)).toBeGreaterThan(BigInt(first.cpu.timestamp));
    const busy = n(later.cpu.usage_nano_cores);
    const idle = await waitFor('a rate for the idle container', async () => {
      const st = await containerStats('idle');
      return st.cpu.usage_nano_cores ? st : undefined;
    });
    expect(busy).toBeGreaterThan(50e6);
    // The quota caps the loop at half a core (a little over for the window's edges).
    expect(busy).toBeLessThan(700e6);
    expect(n(idle.cpu.usage_nano_cores)).toBeLessThan(busy / 5);
  });

  it('memory: working set, usage and RSS hold the 20 MB; available is the limit minus the working set', async () => {
    const s = await waitFor('the 20 MB to be held', async () => {
      const st = await containerStats('mem');
      return n(st.memory.working_set_bytes) >= HELD ? st : undefined;
    });
    const m = s.memory;
    expect(n(m.rss_bytes)).toBeGreaterThanOrEqual(HELD);
    expect(n(m.usage_bytes)).toBeGreaterThanOrEqual(n(m.working_set_bytes));
    expect(n(m.available_bytes)).toBe(MEM_LIMIT - n(m.working_set_bytes));
    expect(n(m.page_faults)).toBeGreaterThan(HELD / 4096 / 2);
    expect(m.major_page_faults).not.toBeNull();
    const idle = (await containerStats('idle')).memory;
    expect(n(idle.working_set_bytes)).toBeLessThan(HELD / 4);
    // No limit, no "available".
    expect(idle.available_bytes).toBeNull();
  });

  it('writable layer: the bytes and inodes of the file the container wrote, on Docker\'s data root', async () => {
    const root = sh('docker', ['info', '-f', '{{.DockerRootDir}}']).trim();
    const w = (await containerStats('writer')).writable_layer;
    expect(w.fs_id.mountpoint).toBe(root);
    expect(n(w.used_bytes)).toBeGreaterThanOrEqual(BLOB);
    expect(n(w.inodes_used)).toBeGreaterThanOrEqual(2);
    const idle = (await containerStats('idle')).writable_layer;
    expect(n(idle.used_bytes)).toBeLessThan(BLOB);
  });

  it('pod network: rx/tx of eth0 grow by an HTTP download from the host to the pod IP', async () => {
    const ip = (await call('PodSandboxStatus', { pod_sandbox_id: pods.a })).status.network.ip;
    expect(ip).toMatch(subnetIpPattern(env));
    const before = (await call('PodSandboxStats', { pod_sandbox_id: pods.a })).stats.linux.network;
    expect(before.default_interface.name).toBe('eth0');
    const body = await waitFor('the download', async () => {
      const res = await fetch(`http://${ip}/big.bin`, { signal: AbortSignal.timeout(3000) }).catch(() => undefined);
      return res?.status === 200 ? Buffer.from(await res.arrayBuffer()) : undefined;
    });
    expect(body.length).toBe(DOWNLOAD);
    const after = (await call('PodSandboxStats', { pod_sandbox_id: pods.a })).stats.linux.network;
    expect(n(after.default_interface.tx_bytes) - n(before.default_interface.tx_bytes)).toBeGreaterThanOrEqual(DOWNLOAD);
    expect(n(after.default_interface.rx_bytes)).toBeGreaterThan(n(before.default_interface.rx_bytes));
    expect(after.interfaces.map((i: any) => i.name)).not.toContain('lo');
  });

  it("pod stats: pod A from its cgroup_parent, pod B as the sum of its containers; process counts", async () => {
    const a = (await call('PodSandboxStats', { pod_sandbox_id: pods.a })).stats;
    expect(a.attributes).toMatchObject({ id: pods.a, metadata: { name: 'stats-a', namespace: 'crt-stats' }, labels: { pod: 'stats-a' } });
    const inA = a.linux.containers.map((c: any) => c.attributes.id).sort();
    expect(inA).toEqual([ids.burn, ids.mem, ids.httpd, ids.writer].sort());
    const burn = a.linux.containers.find((c: any) => c.attributes.id === ids.burn);
    // The pod's cgroup holds every container's usage.
    expect(n(a.linux.cpu.usage_core_nano_seconds)).toBeGreaterThanOrEqual(n(burn.cpu.usage_core_nano_seconds));
    expect(n(a.linux.memory.working_set_bytes)).toBeGreaterThanOrEqual(HELD);
    // pause + burn + (mem's shell + its sleep) + httpd + writer (its shell exec'd sleep)
    expect(n(a.linux.process.process_count)).toBe(6);

    const b = (await call('PodSandboxStats', { pod_sandbox_id: pods.b })).stats;
    // pause + sleep + (sh + 2 × sleep)
    expect(n(b.linux.process.process_count)).toBe(5);
    expect(b.linux.containers.map((c: any) => c.attributes.metadata.name).sort()).toEqual(['idle', 'procs']);
    expect(n(b.linux.memory.working_set_bytes)).toBeGreaterThan(0);
    expect(b.linux.network.default_interface.name).toBe('eth0');
  });

  it('filters: ListContainerStats by pod, label and id prefix; ListPodSandboxStats by label and id', async () => {
    const names = (res: any) => res.stats.map((s: any) => s.attributes.metadata.name).sort();
    expect(names(await call('ListContainerStats', { filter: { pod_sandbox_id: pods.b } }))).toEqual(['idle', 'procs']);
    expect(names(await call('ListContainerStats', { filter: { label_selector: { 'cri-shim-test': SUITE, container: 'burn' } } }))).toEqual(['burn']);
    expect(names(await call('ListContainerStats', { filter: { id: ids.writer!.slice(0, 12) } }))).toEqual(['writer']);
    expect(names(await call('ListContainerStats', { filter: { pod_sandbox_id: pods.a, label_selector: { container: 'idle' } } }))).toEqual([]);
    expect(names(await call('ListContainerStats', {}))).toEqual(['burn', 'httpd', 'idle', 'mem', 'procs', 'writer']);

    const podNames = (res: any) => res.stats.map((s: any) => s.attributes.metadata.name).sort();
    expect(podNames(await call('ListPodSandboxStats', { filter: { label_selector: { pod: 'stats-a' } } }))).toEqual(['stats-a']);
    expect(podNames(await call('ListPodSandboxStats', { filter: { id: pods.b.slice(0, 12) } }))).toEqual(['stats-b']);
    expect(podNames(await call('ListPodSandboxStats', {}))).toEqual(['stats-a', 'stats-b']);
  });

  it('unknown ids are NOT_FOUND', async () => {
    const unknown = 'f'.repeat(64);
    await expect(call('ContainerStats', { container_id: unknown })).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(call('PodSandboxStats', { pod_sandbox_id: unknown })).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  it('metrics: descriptors in cAdvisor terms, and pod metrics whose labels match them', async () => {
    const { descriptors } = await call('ListMetricDescriptors', {});
    const keys = new Map<string, string[]>(descriptors.map((d: any) => [d.name, d.label_keys]));
    expect(keys.get('container_cpu_usage_seconds_total')).toEqual(['container', 'id', 'image', 'name', 'namespace', 'pod', 'cpu']);
    expect(keys.get('container_network_receive_bytes_total')).toEqual(['container', 'id', 'image', 'name', 'namespace', 'pod', 'interface']);

    const { pod_metrics } = await call('ListPodSandboxMetrics', {});
    const a = pod_metrics.find((p: any) => p.pod_sandbox_id === pods.a);
    expect(a).toBeDefined();
    for (const m of [...a.metrics, ...a.container_metrics.flatMap((c: any) => c.metrics)]) {
      expect(m.label_values.length, m.name).toBe(keys.get(m.name)?.length);
    }
    const rx = a.metrics.find((m: any) => m.name === 'container_network_receive_bytes_total' && m.label_values.at(-1) === 'eth0');
    expect(rx).toMatchObject({ metric_type: 'COUNTER', label_values: ['POD', cgroupParent, expect.any(String), expect.any(String), 'crt-stats', 'stats-a', 'eth0'] });
    const tx = a.metrics.find((m: any) => m.name === 'container_network_transmit_bytes_total');
    expect(n(tx.value)).toBeGreaterThanOrEqual(DOWNLOAD);
    const mem = a.container_metrics.find((c: any) => c.container_id === ids.mem);
    const ws = mem.metrics.find((m: any) => m.name === 'container_memory_working_set_bytes');
    expect(ws.metric_type).toBe('GAUGE');
    expect(ws.label_values.slice(0, 2)).toEqual(['mem', `${cgroupParent}/${ids.mem}`]);
    expect(n(ws.value)).toBeGreaterThanOrEqual(HELD);
    expect(n(mem.metrics.find((m: any) => m.name === 'container_spec_memory_limit_bytes').value)).toBe(MEM_LIMIT);
    const burn = a.container_metrics.find((c: any) => c.container_id === ids.burn);
    expect(burn.metrics.find((m: any) => m.name === 'container_cpu_usage_seconds_total').label_values.at(-1)).toBe('total');
    // The half-core quota throttles the loop.
    expect(n(burn.metrics.find((m: any) => m.name === 'container_cpu_cfs_throttled_periods_total').value)).toBeGreaterThan(0);
    expect(pod_metrics.find((p: any) => p.pod_sandbox_id === pods.b).container_metrics).toHaveLength(2);
  });

  it("serves crictl 1.32's stats -a (34, 35), statsp (37, 38) and metricsp (67) requests", async () => {
    for (const file of ['34-ListContainerStats', '35-ListContainerStats']) {
      const res = await call(file.slice(3), capturedRequest(file));
      const burn = res.stats.find((s: any) => s.attributes.id === ids.burn);
      expect(n(burn.cpu.usage_core_nano_seconds)).toBeGreaterThan(0);
      expect(res.stats).toHaveLength(6);
    }
    for (const file of ['37-ListPodSandboxStats', '38-ListPodSandboxStats']) {
      const res = await call(file.slice(3), capturedRequest(file));
      expect(res.stats.map((s: any) => s.attributes.id).sort()).toEqual([pods.a, pods.b].sort());
      expect(res.stats.every((s: any) => s.linux.cpu && s.linux.memory && s.linux.network)).toBe(true);
    }
    const metrics = await call('ListPodSandboxMetrics', capturedRequest('67-ListPodSandboxMetrics'));
    expect(metrics.pod_metrics.map((p: any) => p.pod_sandbox_id).sort()).toEqual([pods.a, pods.b].sort());
  });

  it('the Stream* variants send the same lists (StreamContainerStats, StreamPodSandboxStats, StreamPodSandboxMetrics)', async () => {
    const collect = (method: string, req: object) =>
      new Promise<any[]>((resolve, reject) => {
        const got: any[] = [];
        const call = t.runtime[method](req, { deadline: Date.now() + 30_000 });
        call.on('data', (m: any) => got.push(m));
        call.on('error', reject);
        call.on('end', () => resolve(got));
      });
    const containers = (await collect('StreamContainerStats', { filter: { pod_sandbox_id: pods.b } })).flatMap((m) => m.container_stats);
    expect(containers.map((c: any) => c.attributes.metadata.name).sort()).toEqual(['idle', 'procs']);
    const podStats = (await collect('StreamPodSandboxStats', { filter: { label_selector: { pod: 'stats-a' } } })).flatMap((m) => m.pod_sandbox_stats);
    expect(podStats.map((p: any) => p.attributes.id)).toEqual([pods.a]);
    expect(podStats[0].linux.containers).toHaveLength(4);
    const metrics = (await collect('StreamPodSandboxMetrics', {})).flatMap((m) => m.pod_sandbox_metrics);
    expect(metrics.map((p: any) => p.pod_sandbox_id).sort()).toEqual([pods.a, pods.b].sort());
  });

  it('a stopped pod has no stats: PodSandboxStats is FAILED_PRECONDITION and the list leaves it out', async () => {
    await call('StopPodSandbox', { pod_sandbox_id: pods.b });
    await expect(call('PodSandboxStats', { pod_sandbox_id: pods.b })).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
    const res = await call('ListPodSandboxStats', {});
    expect(res.stats.map((s: any) => s.attributes.id)).toEqual([pods.a]);
    // Its stopped containers still have their writable layers; CPU and memory are gone with their cgroups.
    const idle = (await call('ListContainerStats', { filter: { id: ids.idle } })).stats[0];
    expect(idle.cpu).toBeNull();
    expect(idle.memory).toBeNull();
    expect(idle.writable_layer).not.toBeNull();
  });
});
