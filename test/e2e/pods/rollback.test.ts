/**
 * A CNI chain that fails half-way: RunPodSandbox fails with the plugin's message and
 * nothing of the pod remains (container, IP, veth, state file).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestShim, uniqueId, type TestShim } from '../../helpers/shim.js';
import { createPodNetEnv, dockerContainersOfPod, removeContainersOfPod, sh, shimConfigFor, type PodNetEnv } from '../../helpers/pod-net.js';

describe('RunPodSandbox rolls back when the CNI chain fails', () => {
  let env: PodNetEnv;
  let t: TestShim;
  const uid = uniqueId('rollback');

  beforeAll(async () => {
    // bridge + host-local succeed (an IP is reserved, a veth made), then the last plugin fails.
    env = createPodNetEnv(1, [{ type: 'always-fails' }]);
    t = await startTestShim({
      stateDir: join(env.dir, 'state'),
      cniConfDir: env.confDir,
      cniBinDirs: env.binDirs,
      cniCacheDir: env.cacheDir,
    });
  });

  afterAll(async () => {
    await t?.close();
    removeContainersOfPod(uid);
    env?.cleanup();
  });

  it("fails with the plugin's message and leaves nothing behind", async () => {
    const config = {
      metadata: { name: 'doomed', uid, namespace: 'crt', attempt: 0 },
      hostname: 'doomed',
      linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    };
    const err = await t.call(t.runtime, 'RunPodSandbox', { config }).then(
      () => undefined,
      (e: any) => e,
    );
    expect(err, 'RunPodSandbox must fail').toBeDefined();
    expect(err.details).toContain('CNI ADD');
    expect(err.details).toContain('test plugin refuses ADD');
    expect(err.details).toContain('always-fails');

    expect(dockerContainersOfPod(uid)).toEqual([]);
    expect(env.reservedIps()).toEqual([]);
    expect(env.bridgePorts()).toEqual([]);
    expect(readdirSync(join(env.dir, 'state', 'sandboxes'))).toEqual([]);
    const list = await t.call(t.runtime, 'ListPodSandbox', {});
    expect(list.items).toEqual([]);
  });

  it('a pause image neither on the node nor pullable fails with the pull error naming it, with nothing left behind', async () => {
    const other = await startTestShim({
      stateDir: join(env.dir, 'state-nopause'),
      cniConfDir: env.confDir,
      cniBinDirs: env.binDirs,
      cniCacheDir: env.cacheDir,
      pauseImage: 'localhost/cri-shim/no-such-pause:0',
    });
    try {
      const config = { metadata: { name: 'nopause', uid, namespace: 'crt', attempt: 0 } };
      // RunPodSandbox pulls a missing pause image (test/e2e/pods/pause-pull.test.ts); no registry
      // answers on localhost:443/80, so the pull fails as PullImage's would.
      const err = await other.call(other.runtime, 'RunPodSandbox', { config }).catch((e: any) => e);
      expect([status.UNAVAILABLE, status.NOT_FOUND]).toContain(err.code);
      expect(err.details).toContain('localhost/cri-shim/no-such-pause:0 is not on the node and pulling it failed');
      expect(readdirSync(join(env.dir, 'state-nopause', 'sandboxes'))).toEqual([]);
    } finally {
      await other.close();
    }
  });
});

describe('RunPodSandbox twice for the same pod attempt', () => {
  let env: PodNetEnv;
  let t: TestShim;
  const uid = uniqueId('twice');

  beforeAll(async () => {
    env = createPodNetEnv(9);
    t = await startTestShim(shimConfigFor(env));
  });

  afterAll(async () => {
    await t?.close();
    removeContainersOfPod(uid);
    env?.cleanup();
  });

  it('is ALREADY_EXISTS and leaves the first sandbox as it was', async () => {
    const config = { metadata: { name: 'twice', uid, namespace: 'crt', attempt: 0 } };
    const first = await t.call(t.runtime, 'RunPodSandbox', { config });
    await expect(t.call(t.runtime, 'RunPodSandbox', { config })).rejects.toMatchObject({ code: status.ALREADY_EXISTS });
    const st = await t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: first.pod_sandbox_id });
    expect(st.status.state).toBe('SANDBOX_READY');
    expect(env.reservedIps().length).toBe(1);
    const list = await t.call(t.runtime, 'ListPodSandbox', {});
    expect(list.items.map((p: any) => p.id)).toEqual([first.pod_sandbox_id]);
    await t.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: first.pod_sandbox_id });
    expect(env.reservedIps()).toEqual([]);
  });
});
