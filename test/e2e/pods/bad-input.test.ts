/**
 * #11 classes 1, 5, 6 and 8 over the real socket, with real dockerd and CNI plugins:
 * bad values in RunPodSandbox and CreateContainer are INVALID_ARGUMENT naming the field,
 * and nothing of the call is left (no container, no state file, no IP reservation, no
 * veth, no log file or cgroup directory outside its place). Then pods whose names clean
 * to the same Docker name live side by side, also after a rebuild from Docker labels.
 */
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueId } from '../../helpers/shim.js';
import { containersOfShim, usePodShim, type RuntimeCall } from '../../helpers/pod-shim.js';

const BUSYBOX = 'localhost/cri-shim/busybox:1.0';
const TAG = uniqueId('badin');
type Edit = (c: any) => void;

function filesIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

/**
 * Every directory named `name` at the top of a cgroup hierarchy: under each v1
 * controller's mount, and at the root of a v2 (unified) one.
 */
function cgroupDirs(name: string): string[] {
  return ['', ...readdirSync('/sys/fs/cgroup')]
    .map((c) => join('/sys/fs/cgroup', c, name))
    .filter((p) => existsSync(p));
}

async function callError(call: RuntimeCall, method: string, request: object): Promise<any> {
  return call(method, request).then(
    () => undefined,
    (e: any) => e,
  );
}

