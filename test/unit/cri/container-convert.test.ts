/**
 * ContainerConfig → ContainerSpec (from the real crictl request, then one field at a
 * time), filters, ContainerView → Container/ContainerStatus, and the container handlers
 * over a fake PodRuntime.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, NotFoundError } from '../../../src/errors.js';
import {
  containerFilterFromCri,
  containerInfo,
  containerSpecFromCri,
  containerStatusToCri,
  containerToCri,
} from '../../../src/cri/container-convert.js';
import { containerHandlers } from '../../../src/cri/container-handlers.js';
import type { CallContext } from '../../../src/cri/instrument.js';
import { type ContainerConfig__Output, type CreateContainerRequest__Output } from '../../../src/cri/proto.js';
import type { PodRuntime } from '../../../src/runtime/pods.js';
import type {
  ContainerLiveState,
  ContainerRecord,
  ContainerSpec,
  SandboxRecord,
  SandboxSpec,
  SecurityContext,
} from '../../../src/runtime/types.js';
import type { ContainerFilter, ContainerView, SandboxFilter, SandboxView } from '../../../src/runtime/views.js';
import { capturedRequest, overTheWire } from '../../helpers/crictl.js';


const create = () => capturedRequest<CreateContainerRequest__Output>('14-CreateContainer');

const CRICTL_SPEC: ContainerSpec = {
  name: 'nginx',
  attempt: 0,
  image: 'registry.k8s.io/e2e-test-images/nginx:1.14-2',
  command: ['/bin/sh', '-c'],
  args: ["nginx -g 'daemon off;'"],
  workingDir: '/usr/share/nginx/html',
  envs: [
    { key: 'PORT', value: '80' },
    { key: 'MODE', value: 'demo' },
  ],
  labels: { 'io.kubernetes.container.name': 'nginx' },
  annotations: { 'io.kubernetes.container.terminationMessagePath': '/dev/termination-log', 'io.kubernetes.container.restartCount': '0' },
  mounts: [{ containerPath: '/data', hostPath: '/srv/web-data', readonly: true, propagation: 'private', selinuxRelabel: false }],
  devices: [],
  logPath: 'nginx/0.log',
  stdin: false,
  stdinOnce: false,
  tty: false,
  resources: { cpuPeriod: 100000, cpuQuota: 50000, cpuShares: 512, memoryLimitBytes: 134217728, cpusetCpus: '', cpusetMems: '', oomScoreAdj: 1000 },
  security: {
    runAsUser: 101,
    runAsGroup: null,
    runAsUsername: '',
    supplementalGroups: [],
    readonlyRootfs: false,
    privileged: false,
    capAdd: ['NET_ADMIN'],
    capDrop: ['ALL'],
    noNewPrivs: true,
    maskedPaths: ['/proc/kcore'],
    readonlyPaths: ['/proc/sys'],
    // crictl sends `seccomp: {}`: profile_type 0 is RuntimeDefault.
    seccomp: { kind: 'runtime-default' },
    // No namespace_options: every mode is the enum's 0, POD.
    namespaces: { pid: 'pod', ipc: 'pod', network: 'pod', targetId: '' },
  },
};

type Edit = (c: ContainerConfig__Output) => void;
const sc = (c: ContainerConfig__Output) => c.linux!.security_context!;
const nsOpts = (pid: string, target_id = '', network = 'POD', ipc = 'POD'): Edit => (c) => {
  sc(c).namespace_options = { network, pid, ipc, target_id, userns_options: null } as never;
};
const seccompOf = (profile_type: string | number, localhost_ref = ''): Edit => (c) => {
  sc(c).seccomp = { profile_type, localhost_ref } as never;
};
const seccompPath = (path: string): Edit => (c) => {
  sc(c).seccomp = null;
  sc(c).seccomp_profile_path = path;
};
const withMount = (over: Record<string, unknown>): Edit => (c) => {
  Object.assign(c.mounts[0]!, over);
};

describe('containerSpecFromCri', () => {
  it('maps the real crictl 1.32 CreateContainer request (env values are bytes on the wire)', () => {
    expect(containerSpecFromCri(create().config)).toEqual(CRICTL_SPEC);
  });

  it.each<[string, Edit, Partial<ContainerSpec> | { security: Partial<SecurityContext> }]>([
    ['no linux section: no resources, defaults, POD namespaces', (c) => (c.linux = null), {
      resources: null,
      security: {
        runAsUser: null, runAsGroup: null, runAsUsername: '', supplementalGroups: [], readonlyRootfs: false, privileged: false,
        capAdd: [], capDrop: [], noNewPrivs: false, maskedPaths: [], readonlyPaths: [], seccomp: null,
        namespaces: { pid: 'pod', ipc: 'pod', network: 'pod', targetId: '' },
      },
    }],
    ['no resources', (c) => (c.linux!.resources = null), { resources: null }],
    ['cpuset and a -1 quota', (c) => Object.assign(c.linux!.resources!, { cpuset_cpus: '0-1', cpuset_mems: '0', cpu_quota: '-1' }), { resources: { ...CRICTL_SPEC.resources!, cpusetCpus: '0-1', cpusetMems: '0', cpuQuota: -1 } }],
    ['run_as_user {} is uid 0, not unset', (c) => (sc(c).run_as_user = { value: '0' }), { security: { runAsUser: 0 } }],
    ['run_as_user null is unset', (c) => (sc(c).run_as_user = null), { security: { runAsUser: null } }],
    ['user, group, username and supplemental groups', (c) => Object.assign(sc(c), { run_as_user: { value: '1000' }, run_as_group: { value: '3000' }, run_as_username: 'www', supplemental_groups: ['4000', '5000'] }), { security: { runAsUser: 1000, runAsGroup: 3000, runAsUsername: 'www', supplementalGroups: [4000, 5000] } }],
    ['group with only a username', (c) => Object.assign(sc(c), { run_as_user: null, run_as_username: 'www', run_as_group: { value: '0' } }), { security: { runAsUser: null, runAsGroup: 0, runAsUsername: 'www' } }],
    ['privileged, read-only rootfs', (c) => Object.assign(sc(c), { privileged: true, readonly_rootfs: true }), { security: { privileged: true, readonlyRootfs: true } }],
    ['pid CONTAINER (the kubelet default)', nsOpts('CONTAINER'), { security: { namespaces: { pid: 'container', ipc: 'pod', network: 'pod', targetId: '' } } }],
    ['pid NODE, host network and ipc', nsOpts('NODE', '', 'NODE', 'NODE'), { security: { namespaces: { pid: 'node', ipc: 'node', network: 'node', targetId: '' } } }],
    ['pid TARGET (ephemeral container)', nsOpts('TARGET', 'c0ffee'), { security: { namespaces: { pid: 'target', ipc: 'pod', network: 'pod', targetId: 'c0ffee' } } }],
    ['seccomp Unconfined', seccompOf('Unconfined'), { security: { seccomp: { kind: 'unconfined' } } }],
    ['seccomp Localhost', seccompOf('Localhost', '/var/lib/kubelet/seccomp/audit.json'), { security: { seccomp: { kind: 'localhost', path: '/var/lib/kubelet/seccomp/audit.json' } } }],
    ['seccomp Localhost with the old localhost/ prefix', seccompOf('Localhost', 'localhost//p.json'), { security: { seccomp: { kind: 'localhost', path: '/p.json' } } }],
    ['seccomp unset, no path: not specified', seccompPath(''), { security: { seccomp: null } }],
    ['deprecated path unconfined', seccompPath('unconfined'), { security: { seccomp: { kind: 'unconfined' } } }],
    ['deprecated path runtime/default', seccompPath('runtime/default'), { security: { seccomp: { kind: 'runtime-default' } } }],
    ['deprecated path docker/default', seccompPath('docker/default'), { security: { seccomp: { kind: 'runtime-default' } } }],
    ['deprecated path localhost/<path>', seccompPath('localhost//etc/seccomp/x.json'), { security: { seccomp: { kind: 'localhost', path: '/etc/seccomp/x.json' } } }],
    ['seccomp wins over the deprecated path', (c) => { seccompOf('Unconfined')(c); sc(c).seccomp_profile_path = 'runtime/default'; }, { security: { seccomp: { kind: 'unconfined' } } }],
    ['propagation HOST_TO_CONTAINER is rslave', withMount({ propagation: 'PROPAGATION_HOST_TO_CONTAINER' }), { mounts: [{ ...CRICTL_SPEC.mounts[0]!, propagation: 'rslave' }] }],
    ['propagation BIDIRECTIONAL is rshared, with relabel', withMount({ propagation: 'PROPAGATION_BIDIRECTIONAL', selinux_relabel: true, readonly: false }), { mounts: [{ ...CRICTL_SPEC.mounts[0]!, propagation: 'rshared', selinuxRelabel: true, readonly: false }] }],
    ['devices', (c) => (c.devices = [{ container_path: '/dev/fuse', host_path: '/dev/fuse', permissions: 'rw' }]), { devices: [{ containerPath: '/dev/fuse', hostPath: '/dev/fuse', permissions: 'rw' }] }],
    ['tty and stdin', (c) => Object.assign(c, { tty: true, stdin: true, stdin_once: true }), { tty: true, stdin: true, stdinOnce: true }],
    ['env value given as a string, UTF-8 bytes', (c) => (c.envs = [{ key: 'A', value: 'x=y' as never }, { key: 'B', value: Buffer.from('é☃') }]), { envs: [{ key: 'A', value: 'x=y' }, { key: 'B', value: 'é☃' }] }],
    ['empty env value', (c) => (c.envs = [{ key: 'EMPTY', value: Buffer.alloc(0) }]), { envs: [{ key: 'EMPTY', value: '' }] }],
  ])('%s', (_name, edit, expected) => {
    const { config } = create();
    edit(config!);
    expect(containerSpecFromCri(config)).toMatchObject(expected);
  });

  const SC = 'config.linux.security_context';
  it.each<[string, Edit | 'no config', string]>([
    ['no config', 'no config', 'config is required'],
    ['no metadata', (c) => (c.metadata = null), 'config.metadata is required'],
    ['no name', (c) => (c.metadata!.name = ''), 'config.metadata.name is required'],
    ['no image', (c) => (c.image = null), 'config.image.image is required'],
    ['empty image', (c) => (c.image!.image = ''), 'config.image.image is required'],
    ['relative container path', (c) => (c.mounts = [c.mounts[0]!, c.mounts[0]!, { ...c.mounts[0]!, container_path: 'data' }]), 'config.mounts[2].container_path must be absolute, got "data"'],
    ['no container path', withMount({ container_path: '' }), 'config.mounts[0].container_path is required'],
    ['relative host path (Docker would make a named volume)', withMount({ host_path: 'srv' }), 'config.mounts[0].host_path must be absolute, got "srv"'],
    ['unknown propagation', withMount({ propagation: 3 }), 'config.mounts[0].propagation is not a mount propagation: 3'],
    ['image volume', withMount({ image: { image: 'busybox', annotations: {}, user_specified_image: '', runtime_handler: '', image_ref: '' } }), 'config.mounts[0].image is not supported'],
    ['recursive read-only mount', withMount({ recursive_read_only: true }), 'config.mounts[0].recursive_read_only is not supported'],
    ['relative device path', (c) => (c.devices = [{ container_path: '/dev/x', host_path: 'dev/x', permissions: 'r' }]), 'config.devices[0].host_path must be absolute, got "dev/x"'],
    ['bad device permissions', (c) => (c.devices = [{ container_path: '/dev/x', host_path: '/dev/x', permissions: 'rx' }]), 'config.devices[0].permissions must be made of r, w and m, got "rx"'],
    ['env without key', (c) => (c.envs[1]!.key = ''), 'config.envs[1].key is required'],
    ['env key with =', (c) => (c.envs[0]!.key = 'A=B'), 'config.envs[0].key must not contain "="'],
    ['oom_score_adj out of range', (c) => (c.linux!.resources!.oom_score_adj = '1001'), 'config.linux.resources.oom_score_adj must be between -1000 and 1000, got 1001'],
    ['negative memory limit', (c) => (c.linux!.resources!.memory_limit_in_bytes = '-5'), 'config.linux.resources.memory_limit_in_bytes must be between 0 and'],
    ['int64 beyond 2^53', (c) => (c.linux!.resources!.memory_limit_in_bytes = '9223372036854775807'), 'config.linux.resources.memory_limit_in_bytes is out of range: 9223372036854775807'],
    ['negative uid', (c) => (sc(c).run_as_user = { value: '-1' }), `${SC}.run_as_user.value must not be negative, got -1`],
    ['group without user', (c) => Object.assign(sc(c), { run_as_user: null, run_as_group: { value: '10' } }), `${SC}.run_as_group needs run_as_user or run_as_username`],
    ['negative supplemental group', (c) => (sc(c).supplemental_groups = ['1', '-2']), `${SC}.supplemental_groups[1] must not be negative, got -2`],
    ['supplemental groups policy Strict', (c) => (sc(c).supplemental_groups_policy = 'Strict'), `${SC}.supplemental_groups_policy Strict is not supported`],
    ['TARGET without target_id', nsOpts('TARGET'), `${SC}.namespace_options.target_id is required when pid is TARGET`],
    ['TARGET network', nsOpts('POD', 'x', 'TARGET'), `${SC}.namespace_options.network cannot be TARGET`],
    ['unknown namespace mode', nsOpts('SIDEWAYS'), `${SC}.namespace_options.pid is not a namespace mode: SIDEWAYS`],
    ['localhost_ref on RuntimeDefault', seccompOf('RuntimeDefault', '/p.json'), `${SC}.seccomp.localhost_ref is only allowed with profile_type Localhost, not RuntimeDefault`],
    ['Localhost without localhost_ref', seccompOf('Localhost'), `${SC}.seccomp.localhost_ref is required`],
    ['Localhost with a relative ref', seccompOf('Localhost', 'p.json'), `${SC}.seccomp.localhost_ref must be absolute, got "p.json"`],
    ['unknown profile type', seccompOf(7), `${SC}.seccomp.profile_type is not a profile type: 7`],
    ['unknown deprecated seccomp path', seccompPath('strict'), `${SC}.seccomp_profile_path must be unconfined, runtime/default, docker/default or localhost/<path>, got "strict"`],
  ])('rejects %s, naming the field', (_name, edit, message) => {
    const { config } = create();
    if (edit !== 'no config') edit(config!);
    const call = () => containerSpecFromCri(edit === 'no config' ? null : config);
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(message);
  });
});

describe('containerFilterFromCri', () => {
  it.each<[string, Parameters<typeof containerFilterFromCri>[0], ContainerFilter]>([
    ['no filter', null, {}],
    ['empty filter', { id: '', state: null, pod_sandbox_id: '', label_selector: {} }, {}],
    ['id', { id: 'c1', state: null, pod_sandbox_id: '', label_selector: {} }, { id: 'c1' }],
    ['created', { id: '', state: { state: 'CONTAINER_CREATED' }, pod_sandbox_id: '', label_selector: {} }, { state: 'created' }],
    ['exited', { id: '', state: { state: 'CONTAINER_EXITED' }, pod_sandbox_id: '', label_selector: {} }, { state: 'exited' }],
    ['unknown', { id: '', state: { state: 'CONTAINER_UNKNOWN' }, pod_sandbox_id: '', label_selector: {} }, { state: 'unknown' }],
    ['sandbox', { id: '', state: null, pod_sandbox_id: 'sb', label_selector: {} }, { sandboxId: 'sb' }],
  ])('%s', (_name, filter, expected) => {
    expect(containerFilterFromCri(filter)).toEqual(expected);
  });

  it('maps the real `crictl ps --pod … --label app=web --state running` request', () => {
    const req = capturedRequest<{ filter: Parameters<typeof containerFilterFromCri>[0] }>('22-ListContainers');
    expect(containerFilterFromCri(req.filter)).toEqual({ state: 'running', sandboxId: 'sandbox0123456789abcdef', labelSelector: { app: 'web' } });
  });

  it('rejects an unknown state', () => {
    expect(() => containerFilterFromCri({ id: '', state: { state: 9 as never }, pod_sandbox_id: '', label_selector: {} })).toThrow('filter.state.state is not a container state: 9');
  });
});

// ── ContainerView → CRI ───────────────────────────────────────────────────────

const CONTAINER_ID = 'c3'.repeat(32);
const SANDBOX_ID = 'a1'.repeat(32);
const IMAGE_ID = `sha256:${'d4'.repeat(32)}`;
const LOG_DIR = '/var/log/pods/default_web_7c5f2a44-1d1e-4a3b-9d55-0d6f0a1c2b3e';

const RUNNING: ContainerLiveState = { state: 'running', startedAt: '1714557601000000000', finishedAt: '0', exitCode: 0, reason: '', message: '', pid: 777 };
const EXITED: ContainerLiveState = { state: 'exited', startedAt: '1714557601000000000', finishedAt: '1714557609000000000', exitCode: 137, reason: 'OOMKilled', message: '', pid: 0 };
const CREATED: ContainerLiveState = { state: 'created', startedAt: '0', finishedAt: '0', exitCode: 0, reason: '', message: '', pid: 0 };

function containerView(live: ContainerLiveState = RUNNING, spec: ContainerSpec = structuredClone(CRICTL_SPEC)): ContainerView {
  return {
    record: { id: CONTAINER_ID, sandboxId: SANDBOX_ID, spec, imageRef: IMAGE_ID, createdAt: '1714557600500000000', logPath: `${LOG_DIR}/nginx/0.log` },
    live,
  };
}

describe('Container and ContainerStatus', () => {
  it('Container for ListContainers', () => {
    expect(containerToCri(containerView())).toEqual({
      id: CONTAINER_ID,
      pod_sandbox_id: SANDBOX_ID,
      metadata: { name: 'nginx', attempt: 0 },
      image: { image: 'registry.k8s.io/e2e-test-images/nginx:1.14-2' },
      image_ref: IMAGE_ID,
      state: 'CONTAINER_RUNNING',
      created_at: '1714557600500000000',
      labels: CRICTL_SPEC.labels,
      annotations: CRICTL_SPEC.annotations,
      image_id: IMAGE_ID,
    });
  });

  it.each<[ContainerLiveState, string]>([
    [CREATED, 'CONTAINER_CREATED'],
    [RUNNING, 'CONTAINER_RUNNING'],
    [EXITED, 'CONTAINER_EXITED'],
    [{ ...CREATED, state: 'unknown', reason: 'Unknown' }, 'CONTAINER_UNKNOWN'],
  ])('state %o → %s', (live, state) => {
    expect(containerToCri(containerView(live)).state).toBe(state);
    expect(containerStatusToCri(containerView(live)).state).toBe(state);
  });

  it('ContainerStatus of a running container', () => {
    expect(containerStatusToCri(containerView())).toEqual({
      id: CONTAINER_ID,
      metadata: { name: 'nginx', attempt: 0 },
      state: 'CONTAINER_RUNNING',
      created_at: '1714557600500000000',
      started_at: '1714557601000000000',
      finished_at: '0',
      exit_code: 0,
      image: { image: 'registry.k8s.io/e2e-test-images/nginx:1.14-2' },
      image_ref: IMAGE_ID,
      reason: '',
      message: '',
      labels: CRICTL_SPEC.labels,
      annotations: CRICTL_SPEC.annotations,
      mounts: [{ container_path: '/data', host_path: '/srv/web-data', readonly: true, selinux_relabel: false, propagation: 'PROPAGATION_PRIVATE' }],
      log_path: `${LOG_DIR}/nginx/0.log`,
      resources: {
        linux: {
          cpu_period: '100000', cpu_quota: '50000', cpu_shares: '512', memory_limit_in_bytes: '134217728',
          oom_score_adj: '1000', cpuset_cpus: '', cpuset_mems: '',
        },
      },
      image_id: IMAGE_ID,
    });
  });

  it.each<[string, ContainerLiveState, { started_at: string; finished_at: string; exit_code: number; reason: string }]>([
    ['created: no times yet', { ...CREATED, startedAt: '5' }, { started_at: '0', finished_at: '0', exit_code: 0, reason: '' }],
    ['exited after an OOM kill', EXITED, { started_at: '1714557601000000000', finished_at: '1714557609000000000', exit_code: 137, reason: 'OOMKilled' }],
  ])('ContainerStatus %s', (_name, live, expected) => {
    expect(containerStatusToCri(containerView(live))).toMatchObject(expected);
  });

  it('mount propagation and no resources round-trip to CRI', () => {
    const spec = structuredClone(CRICTL_SPEC);
    spec.resources = null;
    spec.mounts = [
      { containerPath: '/a', hostPath: '/x', readonly: false, propagation: 'rslave', selinuxRelabel: true },
      { containerPath: '/b', hostPath: '/y', readonly: true, propagation: 'rshared', selinuxRelabel: false },
    ];
    const status = containerStatusToCri(containerView(RUNNING, spec));
    expect(status.resources).toBeNull();
    expect(status.mounts!.map((m) => m.propagation)).toEqual(['PROPAGATION_HOST_TO_CONTAINER', 'PROPAGATION_BIDIRECTIONAL']);
  });

  it('verbose info is one JSON document', () => {
    const info = containerInfo(containerView());
    expect(Object.keys(info)).toEqual(['info']);
    expect(JSON.parse(info.info!)).toMatchObject({ sandboxID: SANDBOX_ID, pid: 777, imageRef: IMAGE_ID, logPath: `${LOG_DIR}/nginx/0.log`, config: { name: 'nginx' } });
  });

  it('survives protobuf encoding as the kubelet would decode it', () => {
    const decoded = overTheWire<{ status: Record<string, unknown> }>('ContainerStatus', { status: containerStatusToCri(containerView(EXITED)), info: {} });
    expect(decoded.status).toMatchObject({
      id: CONTAINER_ID,
      state: 'CONTAINER_EXITED',
      created_at: '1714557600500000000',
      finished_at: '1714557609000000000',
      exit_code: 137,
      reason: 'OOMKilled',
      image_ref: IMAGE_ID,
      log_path: `${LOG_DIR}/nginx/0.log`,
      resources: { linux: { memory_limit_in_bytes: '134217728', oom_score_adj: '1000' } },
      mounts: [{ container_path: '/data', propagation: 'PROPAGATION_PRIVATE', readonly: true }],
    });
    const list = overTheWire<{ containers: Array<Record<string, unknown>> }>('ListContainers', { containers: [containerToCri(containerView())] });
    expect(list.containers[0]).toMatchObject({ id: CONTAINER_ID, pod_sandbox_id: SANDBOX_ID, state: 'CONTAINER_RUNNING', image_ref: IMAGE_ID });
  });
});

// ── handlers over a fake PodRuntime ────────────────────────────────────────────

/** Containers in a Map, one known sandbox; every call recorded. */
class FakePods implements PodRuntime {
  readonly calls: Array<[string, ...unknown[]]> = [];
  readonly containers = new Map<string, ContainerView>();
  readonly sandbox: SandboxView = {
    record: {
      id: SANDBOX_ID,
      pauseContainerId: 'p',
      spec: { logDirectory: LOG_DIR } as SandboxSpec,
      createdAt: '1',
      state: 'ready',
      netnsPath: '',
      ips: [],
      network: null,
    },
    state: 'ready',
    pausePid: 1,
  };

