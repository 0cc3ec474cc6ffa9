/**
 * The two defects critest found (issue #10), end to end with real dockerd and CNI:
 * - a pod with a ~100-byte name and no hostname (as critest sends it) runs, with the
 *   node's hostname, as containerd does; a hostname the kernel cannot hold is
 *   INVALID_ARGUMENT before any container exists;
 * - a privileged container, and one adding ALL, start on a node whose bounding set
 *   holds capabilities Docker 20.10 does not know (this VM's kernel has PERFMON, BPF
 *   and CHECKPOINT_RESTORE), and get every capability both sides know.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capsFromMask } from '../../../src/runtime/capabilities.js';
import { startTestShim, uniqueId, type TestShim } from '../../helpers/shim.js';
import { createPodNetEnv, dockerContainersOfPod, removeContainersOfPod, sh, shimConfigFor, waitFor, type PodNetEnv } from '../../helpers/pod-net.js';

const BUSYBOX = 'localhost/cri-shim/busybox:1.0';
const PAUSE = 'localhost/cri-shim/pause:1.0';

/** Capabilities in a `CapBnd:`/`CapEff:` line of /proc/<pid>/status. */
function capsOf(pid: number | 'self', line: 'CapBnd' | 'CapEff'): string[] {
  const hex = new RegExp(`^${line}:\\s*([0-9a-f]+)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!;
  return capsFromMask(BigInt(`0x${hex}`));
}

/** Whether dockerd itself refuses `cap` as unknown (asked directly, without the shim). */
function dockerRefuses(cap: string): boolean {
  const name = uniqueId('capprobe');
  try {
    sh('docker', ['create', '--name', name, '--cap-add', `CAP_${cap}`, PAUSE]);
    return false;
  } catch (err) {
    return /unknown capability/.test(String((err as { stderr?: string }).stderr ?? err));
  } finally {
    try {
      sh('docker', ['rm', '-f', name]);
    } catch {
      // never created
    }
  }
}

describe('hostname and capabilities, as critest exercises them', () => {
  let env: PodNetEnv;
  let t: TestShim;
  const uids: string[] = [];
  const pods: string[] = [];

  function podConfig(name: string, extra: Record<string, unknown> = {}) {
    const uid = uniqueId('uid');
    uids.push(uid);
    return { metadata: { name, uid, namespace: 'crt', attempt: 0 }, linux: {}, ...extra };
  }

  async function runPod(config: object): Promise<string> {
    const { pod_sandbox_id: id } = await t.call(t.runtime, 'RunPodSandbox', { config });
    pods.push(id);
    return id;
  }

  async function runContainer(podId: string, podCfg: object, name: string, security: object = {}): Promise<string> {
    const { container_id: id } = await t.call(t.runtime, 'CreateContainer', {
      pod_sandbox_id: podId,
      config: { metadata: { name, attempt: 0 }, image: { image: BUSYBOX }, command: ['sleep', '3600'], linux: { security_context: security } },
      sandbox_config: podCfg,
    });
    await t.call(t.runtime, 'StartContainer', { container_id: id });
    return id;
  }

  const pidOf = (containerId: string) => Number(sh('docker', ['inspect', '-f', '{{.State.Pid}}', containerId]).trim());

  beforeAll(async () => {
    env = createPodNetEnv(50);
    t = await startTestShim(shimConfigFor(env));
  });

  afterAll(async () => {
    for (const id of pods) {
      await t.call(t.runtime, 'StopPodSandbox', { pod_sandbox_id: id }).catch(() => undefined);
      await t.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: id }).catch(() => undefined);
    }
    await t?.close();
    for (const uid of uids) removeContainersOfPod(uid);
    env?.cleanup();
  });

  it("a 100-byte pod name without hostname runs with the node's hostname, in the container and in /etc/hosts", async () => {
    const name = `critest-like-${'n'.repeat(87)}`;
    expect(Buffer.byteLength(name)).toBe(100);
    const config = podConfig(name);
    const podId = await runPod(config);
    const cid = await runContainer(podId, config, 'shell');
    const res = await t.call(t.runtime, 'ExecSync', { container_id: cid, cmd: ['hostname'], timeout: 10 });
    expect(res.exit_code).toBe(0);
    expect(res.stdout.toString().trim()).toBe(hostname());
    const ip = (await t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: podId })).status.network.ip;
    const hosts = await t.call(t.runtime, 'ExecSync', { container_id: cid, cmd: ['cat', '/etc/hosts'], timeout: 10 });
    expect(hosts.stdout.toString()).toContain(`${ip}\t${hostname()}\n`);
  });

  it('a hostname the kernel cannot hold is INVALID_ARGUMENT naming config.hostname, and no container is made', async () => {
    const long = podConfig('long-hostname', { hostname: 'h'.repeat(100) });
    await expect(t.call(t.runtime, 'RunPodSandbox', { config: long })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('config.hostname'),
    });
    const spaced = podConfig('spaced-hostname', { hostname: 'web 0' });
    await expect(t.call(t.runtime, 'RunPodSandbox', { config: spaced })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(dockerContainersOfPod(long.metadata.uid)).toEqual([]);
    expect(dockerContainersOfPod(spaced.metadata.uid)).toEqual([]);
  });

  it('privileged and add ALL get every capability of the bounding set that Docker knows, and start', async () => {
    const bounding = capsOf('self', 'CapBnd');
    const config = podConfig('privileged', { linux: { security_context: { privileged: true } } });
    const podId = await runPod(config);
    const privileged = await runContainer(podId, config, 'privileged', { privileged: true });
    const addAll = await runContainer(podId, config, 'add-all', { capabilities: { add_capabilities: ['ALL'] } });
    for (const cid of [privileged, addAll]) {
      const st = await waitFor('running', async () => {
        const s = (await t.call(t.runtime, 'ContainerStatus', { container_id: cid })).status;
        return s.state === 'CONTAINER_RUNNING' ? s : undefined;
      });
      expect(st.state).toBe('CONTAINER_RUNNING');
      const effective = capsOf(pidOf(cid), 'CapEff');
      expect(effective).toContain('SYS_ADMIN');
      expect(effective.every((c) => bounding.includes(c))).toBe(true);
      // What the container lacks of our bounding set is exactly what dockerd itself refuses.
      const missing = bounding.filter((c) => !effective.includes(c));
      for (const cap of missing) expect(dockerRefuses(cap), `CAP_${cap} left out but Docker knows it`).toBe(true);
    }
  });
});
