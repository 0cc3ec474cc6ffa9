/**
 * The PodSandboxConfig values that leave the shim as text with a syntax of its own, checked
 * at the door of RunPodSandbox, before any container, state file or IP exists:
 * - metadata name/namespace/uid go to the CNI plugins in CNI_ARGS;
 * - DNS searches and options become resolv.conf lines;
 * - log_directory is where CreateContainer writes log files, cgroup_parent a cgroup path
 *   (a `..` there escapes the pod's cgroup and leaves directories behind in every controller);
 * - sysctls are written by runc under /proc/sys;
 * - labels and annotations become Docker labels.
 * (The hostname has its own rules: src/cri/hostname.ts.)
 */
import type { PodSandboxConfig__Output } from './proto.js';
import { checkSysctls } from './validate-sysctls.js';
import { boundedMap, cniArgValue, fileToken, pathWithoutDotDot } from './validate-text.js';

export function checkPodConfig(config: PodSandboxConfig__Output): void {
  const md = config.metadata;
  if (md) {
    cniArgValue(md.name, 'config.metadata.name');
    cniArgValue(md.namespace, 'config.metadata.namespace');
    cniArgValue(md.uid, 'config.metadata.uid');
  }
  if (config.log_directory) pathWithoutDotDot(config.log_directory, 'config.log_directory');
  const dns = config.dns_config;
  dns?.searches.forEach((s, i) => fileToken(s, `config.dns_config.searches[${i}]`));
  dns?.options.forEach((o, i) => fileToken(o, `config.dns_config.options[${i}]`));
  const linux = config.linux;
  if (linux?.cgroup_parent) pathWithoutDotDot(linux.cgroup_parent, 'config.linux.cgroup_parent');
  const ns = linux?.security_context?.namespace_options;
  checkSysctls(
    linux?.sysctls ?? {},
    { hostNetwork: String(ns?.network) === 'NODE', hostIpc: String(ns?.ipc) === 'NODE' },
    'config.linux.sysctls',
  );
  boundedMap(config.labels, 'config.labels');
  boundedMap(config.annotations, 'config.annotations');
}
