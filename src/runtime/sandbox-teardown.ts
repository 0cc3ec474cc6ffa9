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
  // 2. CNI DEL while the namespace may still exist (plugins clean up inside it too).
  // Without its network the pod is not ready whatever the pause container does, so
  // both facts go to disk in one write.
  if (record.network?.attached) {
    await deps.network.detach(attachmentOf(record));
    record.network = { ...record.network, attached: false };
    record.state = 'notready';
    await deps.store.put(record);
  }
  // 3. The pause container; gone already is fine. One the live view saw exit (our own
  // earlier Stop, or its death) needs no Docker call: RemovePodSandbox after
  // StopPodSandbox, the kubelet's order, then costs only the removals.
  if (deps.live.get(record.pauseContainerId)?.state !== 'exited') {
    await ignoreGoneOrDone(deps.docker.getContainer(record.pauseContainerId).stop({ t: 0 }));
    await deps.live.refresh(record.pauseContainerId);
  }
  if (record.state !== 'notready') {
    record.state = 'notready';
    await deps.store.put(record);
  }
  deps.logger.info({ sandbox: record.id }, 'sandbox stopped');
}

export async function removeSandbox(deps: SandboxTeardownDeps, record: SandboxRecord): Promise<void> {
  await stopSandbox(deps, record);
  await deps.containers.removeAll(record.id);
  await ignoreGoneOrDone(deps.docker.getContainer(record.pauseContainerId).remove({ force: true }));
  deps.live.forget(record.pauseContainerId);
  await deps.store.delete(record.id);
  deps.logger.info({ sandbox: record.id }, 'sandbox removed');
}
