/**
 * Workload containers: create (joined into the sandbox's namespaces), start, stop,
 * remove, status and list. Records live in our store; live state comes from Docker.
 */
import { readFileSync } from 'node:fs';
import type Docker from 'dockerode';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { GrantableCapabilities } from './capabilities.js';
import { containerCreateOptions, containerLogPath } from './container-config.js';
import { UNKNOWN_STATE } from './container-state.js';
import { dockerMessage, dockerStatus, fromDocker, ignoreGoneOrDone } from './docker-errors.js';
import type { JsonStore } from './json-store.js';
import { LABEL_MANAGED, matchesSelector } from './labels.js';
import { workloadContainerName } from './naming.js';
import type { LiveView } from './live-view.js';
import { DOCKER_LOG_CONFIG, type LogManager } from './logs/index.js';
import { checkRealParentInside } from './safe-path.js';
import { nowNs } from './time.js';
import { crashPoint } from '../crash-point.js';
import type { ContainerRecord, ContainerSpec, SandboxRecord } from './types.js';
import type { ContainerFilter, ContainerView } from './views.js';

export interface ContainerDeps {
  docker: Docker;
  instance: string;
  store: JsonStore<ContainerRecord>;
  live: LiveView;
  logger: Logger;
  /** Writes CRI log files; absent in code that never starts containers. */
  logs?: LogManager;
  /** What privileged containers may ask Docker for; learns the daemon's gaps from its refusals. */
  capabilities: GrantableCapabilities;
}

async function imageId(docker: Docker, image: string): Promise<string> {
  try {
    return (await docker.getImage(image).inspect()).Id;
  } catch (err) {
    if (dockerStatus(err) === 404) throw new NotFoundError(`image "${image}" is not present on the node; pull it first`);
    throw fromDocker(err, `image "${image}"`);
  }
}

/**
 * A container of the same name (same pod, container name and attempt) exists when the
 * kubelet retries a CreateContainer that timed out. One that never started is the
 * leftover of that first try: remove it and create afresh, as cri-dockerd does.
 */
async function clearNameConflict(deps: ContainerDeps, name: string): Promise<void> {
  // Docker's name filter is a regular expression; our names only hold [A-Za-z0-9_.-].
  const pattern = `^/${name.replace(/\./g, '\\.')}$`;
  const [existing] = await deps.docker.listContainers({ all: true, filters: { name: [pattern] } });
  if (!existing) return;
  // Never touch a container that is not this shim's, whatever its name.
  if (existing.Labels[LABEL_MANAGED] !== deps.instance || existing.State !== 'created') {
    throw new FailedPreconditionError(`container name ${name} is already used by ${existing.Id.slice(0, 12)} (${existing.State})`);
  }
  deps.logger.info({ name, stale: existing.Id }, 'removing never-started container left by an earlier attempt');
  await ignoreGoneOrDone(deps.docker.getContainer(existing.Id).remove({ force: true }));
  await deps.store.delete(existing.Id);
}

export async function createContainer(deps: ContainerDeps, sandbox: SandboxRecord, spec: ContainerSpec): Promise<ContainerRecord> {
  if (sandbox.state !== 'ready') {
    throw new FailedPreconditionError(`sandbox ${sandbox.id} is not ready; cannot create container ${spec.name}`);
  }
  if (spec.security.privileged && !sandbox.spec.privileged) {
    // As containerd: a privileged container needs a privileged pod.
    throw new InvalidArgumentError(`container ${spec.name} is privileged but its sandbox ${sandbox.id} is not`);
  }
  // The log file must land inside log_directory, also through symlinks (safe-path.ts).
  const logPath = containerLogPath(sandbox, spec);
  if (logPath) await checkRealParentInside(sandbox.spec.logDirectory, logPath, 'log file');
  const ref = await imageId(deps.docker, spec.image);
  const readProfile = (path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new InvalidArgumentError(`seccomp localhost profile ${path}: ${(err as Error).message}`);
    }
  };
  const build = (grantable: string[]): Docker.ContainerCreateOptions => {
    const options = containerCreateOptions(spec, sandbox, readProfile, deps.instance, grantable);
    // Our log writer reads Docker's json-file copy (timestamps, `since`), whatever the daemon's default driver.
    options.HostConfig = { ...options.HostConfig, LogConfig: DOCKER_LOG_CONFIG };
    return options;
  };
  const createWithCaps = () => deps.capabilities.create(build, (options) => deps.docker.createContainer(options));
  let created: Docker.Container;
  try {
    created = await createWithCaps();
  } catch (err) {
    // A taken name comes back as 409 from the create itself: only then look for the
    // leftover of an earlier attempt (a list call saved on every ordinary create).
    if (dockerStatus(err) !== 409) throw fromDocker(err, `CreateContainer ${spec.name}: Docker refused it`);
    await clearNameConflict(deps, workloadContainerName(spec.name, sandbox.spec.metadata, spec.attempt));
    try {
      created = await createWithCaps();
    } catch (retryErr) {
      throw fromDocker(retryErr, `CreateContainer ${spec.name}: Docker refused it`);
    }
  }
  crashPoint('create:after-docker-create');
  const record: ContainerRecord = {
    id: created.id,
    sandboxId: sandbox.id,
    spec,
    imageRef: ref,
    createdAt: nowNs(),
    logPath,
  };
  try {
    await deps.store.put(record);
  } catch (err) {
    await ignoreGoneOrDone(created.remove({ force: true }));
    throw err;
  }
  crashPoint('create:after-record');
  await deps.live.refresh(record.id);
  return record;
}

