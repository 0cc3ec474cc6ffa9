/**
 * Container and pod stats from cgroup files and procfs, never from `docker stats`
 * (one streaming Engine call per container is what costs cri-dockerd's users their
 * CPU). A call costs one Docker list of containers (plus one of pause containers for
 * pod stats), a cached inspect per container, a few small file reads per cgroup, and
 * a writable-layer walk at most every 30 s per container.
 *
 * A pod's cgroup is its cgroup_parent (the kubelet's `/kubepods/…/pod<uid>`), which
 * holds the pause container and every workload container; a pod run without one
 * (crictl, tests) has none, and its usage is the sum of its containers'.
 */
import { dirname } from 'node:path';
import type Docker from 'dockerode';
import { FailedPreconditionError, errorMessage } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { PodRuntime } from '../pods.js';
import { nowNs } from '../time.js';
import type { ContainerFilter, ContainerView, SandboxFilter, SandboxView } from '../views.js';
import { detectLayout, isEmptySample, parentRef, readCgroup, sumSamples, type CgroupLayout, type CgroupRef } from './cgroups.js';
import { CpuRateTracker } from './cpu-rate.js';
import { kernelFiles } from './kernel-files.js';
import { networkStats, readNetDev } from './net-dev.js';
import { TargetCache, type DockerTarget } from './targets.js';
import type { CgroupSample, CpuStats, FsStats, MemoryStats, NetworkStats, ProcessStats } from './types.js';
import { WritableLayerCache, type WritableLayerOptions } from './writable-layer.js';

export interface StatsServiceOptions {
  pods: PodRuntime;
  docker: Docker;
  logger: Logger;
  /** Where procfs is mounted (tests point it at fixtures). */
  procRoot?: string;
  /** The cgroup layout; detected from /proc/self/mountinfo when not given. */
  layout?: CgroupLayout | null;
  writableLayer?: WritableLayerOptions;
  /** Minimum window for usage_nano_cores. */
  minCpuWindowMs?: number;
}

export interface ResourceStats {
  /** The cgroup path (cAdvisor's `id` label); '' when the container has none now. */
  cgroupPath: string;
  cpu: CpuStats | null;
  memory: MemoryStats | null;
  process: ProcessStats | null;
}

export interface ContainerStatsSample extends ResourceStats {
  view: ContainerView;
  /** Docker's facts about it; null if Docker no longer has it. */
  target: DockerTarget | null;
  writableLayer: FsStats | null;
}

export interface PodStatsSample extends ResourceStats {
  view: SandboxView;
  pause: DockerTarget | null;
  network: NetworkStats | null;
  /** Its running containers. */
  containers: ContainerStatsSample[];
}

/** How long (ms) sampling may hold the event loop before it yields (cgroup files are read synchronously). */
const SLICE_BUDGET_MS = 3;

/**
 * `fn` over `items`, one at a time, with a turn of the event loop whenever the slice has
 * run for SLICE_BUDGET_MS: the reads are synchronous, and a fixed count of items per
 * slice (8 pods = a few hundred files) still held other RPCs for tens of ms on a busy
 * node, where one memory.stat read can take a millisecond.
 */
async function inSlices<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  let sliceStart = performance.now();
  for (const item of items) {
    if (performance.now() - sliceStart >= SLICE_BUDGET_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
    out.push(await fn(item));
  }
  return out;
}

/** How long a cgroup reading may be handed to a container-stats call. */
const READING_REUSE_MS = 1000;

/**
 * Caches of containers not sampled for this long are dropped (removed ones: the kubelet
 * asks for every live container every 10-15 s). A minute, not five: across 110-pod
 * churn cycles the entries of removed containers were what the shim's RSS still
 * carried from one cycle into the next.
 */
const FORGET_AFTER_MS = 60_000;
const SWEEP_EVERY_MS = 30_000;

export class StatsService {
  private readonly targets: TargetCache;
  private readonly cpuRates: CpuRateTracker;
  private readonly layers: WritableLayerCache;
  private readonly procRoot: string;
  private layoutPromise: Promise<CgroupLayout | null> | undefined;
  private dockerRoot: Promise<string | null> | undefined;
  private readonly lastSeen = new Map<string, number>();
  /** The last reading of each cgroup (by path), for container stats asked right after pod stats. */
  private readonly readings = new Map<string, { sample: CgroupSample | null; ts: bigint; at: number }>();
  private lastSweep = Date.now();

  constructor(private readonly opts: StatsServiceOptions) {
    this.procRoot = opts.procRoot ?? '/proc';
    if (opts.layout !== undefined) this.layoutPromise = Promise.resolve(opts.layout);
    this.targets = new TargetCache(opts.docker, () => this.layout(), this.procRoot);
    this.cpuRates = new CpuRateTracker(BigInt(opts.minCpuWindowMs ?? 500) * 1_000_000n);
    this.layers = new WritableLayerCache({
      onError: (id, err) => opts.logger.debug({ container_id: id, err: errorMessage(err) }, 'writable layer not measured'),
      ...opts.writableLayer,
    });
  }

