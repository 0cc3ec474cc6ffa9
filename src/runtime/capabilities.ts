import { readFileSync } from 'node:fs';

/** Linux capability numbers → names, as Docker wants them (without CAP_). */
const CAP_NAMES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
];

export function capsFromMask(mask: bigint): string[] {
  return CAP_NAMES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

let nodeCaps: string[] | undefined;

/**
 * The capabilities this node can actually grant (our bounding set). Docker's
 * `--privileged` and `--cap-add ALL` ask for every capability the kernel knows, and
 * fail on nodes whose bounding set lacks some (this VM lacks CAP_SYS_RESOURCE).
 */
export function nodeCapabilities(): string[] {
  if (!nodeCaps) {
    const status = readFileSync('/proc/self/status', 'utf8');
    const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0';
    nodeCaps = capsFromMask(BigInt('0x' + hex));
  }
  return nodeCaps;
}

/** `CAP_NET_ADMIN` / `net_admin` → `NET_ADMIN`; `ALL` stays. */
export function normalizeCap(cap: string): string {
  return cap.toUpperCase().replace(/^CAP_/, '');
}
