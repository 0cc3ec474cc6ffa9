import { describe, expect, it } from 'vitest';
import { containerCreateOptions } from '../../../src/runtime/container-config.js';
import type { ContainerSpec, SandboxRecord } from '../../../src/runtime/types.js';

const sandbox: SandboxRecord = {
  id: 'sb1',
  pauseContainerId: 'pause1',
  createdAt: '1',
  state: 'ready',
  netnsPath: '/var/run/docker/netns/x',
  ips: ['10.88.0.2'],
  network: null,
  spec: {
    metadata: { name: 'web', uid: 'u1', namespace: 'ns', attempt: 0 },
    hostname: 'web',
    logDirectory: '/var/log/pods/x',
    dns: null,
    portMappings: [],
    labels: {},
    annotations: {},
    cgroupParent: '/kubepods/pod-u1',
    sysctls: {},
    namespaces: { network: 'pod', pid: 'container', ipc: 'pod' },
    runtimeHandler: '',
    privileged: false,
  },
};

function spec(over: Partial<ContainerSpec> = {}, security: Partial<ContainerSpec['security']> = {}): ContainerSpec {
  return {
    name: 'app',
    attempt: 1,
    image: 'localhost/x:1',
    command: [],
    args: [],
    workingDir: '',
    envs: [],
    labels: {},
    annotations: {},
    mounts: [],
    devices: [],
    logPath: 'app/1.log',
    stdin: false,
    stdinOnce: false,
    tty: false,
    resources: null,
    ...over,
    security: {
      runAsUser: null,
      runAsGroup: null,
      runAsUsername: '',
      supplementalGroups: [],
      readonlyRootfs: false,
      privileged: false,
      capAdd: [],
      capDrop: [],
      noNewPrivs: false,
      maskedPaths: [],
      readonlyPaths: [],
      seccomp: null,
      namespaces: { pid: 'container', ipc: 'pod', network: 'pod', targetId: '' },
      ...security,
    },
  };
}

/** What the node can grant, as capabilities.ts would compute it (here: no SYS_RESOURCE). */
const GRANTABLE = ['CHOWN', 'NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'];

const noProfile = (p: string): string => {
  throw new Error(`unexpected profile read ${p}`);
};

