/**
 * What sandboxes need from networking: attach a pod's network namespace and detach it.
 * The CNI engine implements it (cni-pod-network.ts); the sandbox code stays unaware of
 * CNI's details.
 */
import type { PodMetadata, PortMapping } from './types.js';

export interface Bandwidth {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

export interface PodAttachment {
  sandboxId: string;
  pauseContainerId: string;
  netnsPath: string;
  pod: PodMetadata;
  portMappings: PortMapping[];
  bandwidth: Bandwidth | null;
}

export interface AttachResult {
  ifName: string;
  /** Pod IPs without prefix length, primary first. */
  ips: string[];
  /** The CNI result as the plugins gave it, for verbose status. */
  result: unknown;
}

export interface PodNetwork {
  attach(att: PodAttachment): Promise<AttachResult>;
  /** Idempotent: succeeds when already detached or when the namespace is gone. */
  detach(att: PodAttachment): Promise<void>;
  /** What an earlier attach gave, from the network's own records; for a shim that lost its state. */
  recover(sandboxId: string): Promise<AttachResult | undefined>;
}

const INGRESS = 'kubernetes.io/ingress-bandwidth';
const EGRESS = 'kubernetes.io/egress-bandwidth';
/** The bandwidth plugin wants a burst; Kubernetes never set one, so allow any. */
const UNLIMITED_BURST = 2 ** 31 - 1;
const SUFFIX: Record<string, number> = {
  '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50,
};

/** A Kubernetes quantity such as `10M` or `1Gi`, in bits per second. */
export function parseQuantity(value: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kMGTP]i?|)\s*$/.exec(value);
  if (!m) return null;
  const factor = SUFFIX[m[2]!];
  return factor === undefined ? null : Math.round(Number(m[1]) * factor);
}

/** The `kubernetes.io/{ingress,egress}-bandwidth` annotations as the bandwidth capability. */
export function bandwidthFromAnnotations(annotations: Record<string, string>): Bandwidth | null {
  const out: Bandwidth = {};
  for (const [key, dir] of [[INGRESS, 'ingress'], [EGRESS, 'egress']] as const) {
    const raw = annotations[key];
    if (raw === undefined) continue;
    const rate = parseQuantity(raw);
    if (rate === null) throw new Error(`annotation ${key}: "${raw}" is not a quantity`);
    out[`${dir}Rate`] = rate;
    out[`${dir}Burst`] = UNLIMITED_BURST;
  }
  return Object.keys(out).length ? out : null;
}
