/**
 * The runtime's face towards src/cri: sandboxes and the containers in them. It owns
 * the two state stores and wires the sandbox steps to the container operations.
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { KeyedMutex } from '../keyed-mutex.js';
import type Docker from 'dockerode';
import { FailedPreconditionError, NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import * as containers from './containers.js';
import { JsonStore } from './json-store.js';
import { LiveView } from './live-view.js';
import { adoptOrphans } from './adopt.js';
import { GrantableCapabilities } from './capabilities.js';
import type { DockerContainerEvent } from './docker-events.js';
import { toPodEvent, type PodEvent } from './pod-events.js';
import type { PodNetwork } from './pod-network.js';
import type { EnsureImage } from './images/ensure-image.js';
import { listSandboxes, sandboxView } from './sandbox-query.js';
import { runSandbox } from './sandbox-run.js';
import { removeSandbox, stopSandbox, type PodContainers } from './sandbox-teardown.js';
import { execSync, type ExecSyncResult } from './exec-sync.js';
import { nowNs } from './time.js';
import { LogManager } from './logs/index.js';
import { updateContainerResources, type ResourcesUpdate } from './update-resources.js';
import type { ContainerRecord, ContainerSpec, PodResources, SandboxRecord, SandboxSpec } from './types.js';
import type { ContainerFilter, ContainerView, SandboxFilter, SandboxView } from './views.js';

export interface PodRuntime {
  runSandbox(spec: SandboxSpec): Promise<SandboxRecord>;
  stopSandbox(id: string): Promise<void>;
  removeSandbox(id: string): Promise<void>;
  sandboxStatus(id: string): Promise<SandboxView>;
  listSandboxes(filter: SandboxFilter): Promise<SandboxView[]>;
  createContainer(sandboxId: string, spec: ContainerSpec): Promise<ContainerRecord>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  containerStatus(id: string): Promise<ContainerView>;
  listContainers(filter: ContainerFilter): Promise<ContainerView[]>;
  subscribe(listener: (event: PodEvent) => void): () => void;
  /** Runs `cmd` in a running container; kills it and throws DEADLINE_EXCEEDED after `timeoutSeconds` (0 = none) or on `signal`. */
  execSync(id: string, cmd: string[], timeoutSeconds: number, signal?: AbortSignal): Promise<ExecSyncResult>;
  /** Applies new limits to a created or running container and records them. */
  updateContainerResources(id: string, update: ResourcesUpdate): Promise<ContainerRecord>;
  /** Continues the container's CRI log in a new file at its path (the kubelet renamed the old one). */
  reopenContainerLog(id: string): Promise<void>;
}

/**
 * UpdatePodSandboxResources. Kept apart from PodRuntime: only the CRI handler of that
 * RPC needs it.
 */
export interface SandboxResourcesRecorder {
  /** Records the pod-level resources the kubelet has set on the pod's cgroup; NOT_FOUND for an unknown sandbox. */
  updateSandboxResources(id: string, update: Omit<PodResources, 'updatedAt'>): Promise<SandboxRecord>;
}

export interface PodRuntimeOptions {
  docker: Docker;
  network: PodNetwork;
  stateDir: string;
  pauseImage: string;
  /** Pulls the pause image when RunPodSandbox finds it missing (see images/ensure-image.ts). */
  ensureImage?: EnsureImage;
  logger: Logger;
  /** What privileged containers may ask Docker for; tests give a fake kernel's bounding set. */
  capabilities?: GrantableCapabilities;
}

export class DockerPodRuntime implements PodRuntime, SandboxResourcesRecorder {
  private readonly sandboxes: JsonStore<SandboxRecord>;
  private readonly sandboxLocks = new KeyedMutex();
  private readonly containerLocks = new KeyedMutex();
  private readonly containerDeps: containers.ContainerDeps;
  /** Live state of every container we made, pause containers included. */
  readonly live: LiveView;
  /** Value of our managed label: the state dir, unique per shim on a dockerd. */
  private readonly instance: string;

