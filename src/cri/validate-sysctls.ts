/**
 * Pod sysctls, checked before the pause container exists. Docker takes any name at
 * create time and runc refuses at start ("sysctl … is not in a separate kernel
 * namespace"), which reached the kubelet as INTERNAL after a container had been made.
 * The rule is runc's: only sysctls of a namespace the pod has of its own can be set.
 */
import { InvalidArgumentError } from '../errors.js';
import { quote, refuseControlChars } from './validate-text.js';

/** IPC-namespaced sysctls (runc's list), besides the `fs.mqueue.` family. */
const IPC_SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

export interface PodNamespaces {
  /** The pod uses the node's network namespace (no `net.*` of its own). */
  hostNetwork: boolean;
  /** The pod uses the node's IPC namespace. */
  hostIpc: boolean;
}

/** runc accepts `net/ipv4/ip_forward` as well as `net.ipv4.ip_forward`. */
function dotted(name: string): string {
  return name.replace(/\//g, '.');
}

function namespaceProblem(name: string, ns: PodNamespaces): string | undefined {
  const n = dotted(name);
  if (IPC_SYSCTLS.has(n) || n.startsWith('fs.mqueue.')) {
    return ns.hostIpc ? "is an IPC sysctl and the pod uses the node's IPC namespace" : undefined;
  }
  if (n.startsWith('net.')) {
    return ns.hostNetwork ? "is a network sysctl and the pod uses the node's network namespace" : undefined;
  }
  // The pod's UTS namespace follows its network one here (Docker gives host-network pods the node's name).
  if (n === 'kernel.domainname' && !ns.hostNetwork) return undefined;
  return 'is not in a kernel namespace of the pod (only IPC sysctls, fs.mqueue.*, net.* and kernel.domainname are)';
}

export function checkSysctls(sysctls: Record<string, string>, ns: PodNamespaces, field: string): void {
  for (const [name, value] of Object.entries(sysctls)) {
    const where = `${field}[${quote(name)}]`;
    refuseControlChars(name, `${field} key`);
    if (name === '' || /[\s=]/.test(name) || name.includes('..') || /^[./]|[./]$/.test(name)) {
      throw new InvalidArgumentError(`${where} is not a sysctl name`);
    }
    const problem = namespaceProblem(name, ns);
    if (problem) throw new InvalidArgumentError(`${where} ${problem}`);
    refuseControlChars(value, where);
  }
}
