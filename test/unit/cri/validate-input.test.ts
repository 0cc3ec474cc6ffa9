/**
 * #11 classes 1, 5, 6 and 8 at the door, table-driven over fields and values: every
 * value that goes into CNI_ARGS, a file line, a path, a cgroup path, a sysctl, a Docker
 * bind or a Docker label is refused with INVALID_ARGUMENT naming its field, starting
 * from the real crictl requests; what the kubelet really sends still passes.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import { containerSpecFromCri } from '../../../src/cri/container-convert.js';
import { sandboxSpecFromCri } from '../../../src/cri/pod-convert.js';
import type {
  ContainerConfig__Output,
  CreateContainerRequest__Output,
  PodSandboxConfig__Output,
  RunPodSandboxRequest__Output,
} from '../../../src/cri/proto.js';
import { MAX_MAP_BYTES } from '../../../src/cri/validate-text.js';
import { capturedRequest } from '../../helpers/crictl.js';

const pod = (): PodSandboxConfig__Output => capturedRequest<RunPodSandboxRequest__Output>('06-RunPodSandbox').config!;
const ctr = (): ContainerConfig__Output => capturedRequest<CreateContainerRequest__Output>('14-CreateContainer').config!;

/** Characters that break a line, a CNI_ARGS pair, or a C string. */
const CONTROL = ['\n', '\r', '\0', '\t', '\x1b', '\x7f', '\x85'];
const CNI_SEPARATORS = [';', '='];

type PodEdit = (c: PodSandboxConfig__Output, v: string) => void;
type CtrEdit = (c: ContainerConfig__Output, v: string) => void;

/** Every pod field that reaches CNI_ARGS, with every character CNI_ARGS cannot carry. */
const CNI_ARG_FIELDS: [string, PodEdit][] = [
  ['config.metadata.name', (c, v) => (c.metadata!.name = `web${v}K8S_POD_NAME=evil`)],
  ['config.metadata.namespace', (c, v) => (c.metadata!.namespace = `default${v}x`)],
  ['config.metadata.uid', (c, v) => (c.metadata!.uid = `7c5f${v}2a44`)],
];

/** Pod fields written into a file line or used as a path. */
const POD_TEXT_FIELDS: [string, PodEdit][] = [
  ['config.dns_config.searches[1]', (c, v) => (c.dns_config!.searches[1] = `svc${v}nameserver 10.88.77.250`)],
  ['config.dns_config.options[0]', (c, v) => (c.dns_config!.options[0] = `ndots:5${v}x`)],
  ['config.log_directory', (c, v) => (c.log_directory = `/var/log/pods/x${v}y`)],
  ['config.linux.cgroup_parent', (c, v) => (c.linux!.cgroup_parent = `/kubepods/x${v}y`)],
  ['config.linux.sysctls', (c, v) => (c.linux!.sysctls = { 'net.ipv4.ip_unprivileged_port_start': `0${v}` })],
];

describe('RunPodSandbox: values refused at the door', () => {
  const cases: [string, string, PodEdit][] = [];
  for (const [field, edit] of CNI_ARG_FIELDS) for (const ch of [...CNI_SEPARATORS, ...CONTROL]) cases.push([field, ch, edit]);
  for (const [field, edit] of POD_TEXT_FIELDS) for (const ch of CONTROL) cases.push([field, ch, edit]);

  it.each(cases)('%s with %j', (field, ch, edit) => {
    const config = pod();
    edit(config, ch);
    const call = () => sandboxSpecFromCri(config, '');
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(field);
  });

  it.each<[string, string, PodEdit]>([
    ['a 254-byte name', 'config.metadata.name', (c) => (c.metadata!.name = 'n'.repeat(254))],
    ['a DNS search with a space (a second search domain)', 'config.dns_config.searches[0]', (c) => (c.dns_config!.searches[0] = 'a.example b.example')],
    ['an empty DNS option', 'config.dns_config.options[0]', (c) => (c.dns_config!.options[0] = '')],
    ['log_directory /a/b/../../c', 'config.log_directory', (c) => (c.log_directory = '/a/b/../../c')],
    ['log_directory ending in ..', 'config.log_directory', (c) => (c.log_directory = '/var/log/pods/..')],
    ['cgroup_parent with ..', 'config.linux.cgroup_parent', (c) => (c.linux!.cgroup_parent = '/kubepods/../../escape')],
    ['relative cgroup_parent with ..', 'config.linux.cgroup_parent', (c) => (c.linux!.cgroup_parent = '../escape')],
    ['a sysctl in no namespace of the pod', 'config.linux.sysctls["kernel.nope"]', (c) => (c.linux!.sysctls = { 'kernel.nope': '1' })],
    ['a host-wide sysctl', 'config.linux.sysctls["vm.swappiness"]', (c) => (c.linux!.sysctls = { 'vm.swappiness': '1' })],
    ['a sysctl name climbing out of /proc/sys', 'config.linux.sysctls', (c) => (c.linux!.sysctls = { 'net/../../../etc/x': '1' })],
    ['an IPC sysctl in the host IPC namespace', 'config.linux.sysctls["kernel.shmmax"]', (c) => {
      c.linux!.sysctls = { 'kernel.shmmax': '1' };
      c.linux!.security_context!.namespace_options!.ipc = 'NODE';
    }],
    ['10 MB of annotations', 'config.annotations', (c) => (c.annotations = { big: 'x'.repeat(10 * 1024 * 1024) })],
    ['labels just over the limit', 'config.labels', (c) => (c.labels = { k: 'x'.repeat(MAX_MAP_BYTES) })],
  ])('%s', (_what, field, edit) => {
    const config = pod();
    edit(config, '');
    const call = () => sandboxSpecFromCri(config, '');
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(field);
  });

  it.each<[string, PodEdit]>([
    ['a kubelet pod: DNS-label name, UUID uid', (c) => ((c.metadata!.name = 'web-0'), (c.metadata!.uid = '7c5f2a44-1d1e-4a3b-9d55-0d6f0a1c2b3e'))],
    ['a 253-byte name', (c) => (c.metadata!.name = 'n'.repeat(253))],
    ['a name with a slash (not CNI syntax)', (c) => (c.metadata!.name = 'a/b')],
    ['the kubelet log directory', (c) => (c.log_directory = '/var/log/pods/default_web-0_7c5f2a44-1d1e-4a3b-9d55-0d6f0a1c2b3e')],
    ['a dotted cgroup parent', (c) => (c.linux!.cgroup_parent = '/kubepods/burstable/pod.x')],
    ['the kubelet safe sysctls', (c) => (c.linux!.sysctls = { 'kernel.shm_rmid_forced': '1', 'net.ipv4.ip_local_port_range': '1024 65000', 'net/ipv4/tcp_syncookies': '1', 'fs.mqueue.msg_max': '10' })],
    ['DNS options with values', (c) => (c.dns_config!.options = ['ndots:5', 'timeout:1', 'single-request-reopen'])],
    ['an annotation value with newlines (JSON, not a file line)', (c) => (c.annotations = { 'kubectl.kubernetes.io/last-applied-configuration': '{\n"a": 1\n}\n' })],
  ])('accepts %s', (_what, edit) => {
    const config = pod();
    edit(config, '');
    expect(() => sandboxSpecFromCri(config, '')).not.toThrow();
  });
});

