/**
 * The network GC's view of what is alive: only our own pause containers, asked of
 * Docker with our label filter; and a pass that cannot ask Docker touches nothing.
 */
import type Docker from 'dockerode';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { CniAttachmentRef, CniGcOptions, CniGcReport } from '../../../src/cni/types.js';
import { NetworkGc, type StaleCollector } from '../../../src/runtime/network-gc.js';

const silent = pino({ level: 'silent' });

function fakeDocker(list: () => Promise<Docker.ContainerInfo[]>, seen: object[]): Docker {
  return {
    listContainers: (opts: object) => {
      seen.push(opts);
      return list();
    },
  } as unknown as Docker;
}

class RecordingCollector implements StaleCollector {
  live: CniAttachmentRef[][] = [];
  opts: (CniGcOptions | undefined)[] = [];
  async collectStale(live: () => Promise<CniAttachmentRef[]>, opts?: CniGcOptions): Promise<CniGcReport[]> {
    this.live.push(await live());
    this.opts.push(opts);
    return [];
  }
}

describe('NetworkGc', () => {
  it('counts as live every labelled sandbox of this instance, running or not, on eth0', async () => {
    const seen: object[] = [];
    const docker = fakeDocker(
      async () => [
        { Id: 'p1', Labels: { 'io.cri-shim.sandbox-id': 's1' } },
        { Id: 'p2', Labels: { 'io.cri-shim.sandbox-id': 's2' } },
        { Id: 'p3', Labels: {} },
      ] as unknown as Docker.ContainerInfo[],
      seen,
    );
    const cni = new RecordingCollector();
    const gc = new NetworkGc({ docker, cni, instance: '/var/lib/cri-shim', logger: silent, minAgeMs: 1234 });
    await gc.runOnce();
    expect(seen).toEqual([
      { all: true, filters: { label: ['io.cri-shim.managed=/var/lib/cri-shim', 'io.cri-shim.kind=sandbox'] } },
    ]);
    expect(cni.live).toEqual([[{ containerId: 's1', ifName: 'eth0' }, { containerId: 's2', ifName: 'eth0' }]]);
    expect(cni.opts).toEqual([{ minAgeMs: 1234 }]);
  });

  it('a pass whose Docker listing fails is skipped, not treated as "nothing is alive"', async () => {
    let collected = 0;
    const cni: StaleCollector = {
      collectStale: async (live) => {
        await live();
        collected++;
        return [];
      },
    };
    const docker = fakeDocker(() => Promise.reject(new Error('connect ENOENT /var/run/docker.sock')), []);
    const gc = new NetworkGc({ docker, cni, instance: '/x', logger: silent });
    await expect(gc.runOnce()).resolves.toBeUndefined();
    expect(collected).toBe(0);
  });

  it('start runs a pass at once; stop waits for it and no pass starts after', async () => {
    const cni = new RecordingCollector();
    const gc = new NetworkGc({ docker: fakeDocker(async () => [], []), cni, instance: '/x', logger: silent, intervalMs: 3_600_000 });
    gc.start();
    await gc.stop();
    expect(cni.live).toHaveLength(1);
    await gc.runOnce();
    expect(cni.live).toHaveLength(1);
  });
});
