/**
 * RunPodSandbox, as numbered steps with an undo stack: either the pod ends up with a
 * running pause container, an attached network and a state file, or nothing of it
 * is left (no container, no IP, no veth, no file).
 */
import type Docker from 'dockerode';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, ShimError, codeOf, errorMessage, type ShimErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { dockerMessage, dockerStatus, fromDocker, ignoreGoneOrDone } from './docker-errors.js';
import type { JsonStore } from './json-store.js';
import type { LiveView } from './live-view.js';
import { dockerLabels } from './labels.js';
import { sandboxContainerName } from './naming.js';
import { clampOomScoreAdj } from './oom.js';
import { renderHosts, renderResolvConf, writePodFile } from './pod-files.js';
import { bandwidthFromAnnotations, type PodAttachment, type PodNetwork } from './pod-network.js';
import { nowNs } from './time.js';
import type { SandboxRecord, SandboxSpec } from './types.js';
import { UndoStack } from './undo.js';
import { createWithImage, type EnsureImage } from './images/ensure-image.js';

/** The kubelet gives the pause container no score; containerd's default is this. */
const PAUSE_OOM_SCORE_ADJ = -998;

export interface SandboxRunDeps {
  docker: Docker;
  /** Our instance id for the managed label (see labels.ts). */
  instance: string;
  live: LiveView;
  store: JsonStore<SandboxRecord>;
  network: PodNetwork;
  pauseImage: string;
  /** Pulls the pause image when the create finds it missing; without it, a missing image fails the pod. */
  ensureImage?: EnsureImage;
  logger: Logger;
}

/** Which step failed, for the error the kubelet shows in its events. */
class StepError extends ShimError {
  override readonly code: ShimErrorCode;
  constructor(step: string, cause: unknown) {
    super(`RunPodSandbox: ${step}: ${errorMessage(cause)}`, { cause });
    // Keep the cause's meaning (INVALID_ARGUMENT from a bad config, UNAVAILABLE when dockerd is down).
    this.code = codeOf(cause);
  }
}

async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new StepError(name, err);
  }
}

export function attachmentOf(record: SandboxRecord): PodAttachment {
  return {
    sandboxId: record.id,
    pauseContainerId: record.pauseContainerId,
    netnsPath: record.netnsPath,
    pod: record.spec.metadata,
    portMappings: record.spec.portMappings,
    bandwidth: bandwidthFromAnnotations(record.spec.annotations),
  };
}

async function checkRuntimeHandler(docker: Docker, handler: string): Promise<void> {
  if (handler === '') return;
  const info = await docker.info();
  const known = Object.keys((info as { Runtimes?: Record<string, unknown> }).Runtimes ?? {});
  if (!known.includes(handler)) {
    throw new InvalidArgumentError(`runtime_handler "${handler}" is not a Docker runtime (known: ${known.join(', ') || 'none'})`);
  }
}

function pauseCreateOptions(id: string, spec: SandboxSpec, image: string, instance: string): Docker.ContainerCreateOptions {
  const hostNetwork = spec.namespaces.network === 'node';
  const md = spec.metadata;
  return {
    name: sandboxContainerName(md, md.attempt),
    Image: image,
    // With the host's network the pod also has the host's name: Docker refuses both.
    Hostname: hostNetwork ? undefined : spec.hostname || md.name,
    Labels: dockerLabels(
      { instance, kind: 'sandbox', sandboxId: id, podName: md.name, podNamespace: md.namespace, podUid: md.uid, logPath: spec.logDirectory },
      spec.labels,
      spec.annotations,
    ),
    HostConfig: {
      NetworkMode: hostNetwork ? 'host' : 'none',
      IpcMode: spec.namespaces.ipc === 'node' ? 'host' : 'shareable',
      PidMode: spec.namespaces.pid === 'node' ? 'host' : '',
      CgroupParent: spec.cgroupParent || undefined,
      Sysctls: Object.keys(spec.sysctls).length ? spec.sysctls : undefined,
      OomScoreAdj: clampOomScoreAdj(PAUSE_OOM_SCORE_ADJ),
      RestartPolicy: { Name: 'no' },
    },
  };
}

