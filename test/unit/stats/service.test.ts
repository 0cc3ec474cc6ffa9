/**
 * StatsService over a fake Docker and a fake PodRuntime, reading a cgroup v1 tree and
 * a procfs of our own making: the pod-level choices (its cgroup_parent or the sum of
 * its containers), network from the pause pid, and what is left out.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailedPreconditionError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import type { PodRuntime } from '../../../src/runtime/pods.js';
import type { CgroupLayout } from '../../../src/runtime/stats/cgroups.js';
import { BASE_LABEL_KEYS, METRIC_DESCRIPTORS, podMetrics } from '../../../src/runtime/stats/metrics.js';
import { StatsService } from '../../../src/runtime/stats/service.js';
import type { ContainerView, SandboxView } from '../../../src/runtime/views.js';

const CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids'];

interface Usage {
  cpuNs: bigint;
  mem: bigint;
  inactiveFile: bigint;
  pids: number;
  limit?: bigint;
}

class Node {
  readonly root = mkdtempSync(join(tmpdir(), 'cri-shim-stats-unit-'));
  readonly proc = join(this.root, 'proc');
  readonly layout: CgroupLayout = {
    version: 1,
    controllers: new Map(CONTROLLERS.map((c) => [c, { mountpoint: join(this.root, 'cg', c), root: '/' }])),
  };
  readonly inspect = new Map<string, object>();

  cgroup(path: string, u: Usage): void {
    const dir = (c: string) => {
      const d = join(this.root, 'cg', c, path);
      mkdirSync(d, { recursive: true });
      return d;
    };
    writeFileSync(join(dir('cpuacct'), 'cpuacct.usage'), `${u.cpuNs}\n`);
    writeFileSync(join(dir('cpuacct'), 'cpuacct.usage_user'), `${u.cpuNs}\n`);
    writeFileSync(join(dir('cpuacct'), 'cpuacct.usage_sys'), '0\n');
    writeFileSync(join(dir('cpu'), 'cpu.stat'), 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n');
    writeFileSync(join(dir('memory'), 'memory.usage_in_bytes'), `${u.mem}\n`);
    writeFileSync(join(dir('memory'), 'memory.limit_in_bytes'), `${u.limit ?? 9223372036854771712n}\n`);
    writeFileSync(join(dir('memory'), 'memory.stat'), `total_rss ${u.mem}\ntotal_inactive_file ${u.inactiveFile}\ntotal_pgfault 10\ntotal_pgmajfault 1\n`);
    writeFileSync(join(dir('pids'), 'pids.current'), `${u.pids}\n`);
  }

  process(pid: number, cgroupPath: string, netDev?: string): void {
    const d = join(this.proc, String(pid));
    mkdirSync(join(d, 'net'), { recursive: true });
    writeFileSync(join(d, 'cgroup'), CONTROLLERS.map((c, i) => `${i + 1}:${c}:${cgroupPath}`).join('\n') + '\n0::/\n');
    if (netDev) writeFileSync(join(d, 'net', 'dev'), netDev);
  }

  container(id: string, pid: number, parent = '', name = `k8s_${id}`): void {
    this.inspect.set(id, {
      Id: id,
      Name: `/${name}`,
      State: { Running: pid > 0, Pid: pid },
      Config: { Image: id.startsWith('pause') ? 'localhost/pause:1' : 'busybox:1' },
      HostConfig: { CgroupParent: parent },
      GraphDriver: { Name: 'overlay2', Data: { UpperDir: `/var/lib/docker/overlay2/${id}/diff` } },
    });
  }

  docker(): any {
    return {
      getContainer: (id: string) => ({
        inspect: async () => {
          const info = this.inspect.get(id);
          if (!info) throw Object.assign(new Error('no such container'), { statusCode: 404 });
          return info;
        },
      }),
      info: async () => ({ DockerRootDir: '/var/lib/docker' }),
    };
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  eth0:    5000      40    0    0    0     0          0         0   700000     500    0    0    0     0       0          0
`;

function sandbox(id: string, opts: { cgroupParent?: string; network?: 'pod' | 'node'; attached?: boolean; state?: 'ready' | 'notready' } = {}): SandboxView {
  return {
    record: {
      id,
      pauseContainerId: `pause-${id}`,
      createdAt: '1',
      state: 'ready',
      netnsPath: '',
      ips: ['10.0.0.2'],
      network: { attached: opts.attached ?? true, ifName: 'eth0', result: null },
      spec: {
        metadata: { name: `pod-${id}`, uid: 'u', namespace: 'ns', attempt: 0 },
        hostname: '',
        logDirectory: '',
        dns: null,
        portMappings: [],
        labels: { app: id },
        annotations: {},
        cgroupParent: opts.cgroupParent ?? '',
        sysctls: {},
        namespaces: { network: opts.network ?? 'pod', pid: 'container', ipc: 'pod' },
        runtimeHandler: '',
        privileged: false,
      },
    },
    state: opts.state ?? 'ready',
    pausePid: 0,
  };
}

function container(id: string, sandboxId: string, state: 'running' | 'exited' = 'running'): ContainerView {
  return {
    record: {
      id,
      sandboxId,
      imageRef: 'sha256:x',
      createdAt: '1',
      logPath: '',
      spec: { name: `ctr-${id}`, attempt: 1, labels: { c: id }, annotations: {}, image: 'busybox:1' } as any,
    },
    live: { state, startedAt: '0', finishedAt: '0', exitCode: 0, reason: '', message: '', pid: 0 },
  };
}

function fakePods(sandboxes: SandboxView[], containers: ContainerView[]): PodRuntime {
  return {
    sandboxStatus: async (id: string) => sandboxes.find((s) => s.record.id === id)!,
    listSandboxes: async (f: { state?: string }) => sandboxes.filter((s) => !f.state || s.state === f.state),
    containerStatus: async (id: string) => containers.find((c) => c.record.id === id)!,
    listContainers: async (f: { sandboxId?: string; state?: string }) =>
      containers.filter((c) => (!f.sandboxId || c.record.sandboxId === f.sandboxId) && (!f.state || c.live.state === f.state)),
  } as unknown as PodRuntime;
}

describe('StatsService', () => {
  let node: Node;
  const S = 1_000_000_000n;

  beforeEach(() => {
    node = new Node();
  });
  afterEach(() => node.cleanup());

  function service(sandboxes: SandboxView[], containers: ContainerView[]) {
    return new StatsService({
      pods: fakePods(sandboxes, containers),
      docker: node.docker(),
      logger: silentLogger,
      procRoot: node.proc,
      layout: node.layout,
      minCpuWindowMs: 0,
      writableLayer: { measure: async () => ({ usedBytes: 8192, inodesUsed: 5 }) },
    });
  }

  it('sums the containers of a pod that has no cgroup_parent, and reads its network from the pause pid', async () => {
    node.container('pause-a', 100);
    node.container('c1', 200);
    node.cgroup('/docker/pause-a', { cpuNs: S, mem: 1000n, inactiveFile: 0n, pids: 1 });
    node.cgroup('/docker/c1', { cpuNs: 2n * S, mem: 50_000n, inactiveFile: 10_000n, pids: 3, limit: 100_000n });
    node.process(100, '/docker/pause-a', NET_DEV);
    node.process(200, '/docker/c1');
    const stats = service([sandbox('a')], [container('c1', 'a')]);

    const [pod] = await stats.listPodSandboxStats({});
    expect(pod!.cpu?.usageNs).toBe(3n * S);
    expect(pod!.cpu?.nanoCores).toBeNull();
    expect(pod!.memory).toMatchObject({ usage: 51_000n, workingSet: 41_000n, limit: null, available: null });
    expect(pod!.process?.count).toBe(4n);
    expect(pod!.network?.defaultInterface).toMatchObject({ name: 'eth0', rxBytes: 5000n, txBytes: 700_000n });
    expect(pod!.network?.interfaces).toEqual([]);
    expect(pod!.cgroupPath).toBe('/docker/pause-a');
    const [c] = pod!.containers;
    expect(c).toMatchObject({ cgroupPath: '/docker/c1', target: { name: 'k8s_c1', image: 'busybox:1' } });
    expect(c!.memory).toMatchObject({ usage: 50_000n, workingSet: 40_000n, limit: 100_000n, available: 60_000n });
    expect(c!.writableLayer).toMatchObject({ mountpoint: '/var/lib/docker', usedBytes: 8192n, inodesUsed: 5n });

    // CPU moves: the second sample has a rate.
    node.cgroup('/docker/c1', { cpuNs: 4n * S, mem: 50_000n, inactiveFile: 10_000n, pids: 3 });
    const again = await stats.containerStats('c1');
    expect(again.cpu?.usageNs).toBe(4n * S);
    expect(again.cpu!.nanoCores! > 0n).toBe(true);
  });

  it('lets ListContainerStats reuse the readings a pod-stats call just took, with their own time; ContainerStats and pods read afresh', async () => {
    node.container('pause-r', 110);
    node.container('r1', 210);
    node.cgroup('/docker/pause-r', { cpuNs: S, mem: 1000n, inactiveFile: 0n, pids: 1 });
    node.cgroup('/docker/r1', { cpuNs: 2n * S, mem: 5000n, inactiveFile: 0n, pids: 1 });
    node.process(110, '/docker/pause-r');
    node.process(210, '/docker/r1');
    const stats = service([sandbox('r')], [container('r1', 'r')]);
    const [pod] = await stats.listPodSandboxStats({});
    node.cgroup('/docker/r1', { cpuNs: 7n * S, mem: 5000n, inactiveFile: 0n, pids: 1 });
    const [listed] = await stats.listContainerStats({});
    // The kept reading, stamped with the time it was taken, not the time of this call.
    expect(listed!.cpu?.usageNs).toBe(2n * S);
    expect(listed!.cpu?.timestampNs).toBe(pod!.containers[0]!.cpu?.timestampNs);
    expect((await stats.containerStats('r1')).cpu?.usageNs).toBe(7n * S);
    const [podAgain] = await stats.listPodSandboxStats({});
    expect(podAgain!.cpu?.usageNs).toBe(8n * S);
  });

  it("reads a pod's own cgroup when it has a cgroup_parent", async () => {
    node.container('pause-b', 101, '/kubepods/podb');
    node.cgroup('/kubepods/podb/pause-b', { cpuNs: S, mem: 1n, inactiveFile: 0n, pids: 1 });
    node.cgroup('/kubepods/podb', { cpuNs: 42n * S, mem: 4242n, inactiveFile: 42n, pids: 7, limit: 10_000n });
    node.process(101, '/kubepods/podb/pause-b', NET_DEV);
    const pod = await service([sandbox('b', { cgroupParent: '/kubepods/podb' })], []).podSandboxStats('b');
    expect(pod.cgroupPath).toBe('/kubepods/podb');
    expect(pod.cpu?.usageNs).toBe(42n * S);
    expect(pod.memory).toMatchObject({ usage: 4242n, workingSet: 4200n, available: 5800n });
    expect(pod.process?.count).toBe(7n);
  });

  it('has no network stats for a host-network pod, a detached network, or a pause pid that is not its own', async () => {
    for (const id of ['h', 'd', 'r']) {
      node.container(`pause-${id}`, 300 + id.charCodeAt(0));
      node.cgroup(`/docker/pause-${id}`, { cpuNs: S, mem: 1n, inactiveFile: 0n, pids: 1 });
    }
    node.process(300 + 'h'.charCodeAt(0), '/docker/pause-h', NET_DEV);
    node.process(300 + 'd'.charCodeAt(0), '/docker/pause-d', NET_DEV);
    // pid of pause-r now belongs to someone else
    node.process(300 + 'r'.charCodeAt(0), '/user.slice/other', NET_DEV);
    const stats = service(
      [sandbox('h', { network: 'node' }), sandbox('d', { attached: false }), sandbox('r')],
      [],
    );
    const pods = await stats.listPodSandboxStats({});
    expect(pods.map((p) => [p.view.record.id, p.network])).toEqual([
      ['h', null],
      ['d', null],
      ['r', null],
    ]);
  });

  it('refuses stats of a pod that is not ready, and leaves it out of the list', async () => {
    const stats = service([sandbox('n', { state: 'notready' })], []);
    await expect(stats.podSandboxStats('n')).rejects.toBeInstanceOf(FailedPreconditionError);
    expect(await stats.listPodSandboxStats({})).toEqual([]);
  });

  it('gives an exited container its writable layer only, and survives a cgroup that vanished', async () => {
    node.container('x', 0);
    node.container('g', 400);
    node.process(400, '/docker/g');
    const stats = service([sandbox('a')], [container('x', 'a', 'exited'), container('g', 'a')]);
    const [x, g] = await stats.listContainerStats({});
    expect(x).toMatchObject({ cpu: null, memory: null, process: null, cgroupPath: '' });
    expect(x!.writableLayer?.usedBytes).toBe(8192n);
    expect(g).toMatchObject({ cpu: null, memory: null, process: null });
  });

  it('turns a pod into metrics whose label values match their descriptors', async () => {
    node.container('pause-m', 500);
    node.container('cm', 501);
    node.cgroup('/docker/pause-m', { cpuNs: S, mem: 1n, inactiveFile: 0n, pids: 1 });
    node.cgroup('/docker/cm', { cpuNs: 2n * S + S / 2n, mem: 1000n, inactiveFile: 0n, pids: 2 });
    node.process(500, '/docker/pause-m', NET_DEV);
    node.process(501, '/docker/cm');
    const [pod] = await service([sandbox('m')], [container('cm', 'm')]).listPodSandboxStats({});
    const m = podMetrics(pod!);
    const keys = new Map(METRIC_DESCRIPTORS.map((d) => [d.name, d.labelKeys]));
    const all = [...m.metrics, ...m.containers.flatMap((c) => c.metrics)];
    for (const metric of all) expect(metric.labelValues.length, metric.name).toBe(keys.get(metric.name)?.length);

    const rx = m.metrics.find((x) => x.name === 'container_network_receive_bytes_total');
    expect(rx).toMatchObject({ kind: 'counter', value: 5000n, labelValues: ['POD', '/docker/pause-m', 'localhost/pause:1', 'k8s_pause-m', 'ns', 'pod-m', 'eth0'] });
    const [cm] = m.containers;
    expect(cm!.containerId).toBe('cm');
    const cpu = cm!.metrics.find((x) => x.name === 'container_cpu_usage_seconds_total');
    // whole seconds on this wire
    expect(cpu).toMatchObject({ value: 2n, timestampNs: 0n, labelValues: ['ctr-cm', '/docker/cm', 'busybox:1', 'k8s_cm', 'ns', 'pod-m', 'total'] });
    expect(cm!.metrics.find((x) => x.name === 'container_memory_working_set_bytes')?.value).toBe(1000n);
    expect(cm!.metrics.find((x) => x.name === 'container_fs_usage_bytes')?.timestampNs).not.toBe(0n);
    expect(BASE_LABEL_KEYS).toEqual(['container', 'id', 'image', 'name', 'namespace', 'pod']);
  });
});

describe('metric descriptors', () => {
  it('name each metric once and include what the kubelet reads', () => {
    const names = METRIC_DESCRIPTORS.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of [
      'container_cpu_usage_seconds_total',
      'container_memory_working_set_bytes',
      'container_memory_usage_bytes',
      'container_memory_rss',
      'container_network_receive_bytes_total',
      'container_network_transmit_bytes_total',
    ]) {
      expect(names).toContain(n);
    }
    expect(METRIC_DESCRIPTORS.find((d) => d.name === 'container_network_receive_bytes_total')?.labelKeys.at(-1)).toBe('interface');
    expect(METRIC_DESCRIPTORS.find((d) => d.name === 'container_memory_failures_total')?.labelKeys.slice(-2)).toEqual(['failure_type', 'scope']);
  });
});
