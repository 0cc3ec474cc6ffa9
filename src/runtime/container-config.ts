/**
 * ContainerSpec → Docker create options: the one place where CRI container semantics
 * meet Docker's. Pure, so it is tested with a table.
 */
import type Docker from 'dockerode';
import { normalizeCap } from './capabilities.js';
import { dockerLabels } from './labels.js';
import { workloadContainerName } from './naming.js';
import { clampOomScoreAdj } from './oom.js';
import { containedJoin } from './safe-path.js';
import type { ContainerSpec, NamespaceMode, SandboxRecord } from './types.js';

/** The seccomp profile content for `localhost/<path>` profiles (Docker takes JSON, not a path). */
export type ReadProfile = (path: string) => string;

function namespaceMode(mode: NamespaceMode, pauseId: string, targetId: string): string {
  switch (mode) {
    case 'pod':
      return `container:${pauseId}`;
    case 'node':
      return 'host';
    case 'target':
      return `container:${targetId}`;
    default:
      return '';
  }
}

function binds(spec: ContainerSpec): string[] {
  return spec.mounts.map((m) => {
    const opts = [m.readonly ? 'ro' : 'rw'];
    if (m.propagation !== 'private') opts.push(m.propagation);
    if (m.selinuxRelabel) opts.push('Z');
    return `${m.hostPath}:${m.containerPath}:${opts.join(',')}`;
  });
}

function user(spec: ContainerSpec): string | undefined {
  const s = spec.security;
  const who = s.runAsUsername || (s.runAsUser !== null ? String(s.runAsUser) : '');
  if (!who) return undefined;
  return s.runAsGroup !== null ? `${who}:${s.runAsGroup}` : who;
}

function securityOpts(spec: ContainerSpec, readProfile: ReadProfile): string[] {
  const s = spec.security;
  const out: string[] = [];
  if (s.noNewPrivs) out.push('no-new-privileges');
  // No profile asked for means unconfined, as in containerd (the kubelet sends
  // RuntimeDefault explicitly when it wants Docker's default profile).
  if (s.privileged || s.seccomp === null || s.seccomp.kind === 'unconfined') out.push('seccomp=unconfined');
  else if (s.seccomp?.kind === 'localhost') out.push(`seccomp=${readProfile(s.seccomp.path)}`);
  if (s.privileged) out.push('apparmor=unconfined');
  return out;
}

/**
 * Capabilities to add and drop. Privileged means "everything the node can grant"
 * (`grantable`: the kernel's bounding set as far as the daemon knows it, see
 * capabilities.ts) rather than Docker's Privileged flag, which asks for capabilities
 * the node may not have.
 */
function capabilities(spec: ContainerSpec, grantable: string[]): { add: string[]; drop: string[] } {
  const s = spec.security;
  const add = s.capAdd.map(normalizeCap);
  const drop = s.capDrop.map(normalizeCap);
  if (s.privileged || add.includes('ALL')) {
    return { add: grantable.filter((c) => !drop.includes(c)), drop: drop.filter((c) => c !== 'ALL') };
  }
  return { add, drop };
}

/**
 * Absolute path of the CRI log file: the pod's log_directory joined with the
 * container's log_path; empty when either is missing (containerd writes no log then).
 * A log_path that leads outside log_directory is refused (we would create the file).
 */
export function containerLogPath(sandbox: SandboxRecord, spec: ContainerSpec): string {
  const dir = sandbox.spec.logDirectory;
  return dir && spec.logPath ? containedJoin(dir, spec.logPath, 'log_path') : '';
}

export function containerCreateOptions(
  spec: ContainerSpec,
  sandbox: SandboxRecord,
  readProfile: ReadProfile,
  instance: string,
  grantableCaps: string[],
): Docker.ContainerCreateOptions {
  const md = sandbox.spec.metadata;
  const pause = sandbox.pauseContainerId;
  const ns = spec.security.namespaces;
  const hostNetwork = sandbox.spec.namespaces.network === 'node';
  const caps = capabilities(spec, grantableCaps);
  const r = spec.resources;
  const privileged = spec.security.privileged;
  return {
    name: workloadContainerName(spec.name, md, spec.attempt),
    Image: spec.image,
    Entrypoint: spec.command.length ? spec.command : undefined,
    Cmd: spec.args.length ? spec.args : undefined,
    WorkingDir: spec.workingDir || undefined,
    Env: spec.envs.map((e) => `${e.key}=${e.value}`),
    Labels: dockerLabels(
      {
        instance,
        kind: 'container',
        sandboxId: sandbox.id,
        podName: md.name,
        podNamespace: md.namespace,
        podUid: md.uid,
        containerName: spec.name,
        logPath: containerLogPath(sandbox, spec),
      },
      spec.labels,
      spec.annotations,
    ),
    Tty: spec.tty,
    OpenStdin: spec.stdin,
    StdinOnce: spec.stdinOnce,
    AttachStdin: spec.stdin,
    AttachStdout: true,
    AttachStderr: true,
    User: user(spec),
    HostConfig: {
      NetworkMode: hostNetwork ? 'host' : `container:${pause}`,
      IpcMode: sandbox.spec.namespaces.ipc === 'node' ? 'host' : `container:${pause}`,
      PidMode: namespaceMode(ns.pid, pause, ns.targetId),
      Binds: binds(spec),
      Devices: spec.devices.map((d) => ({
        PathOnHost: d.hostPath,
        PathInContainer: d.containerPath,
        CgroupPermissions: d.permissions || 'rwm',
      })),
      GroupAdd: spec.security.supplementalGroups.map(String),
      ReadonlyRootfs: spec.security.readonlyRootfs,
      CapAdd: caps.add,
      CapDrop: caps.drop,
      SecurityOpt: securityOpts(spec, readProfile),
      // Privileged pods see /proc and /sys unmasked, as with Docker's own flag.
      MaskedPaths: privileged ? [] : spec.security.maskedPaths.length ? spec.security.maskedPaths : undefined,
      ReadonlyPaths: privileged ? [] : spec.security.readonlyPaths.length ? spec.security.readonlyPaths : undefined,
      CgroupParent: sandbox.spec.cgroupParent || undefined,
      CpuPeriod: r?.cpuPeriod || undefined,
      CpuQuota: r?.cpuQuota || undefined,
      CpuShares: r?.cpuShares || undefined,
      Memory: r?.memoryLimitBytes || undefined,
      CpusetCpus: r?.cpusetCpus || undefined,
      CpusetMems: r?.cpusetMems || undefined,
      OomScoreAdj: r ? clampOomScoreAdj(r.oomScoreAdj) : undefined,
      RestartPolicy: { Name: 'no' },
    },
  };
}