describe('bad input is refused at the door and leaves nothing behind', () => {
  const s = usePodShim(60);

  function podConfig(edit: Edit = () => undefined) {
    const config: any = {
      metadata: { name: 'badin', uid: TAG, namespace: 'crt', attempt: 0 },
      hostname: 'badin',
      log_directory: join(s.env.dir, 'logs'),
      linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    };
    edit(config);
    return config;
  }

  function expectNothingOfPods(): void {
    expect(containersOfShim(s.stateDir)).toEqual([]);
    expect(filesIn(join(s.stateDir, 'sandboxes'))).toEqual([]);
    expect(s.env.reservedIps()).toEqual([]);
    expect(s.env.bridgePorts()).toEqual([]);
  }

  const cg = `crt-b-${TAG}`;
  const POD_CASES: [string, string, Edit][] = [
    // class 1: what CNI_ARGS cannot carry
    ['a pod name with ; and =', 'config.metadata.name', (c) => (c.metadata.name = 'semi;K8S_POD_NAME=evil')],
    ['a pod name with =', 'config.metadata.name', (c) => (c.metadata.name = 'a=b')],
    ['a namespace with ;', 'config.metadata.namespace', (c) => (c.metadata.namespace = 'crt;x')],
    ['a uid with =', 'config.metadata.uid', (c) => (c.metadata.uid = `${TAG}=x`)],
    ['a pod name with a newline', 'config.metadata.name', (c) => (c.metadata.name = 'badin\n10.88.77.250 evil.example')],
    ['a namespace with NUL', 'config.metadata.namespace', (c) => (c.metadata.namespace = 'crt\0')],
    // class 5: file lines and paths
    ['a DNS search adding a nameserver line', 'config.dns_config.searches[0]', (c) => (c.dns_config = { servers: ['10.96.0.10'], searches: ['svc\nnameserver 10.88.77.250'], options: [] })],
    ['a DNS option adding a line', 'config.dns_config.options[0]', (c) => (c.dns_config = { servers: ['10.96.0.10'], searches: [], options: ['ndots:5\nnameserver 10.88.77.250'] })],
    ['log_directory with .. segments', 'config.log_directory', (c) => (c.log_directory = '/a/b/../../c')],
    ['log_directory with a newline', 'config.log_directory', (c) => (c.log_directory = `${c.log_directory}\nx`)],
    // class 8: cgroups
    ['cgroup_parent climbing out with ..', 'config.linux.cgroup_parent', (c) => (c.linux.cgroup_parent = `/${cg}/../../${cg}-escaped`)],
    // class 6: what Docker or runc would refuse
    ['a sysctl in no namespace of the pod', 'config.linux.sysctls["kernel.nope"]', (c) => (c.linux.sysctls = { 'kernel.nope': '1' })],
    ['a sysctl value with a newline', 'config.linux.sysctls["net.ipv4.ip_unprivileged_port_start"]', (c) => (c.linux.sysctls = { 'net.ipv4.ip_unprivileged_port_start': '0\n1' })],
    ['10 MB of annotations', 'config.annotations', (c) => (c.annotations = { big: 'x'.repeat(10 * 1024 * 1024) })],
    ['an unknown namespace mode', 'config.linux.security_context.namespace_options.pid', (c) => (c.linux.security_context.namespace_options.pid = 7)],
    ['an unknown port protocol', 'config.port_mappings[0].protocol', (c) => (c.port_mappings = [{ protocol: 9, container_port: 80, host_port: 0 }])],
    ['supplemental_groups_policy 5', 'config.linux.security_context.supplemental_groups_policy', (c) => (c.linux.security_context.supplemental_groups_policy = 5)],
  ];

  it.each(POD_CASES)('RunPodSandbox: %s', async (_what, field, edit) => {
    const err = await callError(s.call, 'RunPodSandbox', { config: podConfig(edit) });
    expect(err, 'RunPodSandbox must fail').toBeDefined();
    expect({ code: status[err.code], details: err.details }).toMatchObject({ code: 'INVALID_ARGUMENT', details: expect.stringContaining(field) });
    expectNothingOfPods();
    expect((await s.call('ListPodSandbox', {})).items).toEqual([]);
  });

  it('made no cgroup directory for the refused cgroup_parent', () => {
    expect([...cgroupDirs(cg), ...cgroupDirs(`${cg}-escaped`)]).toEqual([]);
  });

  describe('CreateContainer in a ready pod', () => {
    let podId: string;
    let logDir: string;
    const outside = () => join(s.env.dir, 'outside');

    beforeAll(async () => {
      logDir = join(s.env.dir, 'logs', 'holder');
      mkdirSync(logDir, { recursive: true });
      mkdirSync(outside());
      symlinkSync(outside(), join(logDir, 'evil'));
      const config = podConfig((c) => ((c.metadata.name = 'holder'), (c.log_directory = logDir)));
      podId = (await s.call('RunPodSandbox', { config })).pod_sandbox_id;
    });

    afterAll(async () => {
      if (podId) await s.call('RemovePodSandbox', { pod_sandbox_id: podId });
    });

    function containerConfig(edit: Edit) {
      const config: any = { metadata: { name: 'c', attempt: 0 }, image: { image: BUSYBOX }, command: ['sleep', '1'], log_path: 'c/0.log' };
      edit(config);
      return config;
    }

    const CONTAINER_CASES: [string, string, Edit][] = [
      // class 5: the log file must stay inside log_directory
      ['log_path ../../../x/y.log', 'config.log_path', (c) => (c.log_path = `../../../escape-${TAG}/y.log`)],
      ['log_path c/../../y.log', 'config.log_path', (c) => (c.log_path = 'c/../../y.log')],
      ['an absolute log_path', 'config.log_path', (c) => (c.log_path = `${outside()}/y.log`)],
      ['log_path through a symlink leading out', 'log file', (c) => (c.log_path = 'evil/0.log')],
      ['log_path with a newline', 'config.log_path', (c) => (c.log_path = 'c/0\n.log')],
      ['a container name with a newline', 'config.metadata.name', (c) => (c.metadata.name = 'c\nx')],
      // class 6: what Docker answers with "invalid reference format" / "invalid volume specification"
      ['an upper-case image name', 'config.image.image', (c) => (c.image.image = 'Localhost/cri-shim/Busybox:1.0')],
      ['an image name with //', 'config.image.image', (c) => (c.image.image = 'localhost/cri-shim//busybox:1.0')],
      ['a host path with a colon', 'config.mounts[0].host_path', (c) => (c.mounts = [{ host_path: `${outside()}:x`, container_path: '/data' }])],
      ['a mount onto /', 'config.mounts[0].container_path', (c) => (c.mounts = [{ host_path: outside(), container_path: '/' }])],
      ['10 MB of annotations', 'config.annotations', (c) => (c.annotations = { big: 'x'.repeat(10 * 1024 * 1024) })],
      ['supplemental_groups_policy 5', 'config.linux.security_context.supplemental_groups_policy', (c) => (c.linux = { security_context: { supplemental_groups_policy: 5 } })],
      ['an unknown mount propagation', 'config.mounts[0].propagation', (c) => (c.mounts = [{ host_path: outside(), container_path: '/data', propagation: 9 }])],
      ['an unknown seccomp profile type', 'config.linux.security_context.seccomp.profile_type', (c) => (c.linux = { security_context: { seccomp: { profile_type: 9 } } })],
    ];

    it.each(CONTAINER_CASES)('%s', async (_what, field, edit) => {
      const err = await callError(s.call, 'CreateContainer', { pod_sandbox_id: podId, config: containerConfig(edit), sandbox_config: podConfig() });
      expect(err, 'CreateContainer must fail').toBeDefined();
      expect({ code: status[err.code], details: err.details }).toMatchObject({ code: 'INVALID_ARGUMENT', details: expect.stringContaining(field) });
      // Only the pod's pause container; no container record; nothing written outside.
      expect(containersOfShim(s.stateDir).length).toBe(1);
      expect(filesIn(join(s.stateDir, 'containers'))).toEqual([]);
      expect((await s.call('ListContainers', {})).containers).toEqual([]);
      expect(filesIn(outside())).toEqual([]);
      expect(existsSync(join(s.env.dir, `escape-${TAG}`))).toBe(false);
    });

    it('a good container in the same pod still works, its log inside log_directory', async () => {
      const created = await s.call('CreateContainer', { pod_sandbox_id: podId, config: containerConfig(() => undefined), sandbox_config: podConfig() });
      const st = await s.call('ContainerStatus', { container_id: created.container_id });
      expect(st.status.log_path).toBe(join(logDir, 'c', '0.log'));
      await s.call('RemoveContainer', { container_id: created.container_id });
    });
  });

  it('left nothing once the pod is removed', async () => {
    expectNothingOfPods();
  });
});