  private layout(): Promise<CgroupLayout | null> {
    this.layoutPromise ??= detectLayout(this.procRoot).catch((err: unknown) => {
      this.opts.logger.warn({ err: errorMessage(err) }, 'no cgroup layout: container stats will have no CPU or memory');
      return null;
    });
    return this.layoutPromise;
  }

  async containerStats(id: string): Promise<ContainerStatsSample> {
    const view = await this.opts.pods.containerStatus(id);
    return (await this.sampleContainer(view, false)).sample;
  }

  /** Every container the filter selects; CPU and memory only for running ones. */
  async listContainerStats(filter: ContainerFilter): Promise<ContainerStatsSample[]> {
    const views = await this.opts.pods.listContainers(filter);
    await this.warmTargets(views.map((v) => [v.record.id, v.live.state === 'running']));
    const out = await inSlices(views, async (v) => (await this.sampleContainer(v, true)).sample);
    this.sweep();
    return out;
  }

  async podSandboxStats(id: string): Promise<PodStatsSample> {
    const view = await this.opts.pods.sandboxStatus(id);
    if (view.state !== 'ready') {
      throw new FailedPreconditionError(`pod sandbox ${view.record.id} is not ready: it has no stats`);
    }
    const containers = await this.opts.pods.listContainers({ sandboxId: view.record.id, state: 'running' });
    return this.samplePod(view, containers);
  }

  /** Ready sandboxes the filter selects (a stopped pod has no cgroup or network left to read). */
  async listPodSandboxStats(filter: SandboxFilter): Promise<PodStatsSample[]> {
    const [sandboxes, containers] = await Promise.all([
      this.opts.pods.listSandboxes({ ...filter, state: 'ready' }),
      this.opts.pods.listContainers({ state: 'running' }),
    ]);
    const bySandbox = new Map<string, ContainerView[]>();
    for (const c of containers) {
      const list = bySandbox.get(c.record.sandboxId) ?? [];
      list.push(c);
      bySandbox.set(c.record.sandboxId, list);
    }
    await this.warmTargets([
      ...sandboxes.map((s): [string, boolean] => [s.record.pauseContainerId, true]),
      ...containers.map((c): [string, boolean] => [c.record.id, true]),
    ]);
    const out = await inSlices(sandboxes, (s) => this.samplePod(s, bySandbox.get(s.record.id) ?? []));
    this.sweep();
    return out;
  }

  private timestamp(): bigint {
    return BigInt(nowNs());
  }

  private touch(id: string): void {
    this.lastSeen.set(id, Date.now());
  }

  /** Drops the caches of containers and pods not asked about for a while (removed ones). */
  private sweep(): void {
    const now = Date.now();
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    for (const [path, r] of this.readings) if (now - r.at > READING_REUSE_MS) this.readings.delete(path);
    // Descriptors of cgroups no call read since the last sweep (removed containers).
    kernelFiles.closeIdle(SWEEP_EVERY_MS, now);
    for (const [id, at] of this.lastSeen) if (now - at > FORGET_AFTER_MS) this.lastSeen.delete(id);
    const live = new Set(this.lastSeen.keys());
    this.targets.retain(live);
    this.layers.retain(live);
    this.cpuRates.retain(new Set([...live].flatMap((id) => [`c:${id}`, `p:${id}`])));
  }

  /**
   * Fills the target cache for many containers at once: a cold cache (first call, new
   * pods) means a Docker inspect each, which must run side by side, not one per slice.
   */
  private async warmTargets(wanted: Array<[dockerId: string, running: boolean]>): Promise<void> {
    await Promise.all(wanted.map(([id, running]) => this.target(id, running)));
  }

  private async target(dockerId: string, running: boolean): Promise<DockerTarget | null> {
    this.touch(dockerId);
    try {
      return await this.targets.get(dockerId, running);
    } catch (err) {
      this.opts.logger.warn({ container_id: dockerId, err: errorMessage(err) }, 'docker inspect for stats failed');
      return null;
    }
  }

  /**
   * Reads a cgroup; an empty sample means it is gone (the container stopped since Docker's
   * list). Every reading is kept for READING_REUSE_MS with its own timestamp, and
   * `reuse` callers (container stats) take a kept one: the kubelet asks for pod stats
   * and container stats back to back, and the pod call has just read every running
   * container. Pod figures always read afresh, so a pod's sum never mixes instants.
   */
  private async read(ref: CgroupRef, what: string, reuse: boolean): Promise<{ sample: CgroupSample | null; ts: bigint }> {
    const kept = this.readings.get(ref.path);
    if (reuse && kept && Date.now() - kept.at < READING_REUSE_MS) return kept;
    const ts = this.timestamp();
    let sample: CgroupSample | null = null;
    try {
      const read = readCgroup(ref);
      sample = isEmptySample(read) ? null : read;
    } catch (err) {
      this.opts.logger.warn({ cgroup: ref.path, of: what, err: errorMessage(err) }, 'reading cgroup failed');
    }
    const reading = { sample, ts, at: Date.now() };
    this.readings.set(ref.path, reading);
    return reading;
  }

