/**
 * The result of `explain`: what the node has for one pod, and what was expected but
 * not found. `--json` prints this object as it is, so field names are an interface.
 */
import type { PortMapping } from '../runtime/types.js';
import type { IptablesRule } from './iptables.js';

export interface NsShare {
  inode: string | null;
  /** `pause` when it is the pause container's namespace, `own` otherwise, `unknown` when unreadable. */
  shared: 'pause' | 'own' | 'unknown';
}

export interface ContainerNamespaces {
  id: string;
  name: string;
  pid: number;
  running: boolean;
  net: NsShare;
  ipc: NsShare;
  pid_ns: NsShare;
  uts: NsShare;
}

export interface PluginStep {
  type: string;
  /** The plugin's own settings worth seeing (bridge name, ipam, capabilities…). */
  settings: Record<string, unknown>;
  /** What it returned or did, as found on the node. */
  did: string[];
}

export interface Explanation {
  pod: { id: string; name: string; namespace: string; uid: string; state: string; ips: string[] };
  netns: { path: string; inode: string | null; pauseNetInode: string | null };
  /** Names the CNI config and result say the path should have. */
  expected: { podInterface: string; hostVeth: string | null; bridge: string | null };
  podInterface: {
    name: string;
    ifindex: number;
    mac: string;
    addresses: string[];
    peerIfindex: number | null;
    operstate: string;
  } | null;
  podRoutes: string[];
  hostVeth: { name: string; ifindex: number; mac: string; master: string | null; operstate: string } | null;
  bridge: { name: string; addresses: string[]; ports: string[]; operstate: string } | null;
  cni: {
    network: string;
    cniVersion: string;
    cachePath: string;
    plugins: PluginStep[];
    /** The chain's final result as cached (what ADD returned to the runtime). */
    result: unknown;
  };
  portMappings: PortMapping[];
  iptables: {
    forwardPolicy: string | null;
    /** Rules hostPorts (portmap) and masquerade (bridge ipMasq) added for this pod. */
    nat: IptablesRule[];
    /** Firewall plugin rules for the pod IP. */
    filter: IptablesRule[];
    /** Rules for the pod IP that another (gone) sandbox left behind. */
    stale: IptablesRule[];
  };
  namespaces: ContainerNamespaces[];
  resolvConf: { path: string; content: string | null } | null;
  hosts: { path: string; content: string | null } | null;
  /** Everything expected and not found; empty when the path is whole. */
  problems: string[];
}
