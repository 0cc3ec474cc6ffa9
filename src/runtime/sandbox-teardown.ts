/**
 * StopPodSandbox and RemovePodSandbox. Both are idempotent and succeed for ids we do
 * not know (the kubelet retries them blindly); both work when the pause container
 * already died or was removed by hand, because what CNI DEL needs is in the state file.
 */
import type Docker from 'dockerode';
import type { Logger } from '../logger.js';
import { ignoreGoneOrDone } from './docker-errors.js';
import type { JsonStore } from './json-store.js';
import type { LiveView } from './live-view.js';
import type { PodNetwork } from './pod-network.js';
import { attachmentOf } from './sandbox-run.js';
import { crashPoint } from '../crash-point.js';
import type { SandboxRecord } from './types.js';

/** What a sandbox needs done to the containers inside it. */
export interface PodContainers {
  stopAll(sandboxId: string): Promise<void>;
  removeAll(sandboxId: string): Promise<void>;
}

export interface SandboxTeardownDeps {
  docker: Docker;
  live: LiveView;
  store: JsonStore<SandboxRecord>;
  network: PodNetwork;
  containers: PodContainers;
  logger: Logger;
}

export async function stopSandbox(deps: SandboxTeardownDeps, record: SandboxRecord): Promise<void> {
  // 1. Workloads first: they use the network we are about to take away.
  await deps.containers.stopAll(record.id);
  crashPoint('stop:after-containers');
  // 2. CNI DEL while the namespace may still exist (plugins clean up inside it too).
  // A DEL that fails is one the network layer wants retried (it gives up by itself on
  // those that can never succeed): the pod still stops, so the next Stop/Remove DELs
  // with the namespace gone, which is what bounds the retries (cni/del-policy.ts).
  // Without its network the pod is not ready whatever the pause container does, so
  // both facts go to disk in one write.
  let detachError: unknown;
  if (record.network?.attached) {
    try {
      await deps.network.detach(attachmentOf(record));
      record.network = { ...record.network, attached: false };
      record.state = 'notready';
      await deps.store.put(record);
      crashPoint('stop:after-cni-del');
    } catch (err) {
      detachError = err;
    }
  }
  // 3. The pause container; gone already is fine. One the live view saw exit (our own
  // earlier Stop, or its death) needs no Docker call: RemovePodSandbox after
  // StopPodSandbox, the kubelet's order, then costs only the removals.
  if (deps.live.get(record.pauseContainerId)?.state !== 'exited') {
    await ignoreGoneOrDone(deps.docker.getContainer(record.pauseContainerId).stop({ t: 0 }));
    crashPoint('stop:after-pause-stop');
    deps.live.noteExited(record.pauseContainerId);
  }
  if (record.state !== 'notready') {
    record.state = 'notready';
    await deps.store.put(record);
  }
  if (detachError !== undefined) {
    deps.logger.warn({ sandbox: record.id, err: (detachError as Error).message }, 'sandbox stopped, but CNI DEL failed; Stop/Remove will retry it');
    throw detachError;
  }
  deps.logger.info({ sandbox: record.id }, 'sandbox stopped');
}

export async function removeSandbox(deps: SandboxTeardownDeps, record: SandboxRecord): Promise<void> {
  await stopSandbox(deps, record);
  crashPoint('remove:after-stop');
  await deps.containers.removeAll(record.id);
  crashPoint('remove:after-containers');
  await ignoreGoneOrDone(deps.docker.getContainer(record.pauseContainerId).remove({ force: true }));
  crashPoint('remove:after-pause-remove');
  deps.live.forget(record.pauseContainerId);
  await deps.store.delete(record.id);
  deps.logger.info({ sandbox: record.id }, 'sandbox removed');
}