function createError(err: unknown, image: string, spec: SandboxSpec, name: string): Error {
  const md = spec.metadata;
  switch (dockerStatus(err)) {
    case 404:
      return new FailedPreconditionError(`pause image ${image} is not present (hack/setup.sh builds it): ${dockerMessage(err)}`);
    case 409:
      return new AlreadyExistsError(`pod ${md.namespace}/${md.name} attempt ${md.attempt} already has a sandbox container (${name})`);
    default:
      return fromDocker(err, 'Docker refused it');
  }
}

/** `id` is chosen by the caller, which holds the sandbox's lock under it. */
export async function runSandbox(deps: SandboxRunDeps, spec: SandboxSpec, id: string): Promise<SandboxRecord> {
  const { docker, store, network, logger } = deps;
  const log = logger.child({ sandbox: id });
  const undo = new UndoStack(log);
  try {
    // 1. Inputs that need Docker to check.
    await step('checking runtime handler', () => checkRuntimeHandler(docker, spec.runtimeHandler));

    // 2. The pause container: it holds the pod's namespaces. A missing image or a taken
    // name come back from the create itself, which saves two Docker calls per pod.
    const options = pauseCreateOptions(id, spec, deps.pauseImage, deps.instance);
    const container = await step('creating pause container', async () => {
      try {
        return await createWithImage(() => docker.createContainer(options), deps.pauseImage, deps.ensureImage, log);
      } catch (err) {
        throw createError(err, deps.pauseImage, spec, options.name!);
      }
    });
    undo.push('remove pause container', () => ignoreGoneOrDone(container.remove({ force: true })));
    await step('starting pause container', async () => {
      try {
        await container.start();
      } catch (err) {
        throw fromDocker(err, 'Docker refused it');
      }
    });
    const inspect = await step('inspecting pause container', () => container.inspect());
    if (spec.dns) {
      await step('writing resolv.conf', () => writePodFile(inspect.ResolvConfPath, renderResolvConf(spec.dns!)));
    }

    // 3. State on disk before any network change, so a crash mid-ADD still tears down.
    const podNetwork = spec.namespaces.network !== 'node';
    const record: SandboxRecord = {
      id,
      pauseContainerId: container.id,
      spec,
      createdAt: nowNs(),
      state: 'notready',
      netnsPath: podNetwork ? inspect.NetworkSettings.SandboxKey : '',
      ips: [],
      network: podNetwork ? { attached: true, ifName: 'eth0', result: null } : null,
    };
    await step('writing sandbox state', () => store.put(record));
    undo.push('delete sandbox state', () => store.delete(id));

    // 4. The CNI chain against the pause container's namespace.
    if (podNetwork) {
      const att = attachmentOf(record);
      // If DEL fails, what is left (IP, veth, rules) can only be freed by a later
      // DEL: keep the state file and the pause container so Stop/Remove retry it.
      undo.push('CNI DEL', () => network.detach(att), { stopOnFailure: true });
      const attached = await step('CNI ADD', () => network.attach(att));
      record.ips = attached.ips;
      record.network = { attached: true, ifName: attached.ifName, result: attached.result };
      await step('writing /etc/hosts', () =>
        writePodFile(inspect.HostsPath, renderHosts(spec.hostname || spec.metadata.name, attached.ips)),
      );
    }

    // 5. Ready.
    record.state = 'ready';
    await step('writing sandbox state', () => store.put(record));
    undo.clear();
    await deps.live.refresh(container.id);
    log.info({ pause: container.id, ips: record.ips }, 'sandbox ready');
    return record;
  } catch (err) {
    await undo.run();
    throw err;
  }
}
