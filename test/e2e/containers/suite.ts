/**
 * What the container-depth suites share: a pod network of their own, a shim on a state
 * dir that survives a restart, one pod, busybox containers, and a teardown that leaves
 * nothing on the node.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestShim, uniqueId, type TestShim } from '../../helpers/shim.js';
import { createPodNetEnv, dockerContainersOfSandbox, sh, waitFor, type PodNetEnv } from '../../helpers/pod-net.js';

export const BUSYBOX = 'localhost/cri-shim/busybox:1.0';

export interface ContainerSuite {
  env: PodNetEnv;
  t: TestShim;
  suite: string;
  podId: string;
  podConfig: Record<string, any>;
  /** Closes the shim, runs `whileDown`, and starts a new one on the same state dir and socket. */
  restartShim(whileDown?: () => Promise<void>): Promise<void>;
  run(name: string, command: string[], extra?: Record<string, unknown>): Promise<string>;
  create(name: string, command: string[], extra?: Record<string, unknown>): Promise<string>;
  waitState(id: string, state: string, timeoutMs?: number): Promise<any>;
  teardown(): Promise<void>;
}

export async function containerSuite(index: number, name: string): Promise<ContainerSuite> {
  const env = createPodNetEnv(index);
  const suite = uniqueId(name);
  const start = () =>
    startTestShim({
      stateDir: join(env.dir, 'state'),
      cniConfDir: env.confDir,
      cniBinDirs: env.binDirs,
      cniCacheDir: env.cacheDir,
      listen: `unix://${join(env.dir, 'cri.sock')}`,
    });
  const s: ContainerSuite = {
    env,
    t: await start(),
    suite,
    podId: '',
    podConfig: {
      metadata: { name, uid: uniqueId('uid'), namespace: 'crt', attempt: 0 },
      hostname: name,
      log_directory: join(env.dir, 'logs', name),
      labels: { 'cri-shim-test': suite },
      linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    },
    restartShim: async (whileDown) => {
      await s.t.close();
      await whileDown?.();
      s.t = await start();
    },
    create: async (cname, command, extra = {}) => {
      const config = {
        metadata: { name: cname, attempt: 0 },
        image: { image: BUSYBOX },
        command,
        // As the kubelet names it; unlike the kubelet we do not create `<cname>/` first.
        log_path: `${cname}/0.log`,
        labels: { 'cri-shim-test': suite },
        ...extra,
      };
      const res = await s.t.call(s.t.runtime, 'CreateContainer', { pod_sandbox_id: s.podId, config, sandbox_config: s.podConfig });
      return res.container_id as string;
    },
    run: async (cname, command, extra) => {
      const id = await s.create(cname, command, extra);
      await s.t.call(s.t.runtime, 'StartContainer', { container_id: id });
      return id;
    },
    waitState: (id, state, timeoutMs = 15_000) =>
      waitFor(
        `container ${id.slice(0, 12)} ${state}`,
        async () => {
          const st = await s.t.call(s.t.runtime, 'ContainerStatus', { container_id: id });
          return st.status.state === state ? st.status : undefined;
        },
        timeoutMs,
      ),
    teardown: async () => {
      if (s.podId) {
        await s.t.call(s.t.runtime, 'StopPodSandbox', { pod_sandbox_id: s.podId }).catch(() => undefined);
        await s.t.call(s.t.runtime, 'RemovePodSandbox', { pod_sandbox_id: s.podId }).catch(() => undefined);
      }
      await s.t.close().catch(() => undefined);
      if (s.podId) for (const c of dockerContainersOfSandbox(s.podId)) sh('docker', ['rm', '-f', c]);
      env.cleanup();
    },
  };
  const res = await s.t.call(s.t.runtime, 'RunPodSandbox', { config: s.podConfig });
  s.podId = res.pod_sandbox_id;
  return s;
}

/** The host pid of a container's main process. */
export function mainPid(containerId: string): number {
  return Number(sh('docker', ['inspect', '-f', '{{.State.Pid}}', containerId]).trim());
}

/** A cgroup v1 file of a running container, found through its main process's /proc/<pid>/cgroup. */
export function cgroupFile(containerId: string, controller: string, file: string): string {
  const pid = mainPid(containerId);
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((l) => l.split(':')[1]?.split(',').includes(controller));
  if (!line) throw new Error(`no ${controller} cgroup for pid ${pid}`);
  const path = line.split(':').slice(2).join(':');
  return readFileSync(join('/sys/fs/cgroup', controller, path, file), 'utf8').trim();
}