  constructor(private readonly opts: PodRuntimeOptions) {
    this.sandboxes = new JsonStore(join(opts.stateDir, 'sandboxes'), opts.logger);
    this.instance = resolve(opts.stateDir);
    this.live = new LiveView(opts.docker, opts.logger, this.instance);
    this.containerDeps = {
      docker: opts.docker,
      instance: this.instance,
      live: this.live,
      store: new JsonStore(join(opts.stateDir, 'containers'), opts.logger),
      logger: opts.logger,
      logs: new LogManager({ docker: opts.docker, logger: opts.logger.child({ component: 'logs' }), stateDir: opts.stateDir }),
      capabilities: opts.capabilities ?? new GrantableCapabilities(undefined, opts.logger.child({ component: 'capabilities' })),
    };
  }

  /** Reads the state dir: sandboxes and their IPs survive a shim restart. */
  async load(): Promise<void> {
    await this.sandboxes.load();
    await this.containerDeps.store.load();
    // dockerd may be down while we start: Status then says RuntimeReady=false, and
    // adoption and the live view catch up when Docker's event stream comes back.
    await this.adopt();
    this.live.emitter.on('reconciled', () => {
      if (!this.adopted) void this.adopt();
    });
    await this.live.start();
    // Catch up with what containers wrote while we were down, and follow on.
    await this.containerDeps.logs!.resume(this.containerDeps.store.list(), (id) => this.live.get(id)?.state);
  }

  private adopted = false;