  async runSandbox(): Promise<SandboxRecord> {
    throw new Error('not used');
  }
  async stopSandbox(): Promise<void> {}
  async removeSandbox(): Promise<void> {}
  async sandboxStatus(id: string): Promise<SandboxView> {
    this.calls.push(['sandboxStatus', id]);
    if (id !== SANDBOX_ID) throw new NotFoundError(`pod sandbox "${id}" not found`);
    return this.sandbox;
  }
  async listSandboxes(_filter: SandboxFilter): Promise<SandboxView[]> {
    return [this.sandbox];
  }
  async createContainer(sandboxId: string, spec: ContainerSpec): Promise<ContainerRecord> {
    this.calls.push(['createContainer', sandboxId, spec]);
    if (sandboxId !== SANDBOX_ID) throw new NotFoundError(`pod sandbox "${sandboxId}" not found`);
    const v = containerView(CREATED, spec);
    v.record.id = `ctr${this.containers.size + 1}`;
    this.containers.set(v.record.id, v);
    return v.record;
  }
  async startContainer(id: string): Promise<void> {
    this.calls.push(['startContainer', id]);
    const v = this.containers.get(id);
    if (!v) throw new NotFoundError(`container "${id}" not found`);
    v.live = RUNNING;
  }
  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    this.calls.push(['stopContainer', id, timeoutSeconds]);
  }
  async removeContainer(id: string): Promise<void> {
    this.calls.push(['removeContainer', id]);
    this.containers.delete(id);
  }
  async containerStatus(id: string): Promise<ContainerView> {
    this.calls.push(['containerStatus', id]);
    const v = this.containers.get(id);
    if (!v) throw new NotFoundError(`container "${id}" not found`);
    return v;
  }
  async listContainers(filter: ContainerFilter): Promise<ContainerView[]> {
    this.calls.push(['listContainers', filter]);
    return [...this.containers.values()].filter((v) => !filter.state || v.live.state === filter.state);
  }
  subscribe(): () => void {
    return () => {};
  }
  async execSync(): Promise<never> {
    throw new Error('not used');
  }
  async updateContainerResources(): Promise<never> {
    throw new Error('not used');
  }
  async reopenContainerLog(): Promise<void> {
    throw new Error('not used');
  }
}

