/**
 * PodSandboxConfig → SandboxSpec (from the real crictl request, then one field at a
 * time), filters, SandboxView → PodSandbox/PodSandboxStatus, and the sandbox handlers
 * over a fake PodRuntime.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, NotFoundError } from '../../../src/errors.js';
import {
  podSandboxInfo,
  podSandboxStatusToCri,
  podSandboxToCri,
  sandboxFilterFromCri,
  sandboxSpecFromCri,
} from '../../../src/cri/pod-convert.js';
import { type PodSandboxConfig__Output, type RunPodSandboxRequest__Output } from '../../../src/cri/proto.js';
import { sandboxHandlers } from '../../../src/cri/sandbox-handlers.js';
import type { CallContext } from '../../../src/cri/instrument.js';
import type { PodRuntime } from '../../../src/runtime/pods.js';
import type { ContainerRecord, ContainerSpec, SandboxRecord, SandboxSpec } from '../../../src/runtime/types.js';
import type { ContainerFilter, ContainerView, SandboxFilter, SandboxView } from '../../../src/runtime/views.js';
import { capturedRequest, overTheWire } from '../../helpers/crictl.js';


const runp = () => capturedRequest<RunPodSandboxRequest__Output>('06-RunPodSandbox');

const CRICTL_SPEC: SandboxSpec = {
  metadata: { name: 'web', uid: '7c5f2a44-1d1e-4a3b-9d55-0d6f0a1c2b3e', namespace: 'default', attempt: 1 },
  hostname: 'web-0',
  logDirectory: '/var/log/pods/default_web_7c5f2a44-1d1e-4a3b-9d55-0d6f0a1c2b3e',
  dns: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] },
  portMappings: [
    { protocol: 'tcp', containerPort: 80, hostPort: 18080, hostIp: '127.0.0.1' },
    { protocol: 'udp', containerPort: 53, hostPort: 18053, hostIp: '' },
  ],
  labels: { 'io.kubernetes.pod.name': 'web', app: 'web' },
  annotations: { 'kubernetes.io/ingress-bandwidth': '10M', 'kubernetes.io/config.source': 'api' },
  cgroupParent: '/kubepods/besteffort/pod7c5f2a44',
  sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' },
  // crictl sends `namespace_options: {}`: every mode is the enum's 0, POD.
  namespaces: { network: 'pod', pid: 'pod', ipc: 'pod' },
  runtimeHandler: '',
  privileged: false,
};

describe('sandboxSpecFromCri', () => {
  it('maps the real crictl 1.32 RunPodSandbox request', () => {
    const req = runp();
    expect(sandboxSpecFromCri(req.config, req.runtime_handler)).toEqual(CRICTL_SPEC);
  });

  it('takes runtime_handler from the request', () => {
    expect(sandboxSpecFromCri(runp().config, 'runc').runtimeHandler).toBe('runc');
  });

  type Edit = (c: PodSandboxConfig__Output) => void;
  const ns = (network: string, pid: string, ipc: string): Edit => (c) => {
    c.linux!.security_context!.namespace_options = { network, pid, ipc, target_id: '', userns_options: null } as never;
  };

  it.each<[string, Edit, Partial<SandboxSpec>]>([
    ['no linux section: POD namespaces, no cgroup parent', (c) => (c.linux = null), { namespaces: { network: 'pod', pid: 'pod', ipc: 'pod' }, cgroupParent: '', sysctls: {}, privileged: false }],
    ['no namespace_options: all POD', (c) => (c.linux!.security_context!.namespace_options = null), { namespaces: { network: 'pod', pid: 'pod', ipc: 'pod' } }],
    ['what the kubelet sends for an ordinary pod', ns('POD', 'CONTAINER', 'POD'), { namespaces: { network: 'pod', pid: 'container', ipc: 'pod' } }],
    // (crictl's request carries a net.* sysctl, which a host-network pod cannot set.)
    ['host network, pid and ipc', (c) => (ns('NODE', 'NODE', 'NODE')(c), (c.linux!.sysctls = {})), { namespaces: { network: 'node', pid: 'node', ipc: 'node' } }],
    ['privileged', (c) => (c.linux!.security_context!.privileged = true), { privileged: true }],
    ['no dns_config: the host resolv.conf', (c) => (c.dns_config = null), { dns: null }],
    ['an all-empty dns_config is the host resolv.conf too', (c) => (c.dns_config = { servers: [], searches: [], options: [] }), { dns: null }],
    ['SCTP and a mapping without host port are kept', (c) => (c.port_mappings = [{ protocol: 'SCTP', container_port: 9, host_port: 0, host_ip: '' }]), { portMappings: [{ protocol: 'sctp', containerPort: 9, hostPort: 0, hostIp: '' }] }],
    ['an IPv6 host_ip', (c) => (c.port_mappings = [{ protocol: 'TCP', container_port: 80, host_port: 8080, host_ip: '::1' }]), { portMappings: [{ protocol: 'tcp', containerPort: 80, hostPort: 8080, hostIp: '::1' }] }],
    ['egress bandwidth in binary units', (c) => (c.annotations = { 'kubernetes.io/egress-bandwidth': '1Gi' }), { annotations: { 'kubernetes.io/egress-bandwidth': '1Gi' } }],
    ['empty hostname and log directory', (c) => ((c.hostname = ''), (c.log_directory = '')), { hostname: '', logDirectory: '' }],
  ])('%s', (_name, edit, expected) => {
    const { config } = runp();
    edit(config!);
    expect(sandboxSpecFromCri(config, '')).toMatchObject(expected);
  });

  it.each<[string, Edit | 'no config', string]>([
    ['no config', 'no config', 'config is required'],
    ['no metadata', (c) => (c.metadata = null), 'config.metadata is required'],
    ['no name', (c) => (c.metadata!.name = ''), 'config.metadata.name is required'],
    ['relative log directory', (c) => (c.log_directory = 'var/log/pods/x'), 'config.log_directory must be absolute, got "var/log/pods/x"'],
    ['container port 0', (c) => (c.port_mappings[1]!.container_port = 0), 'config.port_mappings[1].container_port must be between 1 and 65535, got 0'],
    ['container port above 65535', (c) => (c.port_mappings[0]!.container_port = 70000), 'config.port_mappings[0].container_port must be between 1 and 65535, got 70000'],
    ['negative host port', (c) => (c.port_mappings[0]!.host_port = -1), 'config.port_mappings[0].host_port must be between 0 and 65535, got -1'],
    ['unknown protocol (an enum number we do not know)', (c) => (c.port_mappings[1]!.protocol = 7 as never), 'config.port_mappings[1].protocol is not a known protocol: 7'],
    ['bad host_ip', (c) => (c.port_mappings[0]!.host_ip = 'localhost'), 'config.port_mappings[0].host_ip is not an IP address: "localhost"'],
    ['dns server that is not an IP', (c) => (c.dns_config!.servers = ['10.96.0.10', 'dns.local']), 'config.dns_config.servers[1] is not an IP address: "dns.local"'],
    ['bandwidth that is no quantity', (c) => (c.annotations['kubernetes.io/ingress-bandwidth'] = 'fast'), 'config.annotations["kubernetes.io/ingress-bandwidth"] is not a bandwidth quantity (such as 10M or 1Gi): "fast"'],
    ['bandwidth below 1k', (c) => (c.annotations['kubernetes.io/egress-bandwidth'] = '10'), 'config.annotations["kubernetes.io/egress-bandwidth"] must be between 1k and 1P bits per second, got "10"'],
    ['TARGET for a sandbox', ns('POD', 'TARGET', 'POD'), 'config.linux.security_context.namespace_options.pid cannot be TARGET for a pod sandbox'],
    ['unknown namespace mode', ns('POD', 'POD', 9 as never), 'config.linux.security_context.namespace_options.ipc is not a namespace mode: 9'],
  ])('rejects %s, naming the field', (_name, edit, message) => {
    const { config } = runp();
    if (edit !== 'no config') edit(config!);
    const call = () => sandboxSpecFromCri(edit === 'no config' ? null : config, '');
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(message);
  });

  it('does not share maps with the request', () => {
    const { config } = runp();
    const spec = sandboxSpecFromCri(config, '');
    config!.labels.app = 'changed';
    config!.linux!.sysctls['x'] = '1';
    expect(spec.labels.app).toBe('web');
    expect(spec.sysctls).toEqual(CRICTL_SPEC.sysctls);
  });
});

describe('sandboxFilterFromCri', () => {
  it.each<[string, Parameters<typeof sandboxFilterFromCri>[0], SandboxFilter]>([
    ['no filter', null, {}],
    ['empty filter (crictl pods)', { id: '', state: null, label_selector: {} }, {}],
    ['id prefix', { id: 'abc1', state: null, label_selector: {} }, { id: 'abc1' }],
    ['ready', { id: '', state: { state: 'SANDBOX_READY' }, label_selector: {} }, { state: 'ready' }],
    ['not ready', { id: '', state: { state: 'SANDBOX_NOTREADY' }, label_selector: {} }, { state: 'notready' }],
    ['labels', { id: '', state: null, label_selector: { app: 'web', tier: 'x' } }, { labelSelector: { app: 'web', tier: 'x' } }],
  ])('%s', (_name, filter, expected) => {
    expect(sandboxFilterFromCri(filter)).toEqual(expected);
  });

  it('maps the real `crictl pods --label app=web --state ready` request', () => {
    const req = capturedRequest<{ filter: Parameters<typeof sandboxFilterFromCri>[0] }>('10-ListPodSandbox');
    expect(sandboxFilterFromCri(req.filter)).toEqual({ state: 'ready', labelSelector: { app: 'web' } });
  });

  it('rejects an unknown state', () => {
    expect(() => sandboxFilterFromCri({ id: '', state: { state: 5 as never }, label_selector: {} })).toThrow('filter.state.state is not a sandbox state: 5');
  });
});

// ── SandboxView → CRI ─────────────────────────────────────────────────────────

const SANDBOX_ID = 'a1'.repeat(32);
const PAUSE_ID = 'b2'.repeat(32);
const CNI_RESULT = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }], ips: [{ address: '10.88.0.5/16', interface: 0 }] };

function sandboxRecord(over: Partial<SandboxRecord> = {}): SandboxRecord {
  return {
    id: SANDBOX_ID,
    pauseContainerId: PAUSE_ID,
    spec: structuredClone(CRICTL_SPEC),
    createdAt: '1714557600123456789',
    state: 'ready',
    netnsPath: '/var/run/docker/netns/0123abcd',
    ips: ['10.88.0.5', 'fd00::5'],
    network: { attached: true, ifName: 'eth0', result: CNI_RESULT },
    ...over,
  };
}
const view = (over: Partial<SandboxRecord> = {}, state: SandboxView['state'] = 'ready', pausePid = 4242): SandboxView => ({
  record: sandboxRecord(over),
  state,
  pausePid,
});

describe('PodSandbox and PodSandboxStatus', () => {
  it('PodSandbox for ListPodSandbox', () => {
    expect(podSandboxToCri(view())).toEqual({
      id: SANDBOX_ID,
      metadata: { name: 'web', uid: '7c5f2a44-1d1e-4a3b-9d55-0d6f0a1c2b3e', namespace: 'default', attempt: 1 },
      state: 'SANDBOX_READY',
      created_at: '1714557600123456789',
      labels: CRICTL_SPEC.labels,
      annotations: CRICTL_SPEC.annotations,
      runtime_handler: '',
    });
    expect(podSandboxToCri(view({}, 'notready')).state).toBe('SANDBOX_NOTREADY');
  });

  it('PodSandboxStatus: primary IP, the others as additional_ips, namespace options', () => {
    const status = podSandboxStatusToCri(view());
    expect(status).toMatchObject({
      id: SANDBOX_ID,
      state: 'SANDBOX_READY',
      created_at: '1714557600123456789',
      network: { ip: '10.88.0.5', additional_ips: [{ ip: 'fd00::5' }] },
      linux: { namespaces: { options: { network: 'POD', pid: 'POD', ipc: 'POD' } } },
      labels: CRICTL_SPEC.labels,
      annotations: CRICTL_SPEC.annotations,
      runtime_handler: '',
    });
  });

  it.each<[string, Partial<SandboxRecord>, { ip: string; additional_ips: { ip: string }[] }]>([
    ['single IP', { ips: ['10.88.0.7'] }, { ip: '10.88.0.7', additional_ips: [] }],
    ['host network: no IP of its own, network still present', { ips: [], network: null, netnsPath: '' }, { ip: '', additional_ips: [] }],
    ['after CNI DEL: the IP may be someone else\'s now', { network: { attached: false, ifName: 'eth0', result: CNI_RESULT } }, { ip: '', additional_ips: [] }],
  ])('network for %s', (_name, over, network) => {
    expect(podSandboxStatusToCri(view(over)).network).toEqual(network);
  });

  it('host-network namespace options', () => {
    const spec = { ...structuredClone(CRICTL_SPEC), namespaces: { network: 'node', pid: 'container', ipc: 'node' } } as SandboxSpec;
    expect(podSandboxStatusToCri(view({ spec })).linux).toEqual({ namespaces: { options: { network: 'NODE', pid: 'CONTAINER', ipc: 'NODE' } } });
  });

  it('verbose info is one JSON document with pid, netns, IPs and the CNI result', () => {
    const info = podSandboxInfo(view());
    expect(Object.keys(info)).toEqual(['info']);
    expect(JSON.parse(info.info!)).toMatchObject({
      pid: 4242,
      processStatus: 'running',
      pauseContainerId: PAUSE_ID,
      netNamespace: '/var/run/docker/netns/0123abcd',
      netNamespaceClosed: false,
      ips: ['10.88.0.5', 'fd00::5'],
      cniResult: CNI_RESULT,
      config: { metadata: { name: 'web' } },
    });
  });

  it('survives protobuf encoding as the kubelet would decode it', () => {
    const decoded = overTheWire<{ status: Record<string, unknown>; info: Record<string, string>; timestamp: string }>('PodSandboxStatus', {
      status: podSandboxStatusToCri(view()),
      info: podSandboxInfo(view()),
      containers_statuses: [],
      timestamp: '1714557600999999999',
    });
    expect(decoded.status).toMatchObject({
      id: SANDBOX_ID,
      state: 'SANDBOX_READY',
      created_at: '1714557600123456789',
      network: { ip: '10.88.0.5', additional_ips: [{ ip: 'fd00::5' }] },
      metadata: { name: 'web', attempt: 1 },
    });
    expect(decoded.timestamp).toBe('1714557600999999999');
    expect(JSON.parse(decoded.info.info!).pid).toBe(4242);
    const list = overTheWire<{ items: Array<Record<string, unknown>> }>('ListPodSandbox', { items: [podSandboxToCri(view())] });
    expect(list.items[0]).toMatchObject({ id: SANDBOX_ID, state: 'SANDBOX_READY', created_at: '1714557600123456789' });
  });
});

// ── handlers over a fake PodRuntime ────────────────────────────────────────────

/** Sandboxes in a Map; every call recorded. Only the sandbox half is meaningful here. */
class FakePods implements PodRuntime {
  readonly calls: Array<[string, ...unknown[]]> = [];
  readonly sandboxes = new Map<string, SandboxView>();