  private resources(key: string, cgroupPath: string, raw: CgroupSample | null, ts: bigint): ResourceStats {
    if (!raw) return { cgroupPath, cpu: null, memory: null, process: null };
    const cpu = raw.cpu
      ? { ...raw.cpu, timestampNs: ts, nanoCores: this.cpuRates.observe(key, { usageNs: raw.cpu.usageNs, timestampNs: ts }) }
      : null;
    const memory = raw.memory
      ? {
          ...raw.memory,
          timestampNs: ts,
          available: raw.memory.limit === null ? null : raw.memory.limit > raw.memory.workingSet ? raw.memory.limit - raw.memory.workingSet : 0n,
        }
      : null;
    const process = raw.pids ? { timestampNs: ts, count: raw.pids.current } : null;
    return { cgroupPath, cpu, memory, process };
  }

  private async sampleContainer(view: ContainerView, reuse: boolean): Promise<{ sample: ContainerStatsSample; raw: CgroupSample | null }> {
    const id = view.record.id;
    const running = view.live.state === 'running';
    const target = await this.target(id, running);
    let raw: CgroupSample | null = null;
    let ts = this.timestamp();
    if (running && target?.cgroup) {
      ({ sample: raw, ts } = await this.read(target.cgroup, id, reuse));
      if (!raw) this.targets.forget(id);
    }
    const resources = this.resources(`c:${id}`, running && target?.cgroup ? target.cgroup.path : '', raw, ts);
    return { sample: { ...resources, view, target, writableLayer: await this.writableLayer(target) }, raw };
  }

  private async writableLayer(target: DockerTarget | null): Promise<FsStats | null> {
    if (!target?.upperDir) return null;
    const usage = await this.layers.usage(target.dockerId, target.upperDir);
    if (!usage) return null;
    return {
      timestampNs: usage.timestampNs,
      mountpoint: (await this.dataRoot()) ?? dirname(dirname(dirname(target.upperDir))),
      usedBytes: usage.usedBytes,
      inodesUsed: usage.inodesUsed,
    };
  }

  /** Docker's data root: what ImageFsInfo names as the image filesystem, so the kubelet puts layers there too. */
  private dataRoot(): Promise<string | null> {
    this.dockerRoot ??= this.opts.docker.info().then(
      (info: { DockerRootDir?: string }) => info.DockerRootDir || null,
      () => {
        this.dockerRoot = undefined;
        return null;
      },
    );
    return this.dockerRoot;
  }

  private async samplePod(view: SandboxView, containers: ContainerView[]): Promise<PodStatsSample> {
    const { record } = view;
    const running = containers.filter((c) => c.live.state === 'running');
    const [pause, sampled] = await Promise.all([
      this.target(record.pauseContainerId, true),
      Promise.all(running.map((c) => this.sampleContainer(c, false))),
    ]);
    const ts = this.timestamp();
    let raw: CgroupSample | null = null;
    let cgroupPath = '';
    const podRef = record.spec.cgroupParent && pause?.cgroup ? parentRef(pause.cgroup) : null;
    if (podRef && podRef.path !== '/') {
      raw = (await this.read(podRef, record.id, false)).sample;
      cgroupPath = podRef.path;
    } else {
      const pauseRaw = pause?.cgroup ? (await this.read(pause.cgroup, record.pauseContainerId, false)).sample : null;
      const parts = [pauseRaw, ...sampled.map((s) => s.raw)].filter((s): s is CgroupSample => s !== null);
      raw = parts.length ? sumSamples(parts) : null;
      cgroupPath = pause?.cgroup?.path ?? '';
    }
    // Pod CPU history is kept under the sandbox id: mark it seen, or the sweep drops it.
    this.touch(record.id);
    return {
      ...this.resources(`p:${record.id}`, cgroupPath, raw, ts),
      view,
      pause,
      network: await this.network(view, pause, ts),
      containers: sampled.map((s) => s.sample),
    };
  }

  private async network(view: SandboxView, pause: DockerTarget | null, ts: bigint): Promise<NetworkStats | null> {
    const { record } = view;
    // A host-network pod's counters are the node's, not the pod's.
    if (record.spec.namespaces.network !== 'pod' || !record.network?.attached || !pause) return null;
    if (!(await this.targets.pidIsOf(pause))) {
      this.targets.forget(pause.dockerId);
      return null;
    }
    const all = await readNetDev(this.procRoot, pause.pid);
    return all ? networkStats(all, record.network.ifName || 'eth0', ts) : null;
  }
}
