/**
 * `cri-shim explain <pod> [--json] [shim flags]`: exit 0 when the pod's network path
 * is whole, 1 when something expected is missing, 2 when the pod cannot be found.
 */
import type { ShimConfig } from '../config.js';
import { createDockerClient } from '../runtime/docker.js';
import { analyze } from './analyze.js';
import { findPod } from './find-pod.js';
import { gather, sandboxRecords } from './gather.js';
import { renderText } from './render.js';

export const EXPLAIN_USAGE = 'Usage: cri-shim explain <pod id | id prefix | namespace/name> [--json] [--config FILE] [--state-dir DIR] [--cni-cache-dir DIR] [--docker-endpoint PATH]';

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export async function runExplain(ref: string | undefined, json: boolean, config: ShimConfig, io: Output): Promise<number> {
  const found = findPod(await sandboxRecords(config.stateDir), ref ?? '');
  if (!found.ok) {
    io.err(`cri-shim explain: ${found.reason} (state dir ${config.stateDir})\n`);
    return 2;
  }
  const inputs = await gather(found.sandbox, {
    stateDir: config.stateDir,
    cniCacheDir: config.cniCacheDir,
    docker: createDockerClient(config.dockerEndpoint),
  });
  const explanation = analyze(inputs);
  io.out(json ? JSON.stringify(explanation, null, 2) + '\n' : renderText(explanation));
  return explanation.problems.length === 0 ? 0 : 1;
}
