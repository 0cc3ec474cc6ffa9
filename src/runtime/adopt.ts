/**
 * Rebuilding our records from Docker when the state dir was lost (wiped, or a new
 * node image with the old /var/lib/docker): every container we made carries labels
 * that say which pod it belongs to, and the CNI cache still knows each pod's IPs. A
 * sandbox found this way can be listed, stopped (CNI DEL runs from the CNI cache) and
 * removed like any other. The spec comes back whole from the pause container's memo
 * label (sandbox-memo.ts); only containers made before that label existed get the
 * guess from their other labels, with DNS config, port mappings and sysctls empty.
 * A sandbox whose RunPodSandbox never finished (no ready marker) comes back NOTREADY,
 * and every pod-network sandbox counts as possibly attached, so Stop runs CNI DEL.
 */
import type Docker from 'dockerode';
import type { Logger } from '../logger.js';
import type { JsonStore } from './json-store.js';
import { attemptFromDockerName } from './naming.js';
import {
  LABEL_CONTAINER_NAME,
  LABEL_KIND,
  LABEL_LOG_PATH,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_POD_UID,
  LABEL_SANDBOX_ID,
  criLabelsOf,
  managedFilter,
} from './labels.js';
import type { PodNetwork } from './pod-network.js';
import { decodeSandboxMemo, sandboxWasReady } from './sandbox-memo.js';
import type { ContainerRecord, SandboxRecord } from './types.js';

export interface AdoptDeps {
  docker: Docker;
  instance: string;
  sandboxes: JsonStore<SandboxRecord>;
  containers: JsonStore<ContainerRecord>;
  network: PodNetwork;
  logger: Logger;
}

/** `k8s_<name>_<pod>_<ns>_<uid>_<attempt>[_h<hash>]` → attempt (naming.ts knows the escaped form). */
function attemptOf(dockerName: string): number {
  return attemptFromDockerName(dockerName);
}

function ns(createdIso: string): string {
  return (BigInt(Date.parse(createdIso)) * 1_000_000n).toString();
}

async function adoptSandbox(deps: AdoptDeps, info: Docker.ContainerInspectInfo): Promise<SandboxRecord> {
  const l = info.Config.Labels;
  const { labels, annotations } = criLabelsOf(l);
  const hostNetwork = info.HostConfig.NetworkMode === 'host';
  const id = l[LABEL_SANDBOX_ID]!;
  const recovered = hostNetwork ? undefined : await deps.network.recover(id);
  const memo = decodeSandboxMemo(l);
  const finished = memo ? await sandboxWasReady(info.HostsPath) : true;
  return {
    id,
    pauseContainerId: info.Id,
    createdAt: memo?.createdAt ?? ns(info.Created),
    state: info.State.Running && finished ? 'ready' : 'notready',
    netnsPath: hostNetwork ? '' : info.NetworkSettings.SandboxKey,
    ips: recovered?.ips ?? [],
    // A cut ADD may have left an IP and no result in the cache: DEL is idempotent, so always run it.
    network: hostNetwork ? null : { attached: true, ifName: 'eth0', result: recovered?.result ?? null },
    spec: memo?.spec ?? {
      metadata: { name: l[LABEL_POD_NAME] ?? '', namespace: l[LABEL_POD_NAMESPACE] ?? '', uid: l[LABEL_POD_UID] ?? '', attempt: attemptOf(info.Name) },
      hostname: info.Config.Hostname,
      logDirectory: l[LABEL_LOG_PATH] ?? '',
      dns: null,
      portMappings: [],
      labels,
      annotations,
      cgroupParent: info.HostConfig.CgroupParent ?? '',
      sysctls: {},
      namespaces: {
        network: hostNetwork ? 'node' : 'pod',
        pid: info.HostConfig.PidMode === 'host' ? 'node' : 'container',
        ipc: info.HostConfig.IpcMode === 'host' ? 'node' : 'pod',
      },
      runtimeHandler: '',
      privileged: false,
    },
  };
}

function adoptContainer(info: Docker.ContainerInspectInfo): ContainerRecord {
  const l = info.Config.Labels;
  const { labels, annotations } = criLabelsOf(l);
  return {
    id: info.Id,
    sandboxId: l[LABEL_SANDBOX_ID]!,
    imageRef: info.Image,
    createdAt: ns(info.Created),
    logPath: l[LABEL_LOG_PATH] ?? '',
    spec: {
      name: l[LABEL_CONTAINER_NAME] ?? '',
      attempt: attemptOf(info.Name),
      image: info.Config.Image,
      command: [],
      args: [],
      workingDir: info.Config.WorkingDir,
      envs: [],
      labels,
      annotations,
      mounts: [],
      devices: [],
      logPath: '',
      stdin: info.Config.OpenStdin,
      stdinOnce: info.Config.StdinOnce,
      tty: info.Config.Tty,
      resources: null,
      security: {
        runAsUser: null,
        runAsGroup: null,
        runAsUsername: info.Config.User,
        supplementalGroups: [],
        readonlyRootfs: info.HostConfig.ReadonlyRootfs ?? false,
        privileged: false,
        capAdd: [],
        capDrop: [],
        noNewPrivs: false,
        maskedPaths: [],
        readonlyPaths: [],
        seccomp: null,
        namespaces: { pid: 'container', ipc: 'pod', network: 'pod', targetId: '' },
      },
    },
  };
}

/** Adds a record for every labelled container of ours that has none; returns how many. */
export async function adoptOrphans(deps: AdoptDeps): Promise<number> {
  const list = await deps.docker.listContainers({ all: true, filters: managedFilter(deps.instance) });
  let adopted = 0;
  for (const c of list) {
    const sandboxId = c.Labels[LABEL_SANDBOX_ID];
    if (!sandboxId) continue;
    const isSandbox = c.Labels[LABEL_KIND] === 'sandbox';
    if (isSandbox ? deps.sandboxes.get(sandboxId) : deps.containers.get(c.Id)) continue;
    try {
      const info = await deps.docker.getContainer(c.Id).inspect();
      if (isSandbox) await deps.sandboxes.put(await adoptSandbox(deps, info));
      else await deps.containers.put(adoptContainer(info));
      adopted++;
      deps.logger.warn({ container: c.Id, sandbox: sandboxId, kind: isSandbox ? 'sandbox' : 'container' }, 'no state record; rebuilt it from Docker labels');
    } catch (err) {
      deps.logger.error({ container: c.Id, err: (err as Error).message }, 'cannot adopt container');
    }
  }
  return adopted;
}
