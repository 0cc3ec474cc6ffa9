/**
 * Checks of dockerd: reachable with API ≥ 1.41, its cgroup driver (which the kubelet
 * must match), and the pause image.
 */
import { readFile } from 'node:fs/promises';
import type Docker from 'dockerode';
import { dockerHealth, type DockerHealth } from '../runtime/docker.js';
import { fail, pass, type CheckResult } from './check.js';

const MIN_API = [1, 41];

function apiAtLeast(v: string | undefined): boolean {
  const [maj, min] = (v ?? '').split('.').map(Number);
  return maj > MIN_API[0] || (maj === MIN_API[0] && min >= MIN_API[1]);
}

export function checkDockerd(h: DockerHealth, endpoint: string): CheckResult {
  const name = `dockerd ${endpoint}`;
  if (!h.reachable) return fail(name, `not reachable: ${h.error ?? 'no answer'}`, 'start dockerd (systemctl start docker, or dockerd &) or point --docker-endpoint at its socket');
  if (!apiAtLeast(h.apiVersion)) return fail(name, `Docker ${h.version} speaks API ${h.apiVersion}, the shim needs ≥ 1.41`, 'upgrade Docker to 20.10 or newer');
  return pass(name, `Docker ${h.version}, API ${h.apiVersion}`);
}

/** The kubelet's cgroupDriver from its config file, if there is one. */
export async function kubeletCgroupDriver(file = '/var/lib/kubelet/config.yaml'): Promise<string | undefined> {
  try {
    return (await readFile(file, 'utf8')).match(/^cgroupDriver:\s*"?(\w+)"?/m)?.[1];
  } catch {
    return undefined;
  }
}

export function checkCgroupDriver(h: DockerHealth, kubelet: string | undefined, kubeletFile: string): CheckResult {
  const name = 'cgroup driver';
  if (!h.reachable || !h.cgroupDriver) return fail(name, 'unknown: dockerd does not answer', 'start dockerd first');
  const want = `the kubelet's cgroupDriver must be "${h.cgroupDriver}"`;
  const v = h.cgroupVersion ? ` (cgroup v${h.cgroupVersion})` : '';
  if (kubelet !== undefined && kubelet !== h.cgroupDriver) {
    return fail(name, `Docker uses ${h.cgroupDriver}${v} but ${kubeletFile} says cgroupDriver: ${kubelet}`, `set cgroupDriver: ${h.cgroupDriver} in ${kubeletFile}, or change Docker's exec-opts native.cgroupdriver`);
  }
  return pass(name, `Docker uses ${h.cgroupDriver}${v}: ${want}${kubelet ? ` (${kubeletFile} agrees)` : ''}`);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}

/** @param viaMirrors the shim pulls through configured mirrors; this check can only ask the registry itself. */
export async function checkPauseImage(docker: Docker, ref: string, reachable: boolean, viaMirrors = false): Promise<CheckResult> {
  const name = `pause image ${ref}`;
  if (!reachable) return fail(name, 'unknown: dockerd does not answer', 'start dockerd first');
  try {
    const img = await withTimeout(docker.getImage(ref).inspect(), 10_000);
    return pass(name, `present (${img.Id.slice(0, 19)})`);
  } catch {
    // not local: can its registry serve it?
  }
  try {
    await withTimeout(docker.getImage(ref).distribution(), 15_000);
    return pass(name, 'not present locally, but its registry serves it (pullable)');
  } catch (err) {
    const mirrors = viaMirrors ? ' from its registry (the shim would try the configured mirrors first; this check cannot)' : '';
    return fail(name, `not present and not pullable${mirrors}: ${(err as Error).message.split('\n')[0]}`, `docker pull ${ref}, docker load it, or set --pause-image to an image the node has (bash hack/run-shim.sh builds localhost/cri-shim/pause:1.0)`);
  }
}

export { dockerHealth };