  async runSandbox(spec: SandboxSpec): Promise<SandboxRecord> {
    this.calls.push(['runSandbox', spec]);
    const record = sandboxRecord({ id: `sb${this.sandboxes.size + 1}`, spec });
    this.sandboxes.set(record.id, { record, state: 'ready', pausePid: 100 });
    return record;
  }
  async stopSandbox(id: string): Promise<void> {
    this.calls.push(['stopSandbox', id]);
    const v = this.sandboxes.get(id);
    if (v) v.state = 'notready';
  }
  async removeSandbox(id: string): Promise<void> {
    this.calls.push(['removeSandbox', id]);
    this.sandboxes.delete(id);
  }
  async sandboxStatus(id: string): Promise<SandboxView> {
    this.calls.push(['sandboxStatus', id]);
    const v = this.sandboxes.get(id);
    if (!v) throw new NotFoundError(`pod sandbox "${id}" not found`);
    return v;
  }
  async listSandboxes(filter: SandboxFilter): Promise<SandboxView[]> {
    this.calls.push(['listSandboxes', filter]);
    return [...this.sandboxes.values()].filter((v) => !filter.state || v.state === filter.state);
  }
  async createContainer(_sandboxId: string, _spec: ContainerSpec): Promise<ContainerRecord> {
    throw new Error('not used');
  }
  async startContainer(): Promise<void> {}
  async stopContainer(): Promise<void> {}
  async removeContainer(): Promise<void> {}
  async containerStatus(id: string): Promise<ContainerView> {
    throw new NotFoundError(`container "${id}" not found`);
  }
  async listContainers(_filter: ContainerFilter): Promise<ContainerView[]> {
    return [];
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

describe('sandboxHandlers', () => {
  const setup = () => {
    const pods = new FakePods();
    return { pods, h: sandboxHandlers(pods) };
  };

  it('handles exactly the five sandbox RPCs', () => {
    expect(Object.keys(setup().h).sort()).toEqual(['ListPodSandbox', 'PodSandboxStatus', 'RemovePodSandbox', 'RunPodSandbox', 'StopPodSandbox']);
  });

  it('RunPodSandbox converts the real crictl request and answers the new id', async () => {
    const { pods, h } = setup();
    await expect(h.RunPodSandbox!(runp(), ctx)).resolves.toEqual({ pod_sandbox_id: 'sb1' });
    expect(pods.calls).toEqual([['runSandbox', CRICTL_SPEC]]);
  });

  it('RunPodSandbox with bad input never reaches the runtime', async () => {
    const { pods, h } = setup();
    const req = runp();
    req.config!.metadata = null;
    await expect(h.RunPodSandbox!(req, ctx)).rejects.toThrow(new InvalidArgumentError('config.metadata is required'));
    expect(pods.calls).toEqual([]);
  });

  it.each(['StopPodSandbox', 'RemovePodSandbox'])('%s of an unknown id answers {} (twice)', async (rpc) => {
    const { pods, h } = setup();
    await expect(h[rpc]!({ pod_sandbox_id: 'nope' }, ctx)).resolves.toEqual({});
    await expect(h[rpc]!({ pod_sandbox_id: 'nope' }, ctx)).resolves.toEqual({});
    expect(pods.calls).toHaveLength(2);
  });

  it.each(['StopPodSandbox', 'RemovePodSandbox', 'PodSandboxStatus'])('%s without an id is INVALID_ARGUMENT, not "everything"', async (rpc) => {
    const { pods, h } = setup();
    await expect(h[rpc]!({ pod_sandbox_id: '', verbose: false }, ctx)).rejects.toThrow(new InvalidArgumentError('pod_sandbox_id is required'));
    expect(pods.calls).toEqual([]);
  });

  it('PodSandboxStatus of an unknown id passes NOT_FOUND through', async () => {
    const { h } = setup();
    await expect(h.PodSandboxStatus!({ pod_sandbox_id: 'nope', verbose: false }, ctx)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('PodSandboxStatus: status, a timestamp, info only when verbose', async () => {
    const { h } = setup();
    await h.RunPodSandbox!(runp(), ctx);
    const before = BigInt(Date.now()) * 1_000_000n;
    const plain = await h.PodSandboxStatus!({ pod_sandbox_id: 'sb1', verbose: false }, ctx);
    expect(plain.status).toMatchObject({ id: 'sb1', state: 'SANDBOX_READY', network: { ip: '10.88.0.5' } });
    expect(plain.info).toEqual({});
    expect(plain.containers_statuses).toEqual([]);
    expect(BigInt(plain.timestamp)).toBeGreaterThanOrEqual(before);
    const verbose = await h.PodSandboxStatus!(capturedRequest('12-PodSandboxStatus'), ctx).catch((e) => e);
    // The crictl capture names an id we do not have.
    expect(verbose).toBeInstanceOf(NotFoundError);
    const mine = await h.PodSandboxStatus!({ pod_sandbox_id: 'sb1', verbose: true }, ctx);
    expect(JSON.parse(mine.info.info).pid).toBe(100);
  });

  it('ListPodSandbox maps the filter and the views', async () => {
    const { pods, h } = setup();
    await h.RunPodSandbox!(runp(), ctx);
    await h.RunPodSandbox!(runp(), ctx);
    await h.StopPodSandbox!({ pod_sandbox_id: 'sb2' }, ctx);
    const res = await h.ListPodSandbox!(capturedRequest('10-ListPodSandbox'), ctx);
    expect(pods.calls.at(-1)).toEqual(['listSandboxes', { state: 'ready', labelSelector: { app: 'web' } }]);
    expect(res.items.map((i: { id: string; state: string }) => [i.id, i.state])).toEqual([['sb1', 'SANDBOX_READY']]);
    const all = await h.ListPodSandbox!(capturedRequest('08-ListPodSandbox'), ctx);
    expect(pods.calls.at(-1)).toEqual(['listSandboxes', {}]);
    expect(all.items).toHaveLength(2);
  });
});
