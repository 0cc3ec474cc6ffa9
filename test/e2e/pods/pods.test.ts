/**
 * Pods end to end: real dockerd, real CNI plugins, a real gRPC client on the socket.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestShim, uniqueId, type TestShim } from '../../helpers/shim.js';
import { createPodNetEnv, dockerContainersOfSandbox, httpGet, sh, subnetIpPattern, waitFor, type PodNetEnv } from '../../helpers/pod-net.js';
import { waitNetworkReady } from '../../helpers/pod-shim.js';

const BUSYBOX = 'localhost/cri-shim/busybox:1.0';
const SUITE = uniqueId('pods');

function podConfig(env: PodNetEnv, name: string, extra: Record<string, unknown> = {}) {
  return {
    metadata: { name, uid: uniqueId('uid'), namespace: 'crt', attempt: 0 },
    hostname: name,
    log_directory: join(env.dir, 'logs', name),
    labels: { 'cri-shim-test': SUITE, pod: name },
    annotations: { 'cri-shim-test/annotation': 'yes' },
    linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    ...extra,
  };
}

function containerConfig(name: string, command: string[], extra: Record<string, unknown> = {}) {
  return {
    metadata: { name, attempt: 0 },
    image: { image: BUSYBOX },
    command,
    log_path: `${name}.log`,
    labels: { 'cri-shim-test': SUITE, container: name },
    ...extra,
  };
}

describe('pods end to end', () => {
  let env: PodNetEnv;
  let t: TestShim;
  const sandboxes: string[] = [];

  async function runPod(name: string, extra: Record<string, unknown> = {}) {
    const config = podConfig(env, name, extra);
    const res = await t.call(t.runtime, 'RunPodSandbox', { config });
    sandboxes.push(res.pod_sandbox_id);
    return { id: res.pod_sandbox_id as string, config };
  }

  async function runContainer(podId: string, podCfg: object, cfg: object) {
    const created = await t.call(t.runtime, 'CreateContainer', { pod_sandbox_id: podId, config: cfg, sandbox_config: podCfg });
    await t.call(t.runtime, 'StartContainer', { container_id: created.container_id });
    return created.container_id as string;
  }

  async function podIp(id: string): Promise<string> {
    const res = await t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: id });
    return res.status.network.ip;
  }

  async function startShim() {
    return startTestShim({
      stateDir: join(env.dir, 'state'),
      cniConfDir: env.confDir,
      cniBinDirs: env.binDirs,
      cniCacheDir: env.cacheDir,
      listen: `unix://${join(env.dir, 'cri.sock')}`,
    });
  }

  beforeAll(async () => {
    env = createPodNetEnv(0);
    t = await startShim();
    await waitNetworkReady(t);
  });

  afterAll(async () => {
    for (const id of sandboxes) await t.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: id }).catch(() => undefined);
    await t?.close();
    // Whatever a test left, the node must not keep it.
    for (const id of sandboxes) {
      for (const c of dockerContainersOfSandbox(id)) sh('docker', ['rm', '-f', c]);
    }
    env?.cleanup();
  });

  it('serves HTTP from a pod: a GET to the pod IP reaches busybox httpd (the seed story)', async () => {
    const { id, config } = await runPod('web');
    const www = join(env.dir, 'www');
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, 'index.html'), `hello from ${SUITE}\n`);
    await runContainer(
      id,
      config,
      containerConfig('httpd', ['httpd', '-f', '-p', '80', '-h', '/www'], {
        mounts: [{ container_path: '/www', host_path: www, readonly: true }],
      }),
    );
    const ip = await podIp(id);
    expect(ip).toMatch(subnetIpPattern(env));
    const res = await waitFor('HTTP 200 from the pod', async () => {
      const r = await httpGet(`http://${ip}/index.html`);
      return r.status === 200 ? r : undefined;
    });
    expect(res.body).toBe(`hello from ${SUITE}\n`);
  });

  it('containers of one pod talk over localhost; two pods reach each other across the bridge', async () => {
    const a = await runPod('talk-a');
    await runContainer(a.id, a.config, containerConfig('server', ['sh', '-c', 'mkdir -p /w && echo pod-a > /w/x && httpd -f -p 8080 -h /w']));
    const client = await runContainer(
      a.id,
      a.config,
      containerConfig('client', ['sh', '-c', 'until wget -q -O /tmp/got http://127.0.0.1:8080/x; do sleep 0.2; done; sleep 3600']),
    );
    await waitFor('the sidecar fetched over localhost', async () => {
      const st = await t.call(t.runtime, 'ContainerStatus', { container_id: client });
      return st.status.state === 'CONTAINER_RUNNING' || undefined;
    });
    const got = await waitFor('file fetched over localhost', () => {
      try {
        return sh('docker', ['exec', client, 'cat', '/tmp/got']);
      } catch {
        return undefined;
      }
    });
    expect(got.trim()).toBe('pod-a');

    const b = await runPod('talk-b');
    const ipA = await podIp(a.id);
    const fetcher = await runContainer(
      b.id,
      b.config,
      containerConfig('fetch', ['sh', '-c', `until wget -q -O /tmp/got http://${ipA}:8080/x; do sleep 0.2; done; sleep 3600`]),
    );
    const across = await waitFor('file fetched across the bridge', () => {
      try {
        return sh('docker', ['exec', fetcher, 'cat', '/tmp/got']);
      } catch {
        return undefined;
      }
    });
    expect(across.trim()).toBe('pod-a');
  });

  it('maps a host port: a GET to 127.0.0.1:<hostPort> reaches the pod (portmap)', async () => {
    const hostPort = 20000 + Math.floor(Math.random() * 20000);
    const { id, config } = await runPod('ports', {
      port_mappings: [{ protocol: 'TCP', container_port: 80, host_port: hostPort }],
    });
    await runContainer(id, config, containerConfig('httpd', ['sh', '-c', 'mkdir -p /w && echo mapped > /w/i && httpd -f -p 80 -h /w']));
    const res = await waitFor('HTTP via the host port', async () => {
      const r = await httpGet(`http://127.0.0.1:${hostPort}/i`).catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    });
    expect(res.body).toBe('mapped\n');
  });

  it('dns_config and hostname appear inside the pod; a host-network pod sees the host interfaces', async () => {
    const { id, config } = await runPod('dns', {
      hostname: 'custom-host',
      dns_config: { servers: [`${env.ipPrefix}253`], searches: ['svc.test', 'test'], options: ['ndots:2'] },
    });
    const c = await runContainer(id, config, containerConfig('sleep', ['sleep', '3600']));
    const resolv = sh('docker', ['exec', c, 'cat', '/etc/resolv.conf']);
    expect(resolv).toContain(`nameserver ${env.ipPrefix}253`);
    expect(resolv).toContain('search svc.test test');
    expect(resolv).toContain('options ndots:2');
    expect(sh('docker', ['exec', c, 'hostname']).trim()).toBe('custom-host');
    const hosts = sh('docker', ['exec', c, 'cat', '/etc/hosts']);
    expect(hosts).toContain(`${await podIp(id)}\tcustom-host`);

    const host = await runPod('hostnet', {
      linux: { security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
    });
    const hc = await runContainer(host.id, host.config, containerConfig('sleep', ['sleep', '3600']));
    const links = sh('docker', ['exec', hc, 'ip', '-o', 'link']);
    expect(links).toContain(env.bridge);
  });

  it('Stop and Remove twice, and on unknown ids, return OK; Status on unknown ids is NOT_FOUND', async () => {
    const { id, config } = await runPod('idem');
    const c = await runContainer(id, config, containerConfig('sleep', ['sleep', '3600']));
    for (let i = 0; i < 2; i++) {
      await t.call(t.runtime, 'StopContainer', { container_id: c, timeout: '1' });
      await t.call(t.runtime, 'StopPodSandbox', { pod_sandbox_id: id });
    }
    const st = await t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: id });
    expect(st.status.state).toBe('SANDBOX_NOTREADY');
    for (let i = 0; i < 2; i++) {
      await t.call(t.runtime, 'RemoveContainer', { container_id: c });
      await t.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: id });
    }
    const unknown = 'f'.repeat(64);
    await t.call(t.runtime, 'StopPodSandbox', { pod_sandbox_id: unknown });
    await t.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: unknown });
    await t.call(t.runtime, 'StopContainer', { container_id: unknown, timeout: '0' });
    await t.call(t.runtime, 'RemoveContainer', { container_id: unknown });
    await expect(t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: unknown })).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(t.call(t.runtime, 'ContainerStatus', { container_id: unknown })).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: id })).rejects.toMatchObject({ code: status.NOT_FOUND });
    expect(dockerContainersOfSandbox(id)).toEqual([]);
  });

  it('keeps the IP across a shim restart, and teardown afterwards frees everything', async () => {
    const { id, config } = await runPod('restart');
    await runContainer(id, config, containerConfig('sleep', ['sleep', '3600']));
    const before = await podIp(id);
    await t.close();
    t = await startShim();
    expect(await podIp(id)).toBe(before);
    const st = await t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: id });
    expect(st.status.state).toBe('SANDBOX_READY');
    await t.call(t.runtime, 'StopPodSandbox', { pod_sandbox_id: id });
    await t.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: id });
    expect(dockerContainersOfSandbox(id)).toEqual([]);
    expect(env.reservedIps()).not.toContain(before);
  });

  it('rebuilds its records from Docker labels and the CNI cache when the state dir is lost', async () => {
    const { id, config } = await runPod('lost');
    const c = await runContainer(id, config, containerConfig('sleep', ['sleep', '3600']));
    const ip = await podIp(id);
    await t.close();
    rmSync(join(env.dir, 'state'), { recursive: true, force: true });
    t = await startShim();
    const st = await t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: id });
    expect(st.status).toMatchObject({ id, state: 'SANDBOX_READY', metadata: { name: 'lost', namespace: 'crt' } });
    expect(st.status.network.ip).toBe(ip);
    expect(st.status.labels).toMatchObject({ pod: 'lost' });
    const cs = await t.call(t.runtime, 'ContainerStatus', { container_id: c });
    expect(cs.status).toMatchObject({ state: 'CONTAINER_RUNNING', metadata: { name: 'sleep' }, log_path: join(env.dir, 'logs', 'lost', 'sleep.log') });
    // The other pods of this suite came back too: nothing of ours is orphaned.
    const pods = await t.call(t.runtime, 'ListPodSandbox', {});
    const stillInDocker = sandboxes.filter((s) => dockerContainersOfSandbox(s).length > 0);
    expect(stillInDocker.length).toBeGreaterThan(1);
    expect(pods.items.map((p: any) => p.id)).toEqual(expect.arrayContaining(stillInDocker));
    await t.call(t.runtime, 'StopPodSandbox', { pod_sandbox_id: id });
    await t.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: id });
    expect(dockerContainersOfSandbox(id)).toEqual([]);
    expect(env.reservedIps()).not.toContain(ip);
  });

  it('serializes concurrent Stop and Remove of one pod: no ghost record, no leak', async () => {
    const { id, config } = await runPod('race');
    await runContainer(id, config, containerConfig('sleep', ['sleep', '3600']));
    const ip = await podIp(id);
    await Promise.all([
      t.call(t.runtime, 'StopPodSandbox', { pod_sandbox_id: id }),
      t.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: id }),
      t.call(t.runtime, 'StopPodSandbox', { pod_sandbox_id: id }),
      t.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: id }),
    ]);
    await expect(t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: id })).rejects.toMatchObject({ code: status.NOT_FOUND });
    expect(existsSync(join(env.dir, 'state', 'sandboxes', `${id}.json`))).toBe(false);
    expect(dockerContainersOfSandbox(id)).toEqual([]);
    expect(env.reservedIps()).not.toContain(ip);
  });

  it("never removes a container it did not create, even one with the kubelet's name", async () => {
    const { id, config } = await runPod('foreign');
    const name = `k8s_app_foreign_crt_${config.metadata.uid}_0`;
    const foreign = sh('docker', ['create', '--name', name, BUSYBOX, 'true']).trim();
    try {
      await expect(
        t.call(t.runtime, 'CreateContainer', { pod_sandbox_id: id, config: containerConfig('app', ['sleep', '1']), sandbox_config: config }),
      ).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
      expect(sh('docker', ['inspect', '-f', '{{.Id}}', foreign]).trim()).toBe(foreign);
    } finally {
      sh('docker', ['rm', '-f', foreign]);
    }
  });

  it('lists sandboxes and containers with filters', async () => {
    const { id, config } = await runPod('list');
    const c = await runContainer(id, config, containerConfig('sleep', ['sleep', '3600']));
    const pods = await t.call(t.runtime, 'ListPodSandbox', { filter: { label_selector: { pod: 'list' } } });
    expect(pods.items.map((p: any) => p.id)).toEqual([id]);
    const byPrefix = await t.call(t.runtime, 'ListPodSandbox', { filter: { id: id.slice(0, 12) } });
    expect(byPrefix.items.map((p: any) => p.id)).toEqual([id]);
    const ready = await t.call(t.runtime, 'ListPodSandbox', { filter: { id, state: { state: 'SANDBOX_NOTREADY' } } });
    expect(ready.items).toEqual([]);
    const containers = await t.call(t.runtime, 'ListContainers', { filter: { pod_sandbox_id: id, state: { state: 'CONTAINER_RUNNING' } } });
    expect(containers.containers.map((x: any) => x.id)).toEqual([c]);
    const status = await t.call(t.runtime, 'ContainerStatus', { container_id: c });
    expect(status.status).toMatchObject({ id: c, state: 'CONTAINER_RUNNING', image: { image: BUSYBOX } });
    expect(status.status.image_ref).toMatch(/^sha256:/);
    expect(status.status.log_path).toBe(join(env.dir, 'logs', 'list', 'sleep.log'));
  });

  it('leaves no pod container, IP reservation or veth behind', async () => {
    for (const id of sandboxes.splice(0)) {
      await t.call(t.runtime, 'StopPodSandbox', { pod_sandbox_id: id });
      await t.call(t.runtime, 'RemovePodSandbox', { pod_sandbox_id: id });
      expect(dockerContainersOfSandbox(id)).toEqual([]);
    }
    expect(env.reservedIps()).toEqual([]);
    expect(env.bridgePorts()).toEqual([]);
  });
});