describe('containerCreateOptions', () => {
  it('joins the pause container network and IPC, names by the kubelet scheme', () => {
    const o = containerCreateOptions(spec(), sandbox, noProfile, '/s', GRANTABLE);
    expect(o.name).toBe('k8s_app_web_ns_u1_1');
    expect(o.HostConfig).toMatchObject({ NetworkMode: 'container:pause1', IpcMode: 'container:pause1', PidMode: '', CgroupParent: '/kubepods/pod-u1' });
    expect(o.Labels).toMatchObject({
      'io.cri-shim.managed': '/s',
      'io.cri-shim.sandbox-id': 'sb1',
      'io.kubernetes.container.name': 'app',
      'io.cri-shim.log-path': '/var/log/pods/x/app/1.log',
    });
  });

  it.each([
    ['pod', 'container:pause1'],
    ['node', 'host'],
    ['container', ''],
    ['target', 'container:other'],
  ] as const)('pid namespace %s → PidMode %s', (pid, mode) => {
    const o = containerCreateOptions(spec({}, { namespaces: { pid, ipc: 'pod', network: 'pod', targetId: 'other' } }), sandbox, noProfile, '/s', GRANTABLE);
    expect(o.HostConfig!.PidMode).toBe(mode);
  });

  it('maps command → Entrypoint and args → Cmd, env, workdir, tty and stdin', () => {
    const o = containerCreateOptions(
      spec({ command: ['sh'], args: ['-c', 'x'], envs: [{ key: 'A', value: 'b=c' }], workingDir: '/w', tty: true, stdin: true, stdinOnce: true }),
      sandbox,
      noProfile,
      '/s',
      GRANTABLE,
    );
    expect(o).toMatchObject({ Entrypoint: ['sh'], Cmd: ['-c', 'x'], Env: ['A=b=c'], WorkingDir: '/w', Tty: true, OpenStdin: true, StdinOnce: true });
  });

  it('leaves Entrypoint and Cmd to the image when not given', () => {
    const o = containerCreateOptions(spec(), sandbox, noProfile, '/s', GRANTABLE);
    expect(o.Entrypoint).toBeUndefined();
    expect(o.Cmd).toBeUndefined();
  });

  it('maps mounts with readonly and propagation', () => {
    const o = containerCreateOptions(
      spec({
        mounts: [
          { containerPath: '/a', hostPath: '/h/a', readonly: true, propagation: 'private', selinuxRelabel: false },
          { containerPath: '/b', hostPath: '/h/b', readonly: false, propagation: 'rslave', selinuxRelabel: false },
          { containerPath: '/c', hostPath: '/h/c', readonly: false, propagation: 'rshared', selinuxRelabel: false },
        ],
      }),
      sandbox,
      noProfile,
      '/s',
      GRANTABLE,
    );
    expect(o.HostConfig!.Binds).toEqual(['/h/a:/a:ro', '/h/b:/b:rw,rslave', '/h/c:/c:rw,rshared']);
  });

  it('maps resources and clamps oom_score_adj to our own', () => {
    const o = containerCreateOptions(
      spec({ resources: { cpuPeriod: 100000, cpuQuota: 20000, cpuShares: 256, memoryLimitBytes: 64 << 20, cpusetCpus: '0', cpusetMems: '', oomScoreAdj: -999 } }),
      sandbox,
      noProfile,
      '/s',
      GRANTABLE,
    );
    expect(o.HostConfig).toMatchObject({ CpuPeriod: 100000, CpuQuota: 20000, CpuShares: 256, Memory: 64 << 20, CpusetCpus: '0' });
    expect(o.HostConfig!.OomScoreAdj).toBeGreaterThanOrEqual(-999);
  });

  it.each([
    [{ runAsUser: 1000 }, '1000'],
    [{ runAsUser: 1000, runAsGroup: 2000 }, '1000:2000'],
    [{ runAsUsername: 'www-data' }, 'www-data'],
    [{ runAsUser: 0 }, '0'],
    [{}, undefined],
  ])('user %j → %s', (sec, user) => {
    expect(containerCreateOptions(spec({}, sec), sandbox, noProfile, '/s', GRANTABLE).User).toBe(user);
  });

  it('maps security options: no_new_privs, seccomp, masked/readonly paths, groups, readonly rootfs', () => {
    const o = containerCreateOptions(
      spec({}, {
        noNewPrivs: true,
        seccomp: { kind: 'localhost', path: '/p.json' },
        maskedPaths: ['/proc/kcore'],
        readonlyPaths: ['/proc/sys'],
        supplementalGroups: [5, 6],
        readonlyRootfs: true,
      }),
      sandbox,
      () => '{"defaultAction":"SCMP_ACT_ALLOW"}',
      '/s',
      GRANTABLE,
    );
    expect(o.HostConfig).toMatchObject({
      SecurityOpt: ['no-new-privileges', 'seccomp={"defaultAction":"SCMP_ACT_ALLOW"}'],
      MaskedPaths: ['/proc/kcore'],
      ReadonlyPaths: ['/proc/sys'],
      GroupAdd: ['5', '6'],
      ReadonlyRootfs: true,
    });
    expect(containerCreateOptions(spec({}, { seccomp: { kind: 'unconfined' } }), sandbox, noProfile, '/s', GRANTABLE).HostConfig!.SecurityOpt).toEqual(['seccomp=unconfined']);
  });

  it('privileged and cap_add ALL grant what the node has, not more', () => {
    const o = containerCreateOptions(spec({}, { privileged: true }), sandbox, noProfile, '/s', GRANTABLE);
    expect(o.HostConfig!.CapAdd).toEqual(GRANTABLE);
    expect(o.HostConfig!.MaskedPaths).toEqual([]);
    const all = containerCreateOptions(spec({}, { capAdd: ['ALL'], capDrop: ['NET_RAW'] }), sandbox, noProfile, '/s', GRANTABLE);
    expect(all.HostConfig!.CapAdd).not.toContain('NET_RAW');
    expect(all.HostConfig!.CapAdd).not.toContain('ALL');
    expect(all.HostConfig!.CapAdd).toEqual(['CHOWN', 'NET_ADMIN', 'SYS_ADMIN']);
    const some = containerCreateOptions(spec({}, { capAdd: ['CAP_NET_ADMIN'], capDrop: ['ALL'] }), sandbox, noProfile, '/s', GRANTABLE);
    expect(some.HostConfig).toMatchObject({ CapAdd: ['NET_ADMIN'], CapDrop: ['ALL'] });
  });

  it('uses the host network for a host-network pod', () => {
    const host = { ...sandbox, spec: { ...sandbox.spec, namespaces: { network: 'node' as const, pid: 'container' as const, ipc: 'node' as const } } };
    const o = containerCreateOptions(spec(), host, noProfile, '/s', GRANTABLE);
    expect(o.HostConfig).toMatchObject({ NetworkMode: 'host', IpcMode: 'host' });
  });
});
