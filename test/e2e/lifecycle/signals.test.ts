/**
 * Issue #11 classes 3 and 4, with the built shim as a child process and a CNI plugin
 * (`gate`) that holds ADD until the test lets it go, so a RunPodSandbox is provably
 * in flight when the signal arrives:
 * - SIGTERM / SIGINT drain: the call in flight finishes, new calls are refused, the
 *   process exits 0, and the pod is whole after a restart.
 * - kill -9 in the middle of RunPodSandbox with the state dir lost: the rebuilt pod is
 *   NOTREADY (never READY without a network), and Stop+Remove leave nothing.
 */
import { status } from '@grpc/grpc-js';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childShimDirs, startChildShim, type ChildShim, type ChildShimDirs } from '../../helpers/child-shim.js';
import { stopAndRemovePods } from '../../helpers/pod-shim.js';
import { leftovers, NOTHING, seenOf } from '../../helpers/leftovers.js';
import { createPodNetEnv, dockerContainersOfPod, removeContainersOfPod, subnetIpPattern, waitFor, type PodNetEnv } from '../../helpers/pod-net.js';
import { uniqueId } from '../../helpers/shim.js';

function podConfig(name: string, uid: string) {
  return {
    metadata: { name, uid, namespace: 'crt-signals', attempt: 0 },
    hostname: name,
    labels: { suite: 'signals' },
    linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
  };
}

describe('signals and kill -9 while RunPodSandbox is in flight', () => {
  let env: PodNetEnv;
  let gate: string;
  let dirs: ChildShimDirs;
  let shim: ChildShim | undefined;
  const uids: string[] = [];

  beforeAll(() => {
    gate = mkdtempSync(join(tmpdir(), 'cri-shim-gate-'));
    env = createPodNetEnv(80, [{ type: 'gate', dir: gate }]);
    dirs = childShimDirs(env);
  });

  afterAll(async () => {
    writeFileSync(join(gate, 'open'), '');
    await shim?.close();
    for (const uid of uids) removeContainersOfPod(uid);
    env?.cleanup();
    rmSync(gate, { recursive: true, force: true });
  });

  function closeGate(): void {
    rmSync(join(gate, 'open'), { force: true });
    rmSync(join(gate, 'entered'), { force: true });
  }

  /** Starts RunPodSandbox and resolves once the gate plugin holds its CNI ADD. */
  async function runUntilGate(s: ChildShim, uid: string): Promise<{ running: Promise<any> }> {
    closeGate();
    const running = s.call('RunPodSandbox', { config: podConfig(`pod-${uid.slice(-6)}`, uid) }).then(
      (r: any) => ({ ok: r.pod_sandbox_id as string }),
      (e: any) => ({ err: e }),
    );
    await waitFor('CNI ADD to reach the gate', () => existsSync(join(gate, 'entered')), 30_000);
    // Wrapped: an async function returning the bare promise would wait for it.
    return { running };
  }

  /** Stop+Remove of every pod of the suite, then a look for anything pod `uid` left. */
  async function removeAndCheck(s: ChildShim, uid: string): Promise<void> {
    const ids = dockerContainersOfPod(uid);
    const seen = seenOf(ids);
    await stopAndRemovePods((m, r) => s.call(m, r), { suite: 'signals' });
    mkdirSync(dirs.stateDir, { recursive: true });
    expect(leftovers(env, dirs.stateDir, uid, seen, { sandboxIds: [], containerIds: [], ips: [], veths: 0 })).toEqual(NOTHING);
  }

  /** The next test must not find this one's shim on the socket. */
  async function done(): Promise<void> {
    writeFileSync(join(gate, 'open'), '');
    await shim?.close();
    shim = undefined;
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal}: the RunPodSandbox in flight finishes, new calls are refused, exit 0, the pod is READY after a restart`, async () => {
      const uid = uniqueId(`drain-${signal.toLowerCase()}`);
      uids.push(uid);
      try {
        shim = await startChildShim(dirs);
        const { running } = await runUntilGate(shim, uid);
        shim.proc.kill(signal);
        // The listener goes first; then a call on the open connection is refused, not queued.
        await waitFor('the socket to close', () => !existsSync(dirs.socket));
        const refused = await shim.call('Version', {}, 10_000).then(
          () => undefined,
          (e: any) => e,
        );
        expect(refused?.code).toBe(status.UNAVAILABLE);
        writeFileSync(join(gate, 'open'), '');
        const outcome = await running;
        expect(outcome.err?.message).toBeUndefined();
        expect(await shim.exited).toBe(0);
        await shim.close();

        shim = await startChildShim(dirs);
        const st = await shim.call('PodSandboxStatus', { pod_sandbox_id: outcome.ok });
        expect(st.status.state).toBe('SANDBOX_READY');
        expect(st.status.network.ip).toMatch(subnetIpPattern(env));
        await removeAndCheck(shim, uid);
      } finally {
        await done();
      }
    });
  }

  it('kill -9 during CNI ADD, state dir lost: the rebuilt pod is NOTREADY and removable without a trace', async () => {
    const uid = uniqueId('kill9');
    uids.push(uid);
    try {
      shim = await startChildShim(dirs);
      const { running } = await runUntilGate(shim, uid);
      shim.proc.kill('SIGKILL');
      expect(await shim.exited).toBe('SIGKILL');
      expect((await running).err?.code).toBe(status.UNAVAILABLE);
      await shim.close();
      // The plugin ends with its parent gone: the IP stays reserved, the cache entry has no result.
      writeFileSync(join(gate, 'open'), '');
      rmSync(dirs.stateDir, { recursive: true, force: true });
      expect(dockerContainersOfPod(uid)).toHaveLength(1);

      shim = await startChildShim(dirs);
      const list = await shim.call('ListPodSandbox', { filter: { label_selector: { suite: 'signals' } } });
      expect(list.items).toHaveLength(1);
      expect(list.items[0].state).toBe('SANDBOX_NOTREADY');
      await removeAndCheck(shim, uid);
    } finally {
      await done();
    }
  });
});
