/**
 * The requests crictl 1.32 really sent for runp / create / start / pods / ps / inspect(p) /
 * stop / rm / stopp / rmp (test/fixtures/cri-wire/crictl-1.32), decoded as the server
 * decodes them, with ids, paths, ports and the image swapped for this test's, sent as
 * real gRPC calls. Every one must be served, and the pod must really work.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestShim, uniqueId, type TestShim } from '../../helpers/shim.js';
import { createPodNetEnv, dockerContainersOfPod, dockerContainersOfSandbox, httpGet, removeContainersOfPod, sh, shimConfigFor, subnetIpPattern, type PodNetEnv, waitFor } from '../../helpers/pod-net.js';
import { capturedRequest } from '../../helpers/crictl.js';

const BUSYBOX = 'localhost/cri-shim/busybox:1.0';
const FIXTURE_SANDBOX = 'sandbox0123456789abcdef';
const FIXTURE_CONTAINER = 'container0123456789abcdef';

describe('crictl 1.32 pod and container requests, replayed', () => {
  let env: PodNetEnv;
  let t: TestShim;
  let sandboxId = '';
  let containerId = '';
  const uid = uniqueId('replay');
  const cgroupParent = `/cri-shim-test-${uid}`;

  const swapIds = (req: any) => {
    if (req.pod_sandbox_id === FIXTURE_SANDBOX) req.pod_sandbox_id = sandboxId;
    if (req.container_id === FIXTURE_CONTAINER) req.container_id = containerId;
    if (req.filter?.pod_sandbox_id === FIXTURE_SANDBOX) req.filter.pod_sandbox_id = sandboxId;
    return req;
  };
  const replay = (file: string, edit: (req: any) => void = () => undefined) => {
    const req = swapIds(capturedRequest(file));
    edit(req);
    return t.call(t.runtime, file.slice(3), req);
  };

  beforeAll(async () => {
    env = createPodNetEnv(2);
    t = await startTestShim(shimConfigFor(env));
  });

  afterAll(async () => {
    await t?.close();
    removeContainersOfPod(uid);
    // Docker's cgroupfs driver leaves the parent cgroup of the pod behind.
    sh('sh', ['-c', `for d in /sys/fs/cgroup/*${cgroupParent}; do [ -d "$d" ] && rmdir "$d"; done; true`]);
    env?.cleanup();
  });

  it('runp input-pod.json (06-RunPodSandbox)', async () => {
    const hostPorts = [30000 + Math.floor(Math.random() * 10000), 40000 + Math.floor(Math.random() * 10000)];
    const res = await replay('06-RunPodSandbox', (req) => {
      expect(req.config.metadata.name).toBe('web');
      req.config.metadata.uid = uid;
      req.config.log_directory = join(env.dir, 'logs');
      req.config.linux.cgroup_parent = cgroupParent;
      req.config.port_mappings.forEach((p: any, i: number) => (p.host_port = hostPorts[i]));
    });
    sandboxId = res.pod_sandbox_id;
    expect(sandboxId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('create + start (14-CreateContainer, 16-StartContainer): the workload serves HTTP on the pod IP', async () => {
    const data = join(env.dir, 'web-data');
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'index.html'), 'replayed\n');
    const created = await replay('14-CreateContainer', (req) => {
      expect(req.config.image.image).toBe('registry.k8s.io/e2e-test-images/nginx:1.14-2');
      req.config.image.image = BUSYBOX;
      req.sandbox_config.metadata.uid = uid;
      req.config.mounts[0].host_path = data;
      // No nginx in busybox: same shape, busybox's httpd on the same port and files.
      req.config.args = ['httpd -f -p 80 -h /data'];
    });
    containerId = created.container_id;
    await replay('16-StartContainer');
    const status = await t.call(t.runtime, 'PodSandboxStatus', { pod_sandbox_id: sandboxId });
    const ip = status.status.network.ip;
    const res = await waitFor('HTTP from the replayed pod', async () => {
      const r = await httpGet(`http://${ip}/index.html`).catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    });
    expect(res.body).toBe('replayed\n');
  });

  it('pods (08) and pods --label app=web --state ready (10)', async () => {
    const all = await replay('08-ListPodSandbox');
    expect(all.items.map((p: any) => p.id)).toContain(sandboxId);
    const filtered = await replay('10-ListPodSandbox');
    expect(filtered.items.map((p: any) => p.id)).toEqual([sandboxId]);
    expect(filtered.items[0]).toMatchObject({ state: 'SANDBOX_READY', metadata: { name: 'web', namespace: 'default', attempt: 1 } });
  });

  it('inspectp (12-PodSandboxStatus, verbose)', async () => {
    const res = await replay('12-PodSandboxStatus');
    expect(res.status).toMatchObject({ id: sandboxId, state: 'SANDBOX_READY', labels: { app: 'web' } });
    expect(res.status.network.ip).toMatch(subnetIpPattern(env));
    const info = JSON.parse(res.info.info);
    expect(JSON.stringify(info)).toContain(res.status.network.ip);
  });

  it('ps -a (19) and ps --pod --label --state running (22)', async () => {
    const all = await replay('19-ListContainers');
    expect(all.containers.map((c: any) => c.id)).toContain(containerId);
    const filtered = await replay('22-ListContainers');
    // crictl asked for label app=web, which the container (unlike the pod) does not carry.
    expect(filtered.containers).toEqual([]);
    const byPod = await replay('22-ListContainers', (req) => (req.filter.label_selector = {}));
    expect(byPod.containers.map((c: any) => c.id)).toEqual([containerId]);
  });

  it('inspect (24-ContainerStatus, verbose)', async () => {
    const res = await replay('24-ContainerStatus');
    expect(res.status).toMatchObject({
      id: containerId,
      state: 'CONTAINER_RUNNING',
      metadata: { name: 'nginx', attempt: 0 },
      image: { image: BUSYBOX },
      log_path: join(env.dir, 'logs', 'nginx/0.log'),
    });
    expect(JSON.parse(res.info.info).pid).toBeGreaterThan(0);
  });

  it('stop -t 10 (42), rm -f (44–46), stopp (48), rmp -f (50–52)', async () => {
    await replay('42-StopContainer');
    const stopped = await replay('44-ContainerStatus');
    expect(stopped.status.state).toBe('CONTAINER_EXITED');
    await replay('45-StopContainer');
    await replay('46-RemoveContainer');
    await replay('48-StopPodSandbox');
    const st = await replay('50-PodSandboxStatus');
    expect(st.status.state).toBe('SANDBOX_NOTREADY');
    await replay('51-StopPodSandbox');
    await replay('52-RemovePodSandbox');
    expect(dockerContainersOfSandbox(sandboxId)).toEqual([]);
    expect(env.reservedIps()).toEqual([]);
    expect(env.bridgePorts()).toEqual([]);
  });
});
