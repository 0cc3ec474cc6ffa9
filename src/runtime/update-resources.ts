/**
 * UpdateContainerResources: new CPU and memory limits for a created or running
 * container, applied live through Docker's update API (which writes the container's
 * cgroup files through runc), then kept in our record so ContainerStatus shows them.
 *
 * As containerd does, a field left at 0 (or "") keeps its current value: the kubelet
 * sends every field it manages, and crictl only those given on its command line.
 */
import { FailedPreconditionError, NotFoundError } from '../errors.js';
import type { ContainerDeps } from './containers.js';
import { dockerMessage, dockerStatus } from './docker-errors.js';
import type { ContainerRecord, Resources } from './types.js';

export interface ResourcesUpdate {
  cpuPeriod: number;
  /** -1: no limit. */
  cpuQuota: number;
  cpuShares: number;
  memoryLimitBytes: number;
  /**
   * Memory plus swap; -1 = unlimited swap; 0 = keep, or with a new memory limit the same
   * as it (no swap), the kubelet's default on cgroup v1.
   */
  memorySwapLimitBytes: number;
  cpusetCpus: string;
  cpusetMems: string;
}

const NO_RESOURCES: Resources = { cpuPeriod: 0, cpuQuota: 0, cpuShares: 0, memoryLimitBytes: 0, cpusetCpus: '', cpusetMems: '', oomScoreAdj: 0 };

/** The record's resources after the update: set fields replace, unset ones stay. */
export function mergeResources(current: Resources | null, u: ResourcesUpdate): Resources {
  const c = current ?? NO_RESOURCES;
  return {
    cpuPeriod: u.cpuPeriod || c.cpuPeriod,
    cpuQuota: u.cpuQuota || c.cpuQuota,
    cpuShares: u.cpuShares || c.cpuShares,
    memoryLimitBytes: u.memoryLimitBytes || c.memoryLimitBytes,
    cpusetCpus: u.cpusetCpus || c.cpusetCpus,
    cpusetMems: u.cpusetMems || c.cpusetMems,
    // Docker cannot change it on a live container; the kubelet never asks to.
    oomScoreAdj: c.oomScoreAdj,
  };
}

/**
 * The body of `POST /containers/{id}/update` (API 1.41), with only the fields to change:
 * Docker leaves a field that is absent or 0 alone. A new memory limit always comes with
 * its swap limit, since Docker refuses a memory limit above the current memory+swap one;
 * a new swap limit may come alone.
 */
export function dockerUpdateBody(u: ResourcesUpdate): Record<string, number | string> {
  const body: Record<string, number | string> = {};
  if (u.cpuShares) body.CpuShares = u.cpuShares;
  if (u.cpuPeriod) body.CpuPeriod = u.cpuPeriod;
  if (u.cpuQuota) body.CpuQuota = u.cpuQuota;
  if (u.cpusetCpus) body.CpusetCpus = u.cpusetCpus;
  if (u.cpusetMems) body.CpusetMems = u.cpusetMems;
  if (u.memoryLimitBytes) {
    body.Memory = u.memoryLimitBytes;
    body.MemorySwap = u.memorySwapLimitBytes || u.memoryLimitBytes;
  } else if (u.memorySwapLimitBytes) {
    // Swap alone: Docker checks it against the memory limit the container has.
    body.MemorySwap = u.memorySwapLimitBytes;
  }
  return body;
}

export async function updateContainerResources(deps: ContainerDeps, id: string, update: ResourcesUpdate): Promise<ContainerRecord> {
  const record = deps.store.resolve(id);
  if (!record) throw new NotFoundError(`container "${id}" not found`);
  const live = deps.live.get(record.id) ?? (await deps.live.refresh(record.id));
  // containerd's rule: only a container that has not finished can be updated.
  if (!live || (live.state !== 'running' && live.state !== 'created')) {
    throw new FailedPreconditionError(`container ${record.id} is ${live?.state ?? 'gone'}; cannot update its resources`);
  }
  const body = dockerUpdateBody(update);
  if (Object.keys(body).length) {
    try {
      await deps.docker.getContainer(record.id).update(body);
    } catch (err) {
      if (dockerStatus(err) === 404) throw new NotFoundError(`container "${id}": its Docker container is gone`);
      throw new FailedPreconditionError(`UpdateContainerResources ${record.spec.name}: ${dockerMessage(err)}`, { cause: err });
    }
  }
  const updated: ContainerRecord = { ...record, spec: { ...record.spec, resources: mergeResources(record.spec.resources, update) } };
  await deps.store.put(updated);
  return updated;
}