  private async adopt(): Promise<void> {
    try {
      await adoptOrphans({
        docker: this.opts.docker,
        instance: this.instance,
        sandboxes: this.sandboxes,
        containers: this.containerDeps.store,
        network: this.opts.network,
        logger: this.opts.logger,
      });
      this.adopted = true;
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'cannot look for orphaned containers yet');
    }
  }

  /** Stops following Docker's events. */
  close(): void {
    this.containerDeps.logs!.close();
    this.live.stop();
  }

  /** Calls `listener` for every lifecycle event of our sandboxes and containers; returns the unsubscribe. */
  subscribe(listener: (event: PodEvent) => void): () => void {
    const onDocker = (e: DockerContainerEvent) => {
      const event = toPodEvent(e);
      if (event) listener(event);
    };
    this.live.emitter.on('event', onDocker);
    return () => this.live.emitter.off('event', onDocker);
  }

  private readonly podContainers: PodContainers = {
    stopAll: async (sandboxId) => {
      await Promise.all(containers.containersOf(this.containerDeps, sandboxId).map((c) => containers.stopContainer(this.containerDeps, c.id, 0)));
    },
    removeAll: async (sandboxId) => {
      for (const c of containers.containersOf(this.containerDeps, sandboxId)) await containers.removeContainer(this.containerDeps, c.id);
    },
  };

  private teardownDeps() {
    return { docker: this.opts.docker, live: this.live, store: this.sandboxes, network: this.opts.network, containers: this.podContainers, logger: this.opts.logger };
  }

  private mustGetSandbox(id: string): SandboxRecord {
    const record = this.sandboxes.resolve(id);
    if (!record) throw new NotFoundError(`pod sandbox "${id}" not found`);
    return record;
  }

  /**
   * Runs `fn` on the sandbox `id` (full id or unique prefix) under its lock: Run, Stop,
   * Remove and CreateContainer of one pod never interleave (the kubelet's pod worker
   * and its garbage collector can call at the same time). The record is looked up
   * again inside the lock, so a call that waited behind a Remove finds nothing.
   */
  private async withSandbox<T>(id: string, fn: (record: SandboxRecord | undefined) => Promise<T>): Promise<T> {
    const fullId = this.sandboxes.resolve(id)?.id ?? id;
    return this.sandboxLocks.run(fullId, () => fn(this.sandboxes.get(fullId)));
  }

  runSandbox(spec: SandboxSpec): Promise<SandboxRecord> {
    const { docker, network, pauseImage, ensureImage, logger } = this.opts;
    const id = randomBytes(32).toString('hex');
    const deps = { docker, instance: this.instance, live: this.live, network, pauseImage, ensureImage, logger, store: this.sandboxes };
    return this.sandboxLocks.run(id, () => runSandbox(deps, spec, id));
  }

  async stopSandbox(id: string): Promise<void> {
    await this.withSandbox(id, async (record) => {
      if (record) await stopSandbox(this.teardownDeps(), record);
    });
  }

  async removeSandbox(id: string): Promise<void> {
    await this.withSandbox(id, async (record) => {
      if (record) await removeSandbox(this.teardownDeps(), record);
    });
  }

  /**
   * The pod's cgroup (cgroup_parent) belongs to the kubelet, which has already written
   * the new values when it calls (the CRI says so), and Docker has no API on a parent
   * cgroup; the containers' own limits come with UpdateContainerResources. So this
   * records what the pod now has, for PodSandboxStatus, and changes no cgroup.
   */
  async updateSandboxResources(id: string, update: Omit<PodResources, 'updatedAt'>): Promise<SandboxRecord> {
    return this.withSandbox(id, async (record) => {
      if (!record) throw new NotFoundError(`pod sandbox "${id}" not found`);
      const next: SandboxRecord = { ...record, podResources: { ...update, updatedAt: nowNs() } };
      await this.sandboxes.put(next);
      return next;
    });
  }

  async sandboxStatus(id: string): Promise<SandboxView> {
    return sandboxView(this.live, this.mustGetSandbox(id));
  }

  async listSandboxes(filter: SandboxFilter): Promise<SandboxView[]> {
    return listSandboxes(this.live, this.sandboxes, filter);
  }

  createContainer(sandboxId: string, spec: ContainerSpec): Promise<ContainerRecord> {
    return this.withSandbox(sandboxId, (record) => {
      if (!record) throw new NotFoundError(`pod sandbox "${sandboxId}" not found`);
      return containers.createContainer(this.containerDeps, record, spec);
    });
  }

  /** Start, Stop and Remove of one container are serialized (Remove waits for a Stop's grace period). */
  private withContainer<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const fullId = this.containerDeps.store.resolve(id)?.id ?? id;
    return this.containerLocks.run(fullId, fn);
  }

  startContainer(id: string): Promise<void> {
    return this.withContainer(id, () => containers.startContainer(this.containerDeps, id));
  }

  stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    return this.withContainer(id, () => containers.stopContainer(this.containerDeps, id, timeoutSeconds));
  }

  removeContainer(id: string): Promise<void> {
    return this.withContainer(id, () => containers.removeContainer(this.containerDeps, id));
  }

  containerStatus(id: string): Promise<ContainerView> {
    return containers.containerStatus(this.containerDeps, id);
  }

  listContainers(filter: ContainerFilter): Promise<ContainerView[]> {
    return containers.listContainers(this.containerDeps, filter);
  }

  execSync(id: string, cmd: string[], timeoutSeconds: number, signal?: AbortSignal): Promise<ExecSyncResult> {
    const { docker, logger } = this.opts;
    return this.withRunning(id, async (record) => {
      const exited = new AbortController();
      const unsubscribe = this.subscribe((e) => {
        if (e.id === record.id && (e.type === 'stopped' || e.type === 'deleted')) exited.abort();
      });
      try {
        return await execSync(docker, logger, record.id, cmd, { timeoutMs: timeoutSeconds * 1000, signal, containerExited: exited.signal });
      } finally {
        unsubscribe();
      }
    });
  }

  /** Under the container's lock: a Remove finishing meanwhile must not be undone by our record write. */
  updateContainerResources(id: string, update: ResourcesUpdate): Promise<ContainerRecord> {
    return this.withContainer(id, () => updateContainerResources(this.containerDeps, id, update));
  }

  reopenContainerLog(id: string): Promise<void> {
    return this.withRunning(id, (record) => this.containerDeps.logs!.reopen(record));
  }

  /** FAILED_PRECONDITION unless the container runs (as containerd answers ExecSync and ReopenContainerLog). */
  private async withRunning<T>(id: string, fn: (record: ContainerRecord) => Promise<T>): Promise<T> {
    const { record, live } = await containers.containerStatus(this.containerDeps, id);
    if (live.state !== 'running') throw new FailedPreconditionError(`container ${record.id} is not running (${live.state})`);
    return fn(record);
  }
}