const ctx = {} as CallContext;

describe('containerHandlers', () => {
  const setup = () => {
    const pods = new FakePods();
    return { pods, h: containerHandlers(pods) };
  };
  const createFor = (sandboxId: string) => ({ ...create(), pod_sandbox_id: sandboxId });

  it('handles exactly the six container RPCs', () => {
    expect(Object.keys(setup().h).sort()).toEqual(['ContainerStatus', 'CreateContainer', 'ListContainers', 'RemoveContainer', 'StartContainer', 'StopContainer']);
  });

  it('CreateContainer converts the real crictl request and answers the new id', async () => {
    const { pods, h } = setup();
    await expect(h.CreateContainer!(createFor(SANDBOX_ID), ctx)).resolves.toEqual({ container_id: 'ctr1' });
    expect(pods.calls).toEqual([['createContainer', SANDBOX_ID, CRICTL_SPEC]]);
  });

  it('CreateContainer in an unknown sandbox passes NOT_FOUND through', async () => {
    const { h } = setup();
    await expect(h.CreateContainer!(create(), ctx)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('CreateContainer validates before calling the runtime', async () => {
    const { pods, h } = setup();
    const req = createFor(SANDBOX_ID);
    req.config!.image!.image = '';
    await expect(h.CreateContainer!(req, ctx)).rejects.toThrow(new InvalidArgumentError('config.image.image is required'));
    await expect(h.CreateContainer!({ ...createFor(''), pod_sandbox_id: '' }, ctx)).rejects.toThrow(new InvalidArgumentError('pod_sandbox_id is required'));
    expect(pods.calls).toEqual([]);
  });

  it('StopContainer passes the timeout in seconds; crictl rm -f sends none (0)', async () => {
    const { pods, h } = setup();
    await expect(h.StopContainer!(capturedRequest('42-StopContainer'), ctx)).resolves.toEqual({});
    await expect(h.StopContainer!(capturedRequest('45-StopContainer'), ctx)).resolves.toEqual({});
    await expect(h.StopContainer!({ container_id: 'x', timeout: '-3' }, ctx)).resolves.toEqual({});
    expect(pods.calls).toEqual([
      ['stopContainer', 'container0123456789abcdef', 10],
      ['stopContainer', 'container0123456789abcdef', 0],
      ['stopContainer', 'x', 0],
    ]);
  });

  it.each(['StopContainer', 'RemoveContainer'])('%s of an unknown id answers {} (twice)', async (rpc) => {
    const { h } = setup();
    await expect(h[rpc]!({ container_id: 'nope', timeout: '0' }, ctx)).resolves.toEqual({});
    await expect(h[rpc]!({ container_id: 'nope', timeout: '0' }, ctx)).resolves.toEqual({});
  });

  it.each(['StartContainer', 'StopContainer', 'RemoveContainer', 'ContainerStatus'])('%s without an id is INVALID_ARGUMENT', async (rpc) => {
    const { pods, h } = setup();
    await expect(h[rpc]!({ container_id: '', timeout: '0', verbose: false }, ctx)).rejects.toThrow(new InvalidArgumentError('container_id is required'));
    expect(pods.calls).toEqual([]);
  });

  it('ContainerStatus of an unknown id passes NOT_FOUND through', async () => {
    const { h } = setup();
    await expect(h.ContainerStatus!(capturedRequest('24-ContainerStatus'), ctx)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('ContainerStatus joins the sandbox log directory; info only when verbose', async () => {
    const { h } = setup();
    const { container_id } = await h.CreateContainer!(createFor(SANDBOX_ID), ctx);
    await h.StartContainer!({ container_id }, ctx);
    const plain = await h.ContainerStatus!({ container_id, verbose: false }, ctx);
    expect(plain.status).toMatchObject({ id: container_id, state: 'CONTAINER_RUNNING', log_path: `${LOG_DIR}/nginx/0.log` });
    expect(plain.info).toEqual({});
    const verbose = await h.ContainerStatus!({ container_id, verbose: true }, ctx);
    expect(JSON.parse(verbose.info.info)).toMatchObject({ sandboxID: SANDBOX_ID, pid: 777 });
  });

  it('ListContainers maps the filter and the views', async () => {
    const { pods, h } = setup();
    await h.CreateContainer!(createFor(SANDBOX_ID), ctx);
    await h.CreateContainer!(createFor(SANDBOX_ID), ctx);
    await h.StartContainer!({ container_id: 'ctr2' }, ctx);
    const running = await h.ListContainers!(capturedRequest('22-ListContainers'), ctx);
    expect(pods.calls.at(-1)).toEqual(['listContainers', { state: 'running', sandboxId: 'sandbox0123456789abcdef', labelSelector: { app: 'web' } }]);
    expect(running.containers.map((c: { id: string; state: string }) => [c.id, c.state])).toEqual([['ctr2', 'CONTAINER_RUNNING']]);
    const all = await h.ListContainers!(capturedRequest('19-ListContainers'), ctx);
    expect(pods.calls.at(-1)).toEqual(['listContainers', {}]);
    expect(all.containers).toHaveLength(2);
  });
});