describe('CreateContainer: values refused at the door', () => {
  const TEXT_FIELDS: [string, CtrEdit][] = [
    ['config.metadata.name', (c, v) => (c.metadata!.name = `nginx${v}x`)],
    ['config.log_path', (c, v) => (c.log_path = `nginx/0${v}.log`)],
    ['config.mounts[0].host_path', (c, v) => (c.mounts[0]!.host_path = `/tmp/a${v}b`)],
    ['config.mounts[0].container_path', (c, v) => (c.mounts[0]!.container_path = `/data${v}x`)],
    ['config.devices[0].host_path', (c, v) => (c.devices = [{ host_path: `/dev/null${v}`, container_path: '/dev/x', permissions: 'r' }])],
  ];
  const cases: [string, string, CtrEdit][] = [];
  for (const [field, edit] of TEXT_FIELDS) for (const ch of CONTROL) cases.push([field, ch, edit]);

  it.each(cases)('%s with %j', (field, ch, edit) => {
    const config = ctr();
    edit(config, ch);
    const call = () => containerSpecFromCri(config);
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(field);
  });

  it.each<[string, string, CtrEdit]>([
    ['log_path climbing out', 'config.log_path', (c) => (c.log_path = '../../../x/y.log')],
    ['log_path climbing out half-way', 'config.log_path', (c) => (c.log_path = 'nginx/../../y.log')],
    ['an absolute log_path', 'config.log_path', (c) => (c.log_path = '/etc/cron.d/x')],
    ['an upper-case image name', 'config.image.image', (c) => (c.image!.image = 'Busybox:1.0')],
    ['an image name with //', 'config.image.image', (c) => (c.image!.image = 'localhost/a//b')],
    ['an image name with a space', 'config.image.image', (c) => (c.image!.image = 'busybox latest')],
    ['an image with a bad digest', 'config.image.image', (c) => (c.image!.image = 'busybox@sha256:abc')],
    ['a host path with a colon', 'config.mounts[0].host_path', (c) => (c.mounts[0]!.host_path = '/tmp/a:b')],
    ['a container path with a colon', 'config.mounts[0].container_path', (c) => (c.mounts[0]!.container_path = '/x:/y')],
    ['a mount onto /', 'config.mounts[0].container_path', (c) => (c.mounts[0]!.container_path = '/')],
    ['a mount onto /./', 'config.mounts[0].container_path', (c) => (c.mounts[0]!.container_path = '/./')],
    ['a 254-byte container name', 'config.metadata.name', (c) => (c.metadata!.name = 'c'.repeat(254))],
    ['10 MB of annotations', 'config.annotations', (c) => (c.annotations = { big: 'x'.repeat(10 * 1024 * 1024) })],
    ['labels over the limit', 'config.labels', (c) => (c.labels = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, 'v'.repeat(600)])))],
  ])('%s', (_what, field, edit) => {
    const config = ctr();
    edit(config, '');
    const call = () => containerSpecFromCri(config);
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(field);
  });

  it.each<[string, CtrEdit]>([
    ['the kubelet log path', (c) => (c.log_path = 'nginx/0.log')],
    ['an image id', (c) => (c.image!.image = `sha256:${'a'.repeat(64)}`)],
    ['a bare image id', (c) => (c.image!.image = 'b'.repeat(64))],
    ['a registry with a port', (c) => (c.image!.image = 'localhost:5000/cri-shim/busybox:1.0')],
    ['an env value with a newline (not a file line)', (c) => (c.envs = [{ key: 'A', value: Buffer.from('x\ny') }] as never)],
  ])('accepts %s', (_what, edit) => {
    const config = ctr();
    edit(config, '');
    expect(() => containerSpecFromCri(config)).not.toThrow();
  });
});
