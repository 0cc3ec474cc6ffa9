/**
 * Over the real socket: what Status and RuntimeConfig claim about Docker 20.10's
 * features, UpdateRuntimeConfig's pod CIDR shown back in verbose Status, StreamImages
 * against ListImages, and CheckpointContainer still UNIMPLEMENTED.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestShim, type TestShim } from '../helpers/shim.js';
import { collectStream } from '../helpers/stream.js';

const verboseInfo = async (t: TestShim) => {
  const res = await t.call(t.runtime, 'Status', { verbose: true });
  return Object.fromEntries(Object.entries(res.info).map(([k, v]) => [k, JSON.parse(v as string)])) as Record<string, any>;
};

describe('runtime features, UpdateRuntimeConfig, StreamImages', () => {
  let t: TestShim;
  /** The first shim's dir, which holds the state the restarted shims reuse. */
  let firstDir = '';
  beforeAll(async () => {
    t = await startTestShim();
    firstDir = t.dir;
  });
  afterAll(async () => {
    await t?.close();
    rmSync(firstDir, { recursive: true, force: true });
  });

  it('claims no recursive read-only mounts, user namespaces or SupplementalGroupsPolicy on Docker 20.10', async () => {
    const res = await t.call(t.runtime, 'Status', {});
    expect(res.runtime_handlers).toEqual([{ name: '', features: { recursive_read_only_mounts: false, user_namespaces: false } }]);
    expect(res.features).toEqual({ supplemental_groups_policy: false, user_namespaces_host_network: false });
    const cfg = await t.call(t.runtime, 'RuntimeConfig', {});
    expect(Object.keys(cfg)).toEqual(['linux']);
  });

  it('UpdateRuntimeConfig keeps the pod CIDR (also across a shim restart) and verbose Status shows it', async () => {
    expect((await verboseInfo(t)).networkConfig).toEqual({ podCidrs: [], updatedAt: '' });
    await t.call(t.runtime, 'UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr: '10.244.3.0/24,fd00:10:244:3::/64' } } });
    const shown = (await verboseInfo(t)).networkConfig;
    expect(shown.podCidrs).toEqual(['10.244.3.0/24', 'fd00:10:244:3::/64']);
    expect(BigInt(shown.updatedAt)).toBeGreaterThan(0n);

    // An empty CIDR is ignored, a bad one refused naming the field; the kept one stays.
    await t.call(t.runtime, 'UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr: '' } } });
    await expect(
      t.call(t.runtime, 'UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr: '10.244.3.0/40' } } }),
    ).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining('runtime_config.network_config.pod_cidr[0]') });
    expect((await verboseInfo(t)).networkConfig.podCidrs).toEqual(['10.244.3.0/24', 'fd00:10:244:3::/64']);

    // Same state dir, new shim: the kubelet does not resend it after our restart.
    const { stateDir, listen, cniCacheDir, cniConfDir } = t.config;
    await t.shim.stop(1000);
    t.runtime.close();
    t.image.close();
    const again = await startTestShim({ stateDir, listen, cniCacheDir, cniConfDir });
    try {
      expect((await verboseInfo(again)).networkConfig.podCidrs).toEqual(['10.244.3.0/24', 'fd00:10:244:3::/64']);
    } finally {
      await again.close();
    }
    t = await startTestShim({ stateDir, listen, cniCacheDir, cniConfDir });
  });

  it('StreamImages streams what ListImages lists, with the same filter', async () => {
    const listed = (await t.call(t.image, 'ListImages', {})).images;
    const streamed = (await collectStream(t.image, 'StreamImages', {})).flatMap((m: any) => m.images);
    expect(streamed.map((i: any) => i.id).sort()).toEqual(listed.map((i: any) => i.id).sort());
    expect(streamed.length).toBeGreaterThan(0);

    const busybox = 'localhost/cri-shim/busybox:1.0';
    const id = execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', busybox], { encoding: 'utf8' }).trim();
    const filtered = (await collectStream(t.image, 'StreamImages', { filter: { image: { image: busybox } } })).flatMap((m: any) => m.images);
    expect(filtered).toEqual((await t.call(t.image, 'ListImages', { filter: { image: { image: busybox } } })).images);
    expect(filtered.map((i: any) => i.id)).toEqual([id]);
    const none = await collectStream(t.image, 'StreamImages', { filter: { image: { image: 'localhost/cri-shim/absent:0' } } });
    expect(none).toEqual([{ images: [] }]);
  });

  it('CheckpointContainer stays UNIMPLEMENTED (the code the kubelet falls back on)', async () => {
    await expect(t.call(t.runtime, 'CheckpointContainer', { container_id: 'x' })).rejects.toMatchObject({ code: status.UNIMPLEMENTED });
  });
});