describe('pods whose names clean to the same Docker name', () => {
  const s = usePodShim(61);
  const uid = uniqueId('names');
  // Each pair met on one Docker name before: `/` and `-`; `_` moving between name and namespace.
  const PODS = [
    { name: 'a/b', namespace: 'crt', attempt: 0 },
    { name: 'a-b', namespace: 'crt', attempt: 0 },
    { name: 'c_d', namespace: 'e', attempt: 3 },
    { name: 'c', namespace: 'd_e', attempt: 3 },
  ];

  const summary = (items: any[]) =>
    items.map((p) => `${p.metadata.namespace}/${p.metadata.name}#${p.metadata.attempt} ${p.state}`).sort();
  const expected = PODS.map((p) => `${p.namespace}/${p.name}#${p.attempt} SANDBOX_READY`).sort();

  it('all run side by side, each with its own IP', async () => {
    for (const p of PODS) {
      const config = {
        metadata: { ...p, uid },
        linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
      };
      await s.call('RunPodSandbox', { config });
    }
    expect(summary((await s.call('ListPodSandbox', {})).items)).toEqual(expected);
    expect(containersOfShim(s.stateDir).length).toBe(PODS.length);
    expect(s.env.reservedIps().length).toBe(PODS.length);
  });

  it('come back as they were from Docker labels when the state dir is lost', async () => {
    await s.restart({ loseState: true });
    const items = (await s.call('ListPodSandbox', {})).items;
    expect(summary(items)).toEqual(expected);
    for (const p of items) await s.call('RemovePodSandbox', { pod_sandbox_id: p.id });
    expect(containersOfShim(s.stateDir)).toEqual([]);
    expect(s.env.reservedIps()).toEqual([]);
    expect(filesIn(join(s.stateDir, 'sandboxes'))).toEqual([]);
  });
});
