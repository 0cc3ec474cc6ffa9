import { readFileSync } from 'node:fs';
import type { Logger } from '../logger.js';
import { dockerMessage, dockerStatus } from './docker-errors.js';

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

/** Where the kernel side of the answer comes from; tests give a newer (or older) kernel's set. */
export type BoundingSetSource = () => string[];

/** Our own bounding set: what any process we start (through Docker) can hold at most. */
export function readBoundingSet(): string[] {
  const status = readFileSync('/proc/self/status', 'utf8');
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0';
  return capsFromMask(BigInt('0x' + hex));
}

/** `CAP_NET_ADMIN` / `net_admin` → `NET_ADMIN`; `ALL` stays. */
export function normalizeCap(cap: string): string {
  return cap.toUpperCase().replace(/^CAP_/, '');
}

/**
 * The capability a Docker 400 says it does not know (`invalid CapAdd: unknown
 * capability: "CAP_PERFMON"`), normalized; null for any other failure.
 */
export function unknownCapabilityOf(err: unknown): string | null {
  if (dockerStatus(err) !== 400) return null;
  const m = /unknown capability:?\s*"?([A-Za-z_]+)"?/.exec(dockerMessage(err));
  return m ? normalizeCap(m[1]!) : null;
}

/**
 * What a privileged container, or one that adds `ALL`, may ask Docker for: the
 * capabilities of the kernel's bounding set that the daemon also knows.
 *
 * Both sides matter. The bounding set may lack some (this VM has no SYS_RESOURCE), and
 * asking for those fails in runc ("unable to apply caps"). A kernel newer than the
 * daemon has some the daemon has never heard of (Docker 20.10 refuses PERFMON, BPF and
 * CHECKPOINT_RESTORE of kernels ≥ 5.8/5.9 with "unknown capability"). The daemon
 * publishes no list, so we learn its gaps from its own refusals, once per process: the
 * first privileged create that meets one drops that capability and tries again.
 */
export class GrantableCapabilities {
  private kernel: string[] | undefined;
  private readonly unknownToDaemon = new Set<string>();

  constructor(
    private readonly boundingSet: BoundingSetSource = readBoundingSet,
    private readonly logger?: Logger,
  ) {}

  list(): string[] {
    this.kernel ??= this.boundingSet();
    return this.kernel.filter((c) => !this.unknownToDaemon.has(c));
  }

  /** Capabilities the daemon refused so far (for Status and tests). */
  refusedByDaemon(): string[] {
    return [...this.unknownToDaemon];
  }

  /**
   * Runs `create` with the options `build` makes from the grantable list. When the
   * daemon refuses one of *our* grantable capabilities as unknown, that capability is
   * remembered and the create tried again; a capability the caller named itself (not
   * from our list) stays the caller's error. At most one retry per capability we know.
   */
  async create<O, T>(build: (grantable: string[]) => O, create: (options: O) => Promise<T>): Promise<T> {
    for (;;) {
      const grantable = this.list();
      try {
        return await create(build(grantable));
      } catch (err) {
        const cap = unknownCapabilityOf(err);
        if (!cap || !grantable.includes(cap)) throw err;
        this.unknownToDaemon.add(cap);
        this.logger?.info({ capability: cap }, 'dockerd does not know this capability of the kernel: privileged containers go without it');
      }
    }
  }
}
