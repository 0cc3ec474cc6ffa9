/**
 * `cri-shim doctor [--json] [shim flags]`: every check, in the order an operator would
 * fix them; exit 0 only when all pass.
 */
import { unixPath, type ShimConfig } from '../config.js';
import type { Output } from '../explain/command.js';
import { createDockerClient } from '../runtime/docker.js';
import { renderChecks, type CheckResult } from './check.js';
import { checkCni } from './cni-checks.js';
import { checkCgroupDriver, checkDockerd, checkPauseImage, dockerHealth, kubeletCgroupDriver } from './docker-checks.js';
import { checkBrNetfilter, checkDisk, checkForward, checkIpForward, checkSocket, checkWritableDir, forwardPolicy } from './node-checks.js';

export const DOCTOR_USAGE = 'Usage: cri-shim doctor [--json] [--config FILE] [--cni-conf-dir DIR] [--cni-bin-dir DIR]… [--state-dir DIR] [--listen URL] [--docker-endpoint PATH] [--pause-image REF]';

/** Where the kubelet writes pod logs by default; the shim writes container logs under it. */
const POD_LOG_DIR = '/var/log/pods';
const KUBELET_CONFIG = '/var/lib/kubelet/config.yaml';

async function doctorChecks(config: ShimConfig): Promise<CheckResult[]> {
  const docker = createDockerClient(config.dockerEndpoint);
  const health = await dockerHealth(docker);
  const cni = await checkCni(config.cniConfDir, config.cniBinDirs, config.cniPluginTimeoutMs);
  return [
    checkDockerd(health, unixPath(config.dockerEndpoint)),
    checkCgroupDriver(health, await kubeletCgroupDriver(KUBELET_CONFIG), KUBELET_CONFIG),
    ...cni.checks,
    await checkIpForward(),
    await checkBrNetfilter(),
    checkForward(await forwardPolicy(), cni.chainTypes),
    await checkPauseImage(docker, config.pauseImage, health.reachable, Object.keys(config.registryMirrors).length > 0),
    await checkSocket(unixPath(config.listen)),
    await checkWritableDir('state dir', config.stateDir),
    await checkWritableDir('CNI cache dir', config.cniCacheDir),
    await checkWritableDir('pod log dir', POD_LOG_DIR),
    await checkDisk('state dir', config.stateDir),
  ];
}

export async function runDoctor(config: ShimConfig, json: boolean, io: Output): Promise<number> {
  const results = await doctorChecks(config);
  io.out(json ? JSON.stringify(results, null, 2) + '\n' : renderChecks(results));
  return results.every((r) => r.ok) ? 0 : 1;
}
