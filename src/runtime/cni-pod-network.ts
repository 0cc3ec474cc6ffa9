/**
 * PodNetwork over our CNI engine: what a pod means in CNI terms (CNI_ARGS with the
 * kubelet's K8S_* keys, port mappings and bandwidth as capability args).
 */
import type { CniAttachment, CniCapabilityArgs } from '../cni/types.js';
import type { CniResult } from '../cni/result.js';
import { podIpsFromResult } from '../cni/result.js';
import type { AttachResult, PodAttachment, PodNetwork } from './pod-network.js';

const IF_NAME = 'eth0';

/** The part of the CNI engine a pod network needs. */
export interface CniOps {
  add(att: CniAttachment): Promise<CniResult>;
  del(att: Omit<CniAttachment, 'netns'> & { netns?: string }): Promise<void>;
  cachedAttachment(ref: { containerId: string; ifName?: string }): Promise<{ result?: CniResult } | undefined>;
}

function capabilityArgs(att: PodAttachment): CniCapabilityArgs {
  const caps: CniCapabilityArgs = {};
  // Only mappings that open a host port concern the portmap plugin.
  const mappings = att.portMappings.filter((p) => p.hostPort > 0);
  if (mappings.length) {
    caps.portMappings = mappings.map((p) => ({
      hostPort: p.hostPort,
      containerPort: p.containerPort,
      protocol: p.protocol,
      ...(p.hostIp ? { hostIP: p.hostIp } : {}),
    }));
  }
  if (att.bandwidth) caps.bandwidth = att.bandwidth;
  return caps;
}

function cniAttachment(att: PodAttachment): CniAttachment {
  return {
    containerId: att.sandboxId,
    netns: att.netnsPath,
    ifName: IF_NAME,
    args: {
      K8S_POD_NAMESPACE: att.pod.namespace,
      K8S_POD_NAME: att.pod.name,
      K8S_POD_INFRA_CONTAINER_ID: att.pauseContainerId,
      K8S_POD_UID: att.pod.uid,
    },
    capabilityArgs: capabilityArgs(att),
  };
}

export class CniPodNetwork implements PodNetwork {
  constructor(private readonly cni: CniOps) {}

  async attach(att: PodAttachment): Promise<AttachResult> {
    const result = await this.cni.add(cniAttachment(att));
    const { ips } = podIpsFromResult(result, IF_NAME);
    if (!ips.length) throw new Error('the CNI chain returned no IP for the pod');
    return { ifName: IF_NAME, ips, result };
  }

  async detach(att: PodAttachment): Promise<void> {
    await this.cni.del(cniAttachment(att));
  }

  /**
   * An ADD cut short (kill -9 mid-chain) has a cache entry but no result: it still
   * counts as attached, with no IPs, so Stop/Remove run the DEL that frees what the
   * chain got half-way (an IP, a veth).
   */
  async recover(sandboxId: string): Promise<AttachResult | undefined> {
    const cached = await this.cni.cachedAttachment({ containerId: sandboxId, ifName: IF_NAME });
    if (!cached) return undefined;
    const { result } = cached;
    return { ifName: IF_NAME, ips: result ? podIpsFromResult(result, IF_NAME).ips : [], result: result ?? null };
  }
}
