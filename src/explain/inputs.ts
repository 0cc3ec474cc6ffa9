/**
 * What `explain` reads from the node, as raw as it comes: state records, the CNI
 * cache entry, `ip -j` output from both sides of the veth, `iptables -S` text and
 * namespace inodes. Gathering (gather.ts) fills this; analysis (analyze.ts) only
 * reads it, so analysis is tested on captured copies without touching the node.
 */
import type { CniCacheEntry } from '../cni/cache.js';
import type { ContainerRecord, SandboxRecord } from '../runtime/types.js';

/** The subset of one `ip -j -d addr show` entry that we read. */
export interface IpAddrInfo {
  family: string;
  local: string;
  prefixlen: number;
  scope?: string;
}

export interface IpLink {
  ifindex: number;
  ifname: string;
  /** ifindex of the veth peer, as seen from the peer's namespace (`@ifN`). */
  link_index?: number;
  /** Present when the peer lives in another namespace. */
  link_netnsid?: number;
  address?: string;
  master?: string;
  operstate?: string;
  flags?: string[];
  mtu?: number;
  linkinfo?: { info_kind?: string; info_slave_kind?: string };
  addr_info?: IpAddrInfo[];
}

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
  scope?: string;
  protocol?: string;
}

/** Namespace inodes of one process, from /proc/<pid>/ns/*. */
export type NsInodes = Partial<Record<'net' | 'ipc' | 'pid' | 'uts', string>>;

export interface ContainerInputs {
  id: string;
  /** The CRI name, or `(pause)` for the sandbox's own container. */
  name: string;
  running: boolean;
  pid: number;
  ns: NsInodes;
  resolvConfPath: string;
  hostsPath: string;
}

export interface PodFile {
  path: string;
  /** null when it could not be read. */
  content: string | null;
}

export interface ExplainInputs {
  sandbox: SandboxRecord;
  containers: ContainerRecord[];
  /** The cache entry for the sandbox's attachment (libcni layout), if present. */
  cache: { path: string; entry: CniCacheEntry | null; error?: string };
  /** The network config list the attachment was made with (decoded from the cache). */
  networkConf: Record<string, unknown> | null;
  /** Inode of the netns file, or null when the file is gone. */
  netnsInode: string | null;
  /** Every link of the host namespace (`ip -j -d addr show`). */
  hostLinks: IpLink[];
  hostError?: string;
  /** Links inside the pod's netns; null when the netns could not be entered. */
  podLinks: IpLink[] | null;
  podRoutes: IpRoute[] | null;
  podError?: string;
  /** `iptables -S` and `iptables -t nat -S`; null when iptables could not be run. */
  iptablesFilter: string | null;
  iptablesNat: string | null;
  iptablesError?: string;
  /** Pause container first, then the workloads; from Docker and /proc. */
  dockerContainers: ContainerInputs[];
  resolvConf: PodFile | null;
  hosts: PodFile | null;
}
