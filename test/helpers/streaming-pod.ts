/**
 * A shim with a pod for the streaming suites: busybox httpd on :80 (serving
 * `pod-says-hello`, as in the captures) and on the pod's 127.0.0.1:8081 only, plus
 * containers to attach to (one plain with stdin open, one with a TTY).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestShim, uniqueId, type TestShim } from './shim.js';
import { createPodNetEnv, dockerContainersOfSandbox, sh, waitFor, type PodNetEnv } from './pod-net.js';

const BUSYBOX = 'localhost/cri-shim/busybox:1.0';

export interface StreamingPod {
  t: TestShim;
  env: PodNetEnv;
  sandboxId: string;
  /** httpd container: exec target too. */
  web: string;
  /** `cat` with stdin open, no TTY. */
  catter: string;
  /** `sh` with stdin and a TTY. */
  shell: string;
  call<T = any>(method: string, request: object): Promise<T>;
  cleanup(): Promise<void>;
}

export async function startStreamingPod(netIndex: number, shimOverrides: Record<string, unknown> = {}): Promise<StreamingPod> {
  const env = createPodNetEnv(netIndex);
  const suite = uniqueId('stream');
  const t = await startTestShim({
    stateDir: join(env.dir, 'state'),
    cniConfDir: env.confDir,
    cniBinDirs: env.binDirs,
    cniCacheDir: env.cacheDir,
    listen: `unix://${join(env.dir, 'cri.sock')}`,
    ...shimOverrides,
  });
  const call = <T = any>(method: string, request: object) => t.call<T>(t.runtime, method, request);
  let sandboxId = '';
  const cleanup = async () => {
    if (sandboxId) await call('RemovePodSandbox', { pod_sandbox_id: sandboxId }).catch(() => undefined);
    await t.close();
    if (sandboxId) for (const c of dockerContainersOfSandbox(sandboxId)) sh('docker', ['rm', '-f', c]);
    env.cleanup();
  };
  try {
    await waitFor('NetworkReady', async () => {
      const res = await call('Status', {});
      return res.status.conditions.find((c: any) => c.type === 'NetworkReady')?.status === true || undefined;
    });
    const www = join(env.dir, 'www');
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, 'index.html'), 'pod-says-hello\n');
    const podConfig = {
      metadata: { name: 'streaming', uid: uniqueId('uid'), namespace: 'crt', attempt: 0 },
      hostname: 'streaming',
      log_directory: join(env.dir, 'logs'),
      labels: { 'cri-shim-test': suite },
      linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    };
    sandboxId = (await call('RunPodSandbox', { config: podConfig })).pod_sandbox_id;
    const run = async (name: string, command: string[], extra: object = {}) => {
      const config = {
        metadata: { name, attempt: 0 },
        image: { image: BUSYBOX },
        command,
        log_path: `${name}.log`,
        labels: { 'cri-shim-test': suite },
        ...extra,
      };
      const { container_id } = await call('CreateContainer', { pod_sandbox_id: sandboxId, config, sandbox_config: podConfig });
      await call('StartContainer', { container_id });
      return container_id as string;
    };
    const web = await run('web', ['sh', '-c', 'httpd -p 127.0.0.1:8081 -h /www && exec httpd -f -p 80 -h /www'], {
      mounts: [{ container_path: '/www', host_path: www, readonly: true }],
    });
    const catter = await run('catter', ['cat'], { stdin: true });
    const shell = await run('shell', ['sh'], { stdin: true, tty: true });
    return { t, env, sandboxId, web, catter, shell, call, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