function mustGet(deps: ContainerDeps, id: string): ContainerRecord {
  const record = deps.store.resolve(id);
  if (!record) throw new NotFoundError(`container "${id}" not found`);
  return record;
}

export async function startContainer(deps: ContainerDeps, id: string): Promise<void> {
  const record = mustGet(deps, id);
  // The CRI log file exists before the process writes (and when StartContainer
  // returns); failing to create it fails the start, as in containerd.
  const log = await deps.logs?.prepare(record);
  try {
    await deps.docker.getContainer(record.id).start();
  } catch (err) {
    const status = dockerStatus(err);
    if (status === 304) {
      log?.follow();
      return;
    }
    log?.abandon();
    if (status === 404) throw new NotFoundError(`container "${id}": its Docker container is gone`);
    // The process did not start (bad command, missing mount source): the container
    // exists but cannot run, which is a state problem rather than a bad request.
    if (status === 500) throw new FailedPreconditionError(`StartContainer ${record.spec.name}: ${dockerMessage(err)}`);
    throw fromDocker(err, `StartContainer ${record.spec.name}`);
  } finally {
    await deps.live.refresh(record.id);
  }
  log?.follow();
}

/** SIGTERM, then SIGKILL after `timeoutSeconds` (Docker's stop does exactly that). */
export async function stopContainer(deps: ContainerDeps, id: string, timeoutSeconds: number): Promise<void> {
  // Only our own containers: an id we never created may belong to someone else on this dockerd.
  const record = deps.store.resolve(id);
  if (!record) return;
  // Seen to exit already (an earlier Stop refreshed the view, or Docker's die event did): nothing to stop.
  if (deps.live.get(record.id)?.state === 'exited') return;
  const stopIssuedAt = Date.now();
  await ignoreGoneOrDone(deps.docker.getContainer(record.id).stop({ t: Math.max(0, Math.floor(timeoutSeconds)) }));
  await deps.live.refreshAfterStop(record.id, stopIssuedAt);
}

export async function removeContainer(deps: ContainerDeps, id: string): Promise<void> {
  const record = deps.store.resolve(id);
  if (!record) return;
  await ignoreGoneOrDone(deps.docker.getContainer(record.id).remove({ force: true }));
  deps.live.forget(record.id);
  await deps.logs?.forget(record.id);
  await deps.store.delete(record.id);
}

/** The longest a status waits for an exited container's log to be complete (see LogManager.settled). */
export const LOG_SETTLE_MS = 5000;

/** The live state, and for an exited container only once its log holds all its output. */
async function liveState(deps: ContainerDeps, id: string): Promise<ContainerView['live']> {
  const live = deps.live.get(id) ?? UNKNOWN_STATE;
  if (live.state !== 'exited' || !deps.logs) return live;
  await deps.logs.settled(id, LOG_SETTLE_MS);
  // Read again: an event handled meanwhile (a late `oom`) may have changed it.
  return deps.live.get(id) ?? UNKNOWN_STATE;
}

export async function containerStatus(deps: ContainerDeps, id: string): Promise<ContainerView> {
  const record = mustGet(deps, id);
  return { record, live: await liveState(deps, record.id) };
}

/** An exact id, or a prefix that names exactly one of `ids`; an ambiguous prefix lists nothing (as containerd). */
function uniqueMatch(ids: Iterable<string>, wanted: string): string | undefined {
  const matches = new Set([...ids].filter((id) => id.startsWith(wanted)));
  if (matches.has(wanted)) return wanted;
  return matches.size === 1 ? [...matches][0] : undefined;
}

export async function listContainers(deps: ContainerDeps, filter: ContainerFilter): Promise<ContainerView[]> {
  let records = deps.store.list();
  if (filter.id) {
    const id = uniqueMatch(records.map((r) => r.id), filter.id);
    records = records.filter((r) => r.id === id);
  }
  if (filter.sandboxId) {
    const sandboxId = uniqueMatch(records.map((r) => r.sandboxId), filter.sandboxId);
    records = records.filter((r) => r.sandboxId === sandboxId);
  }
  records = records.filter((r) => matchesSelector(r.spec.labels, filter.labelSelector));
  // Waiting for an exited container's log (liveState) never makes it match another state:
  // leave out what cannot match before waiting, so a list of running ones never waits.
  if (filter.state && filter.state !== 'exited') {
    records = records.filter((r) => (deps.live.get(r.id) ?? UNKNOWN_STATE).state === filter.state);
  }
  const views = await Promise.all(records.map(async (record): Promise<ContainerView> => ({ record, live: await liveState(deps, record.id) })));
  return filter.state ? views.filter((v) => v.live.state === filter.state) : views;
}

export function containersOf(deps: ContainerDeps, sandboxId: string): ContainerRecord[] {
  return deps.store.list().filter((r) => r.sandboxId === sandboxId);
}
