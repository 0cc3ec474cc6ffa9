/**
 * What the kubelet tells the runtime about the node through UpdateRuntimeConfig: the
 * node's pod CIDRs. Our CNI configs carry their own IPAM ranges, so nothing is
 * re-rendered from it; it is kept (on disk, so a restarted shim still reports it) and
 * shown in Status' verbose info, where an operator checks the two agree.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { writeFileAtomic } from './atomic-file.js';

interface Stored {
  podCidrs: string[];
  /** Unix time in nanoseconds of the last update, as a decimal string. */
  updatedAt: string;
}

export class NodeNetworkConfig {
  private current: Stored = { podCidrs: [], updatedAt: '' };
  private readonly file: string;

  constructor(
    stateDir: string,
    private readonly logger: Logger,
  ) {
    this.file = join(stateDir, 'node-network-config.json');
  }

  async load(): Promise<void> {
    try {
      const stored = JSON.parse(await readFile(this.file, 'utf8')) as Partial<Stored>;
      if (Array.isArray(stored.podCidrs) && stored.podCidrs.every((c) => typeof c === 'string')) {
        this.current = { podCidrs: stored.podCidrs, updatedAt: String(stored.updatedAt ?? '') };
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.logger.warn({ file: this.file, err: (err as Error).message }, 'ignoring unreadable node network config');
      }
    }
  }

  podCidrs(): string[] {
    return [...this.current.podCidrs];
  }

  updatedAt(): string {
    return this.current.updatedAt;
  }

  /** Records the node's pod CIDRs (already checked by the caller); the same list again writes nothing. */
  async setPodCidrs(cidrs: string[], nowNs: string): Promise<void> {
    if (cidrs.join(',') === this.current.podCidrs.join(',')) return;
    const next: Stored = { podCidrs: [...cidrs], updatedAt: nowNs };
    await mkdir(join(this.file, '..'), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.file, JSON.stringify(next, null, 2));
    this.logger.info({ podCidrs: cidrs, previous: this.current.podCidrs }, 'node pod CIDR updated by the kubelet');
    this.current = next;
  }
}
