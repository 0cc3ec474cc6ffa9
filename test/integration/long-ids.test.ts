/**
 * #11 class 6 over the real socket: a 100,000-character id (or image name) in any RPC
 * that echoes it in its error gets a prompt status with a bounded message, not a call
 * left hanging because the status trailer is too big for the client to take. Stop and
 * Remove of such an unknown id still succeed, as for any unknown id.
 */
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { MAX_DETAILS_CHARS } from '../../src/cri/error-details.js';
import { useTestShim } from '../helpers/pod-shim.js';

const HUGE = 'f'.repeat(100_000);

describe('a 100,000-character id', () => {
  const shim = useTestShim();

  const container = { metadata: { name: 'c', attempt: 0 }, image: { image: 'localhost/cri-shim/busybox:1.0' } };
  const CASES: [string, 'runtime' | 'image', string, object][] = [
    ['NOT_FOUND', 'runtime', 'PodSandboxStatus', { pod_sandbox_id: HUGE }],
    ['NOT_FOUND', 'runtime', 'ContainerStatus', { container_id: HUGE }],
    ['NOT_FOUND', 'runtime', 'StartContainer', { container_id: HUGE }],
    ['NOT_FOUND', 'runtime', 'ExecSync', { container_id: HUGE, cmd: ['true'] }],
    ['NOT_FOUND', 'runtime', 'Exec', { container_id: HUGE, cmd: ['true'], stdout: true }],
    ['NOT_FOUND', 'runtime', 'Attach', { container_id: HUGE, stdout: true }],
    ['NOT_FOUND', 'runtime', 'PortForward', { pod_sandbox_id: HUGE, port: [80] }],
    ['NOT_FOUND', 'runtime', 'UpdateContainerResources', { container_id: HUGE, linux: {} }],
    ['NOT_FOUND', 'runtime', 'ReopenContainerLog', { container_id: HUGE }],
    ['NOT_FOUND', 'runtime', 'ContainerStats', { container_id: HUGE }],
    ['NOT_FOUND', 'runtime', 'PodSandboxStats', { pod_sandbox_id: HUGE }],
    ['NOT_FOUND', 'runtime', 'CreateContainer', { pod_sandbox_id: HUGE, config: container }],
    ['INVALID_ARGUMENT', 'image', 'PullImage', { image: { image: HUGE } }],
    ['INVALID_ARGUMENT', 'image', 'ImageStatus', { image: { image: `a/${HUGE}` } }],
    ['INVALID_ARGUMENT', 'image', 'RemoveImage', { image: { image: `a/${HUGE}` } }],
  ];

  it.each(CASES)('is %s for %s/%s, with a bounded message', async (code, service, method, request) => {
    const { t } = shim;
    const client = service === 'runtime' ? t.runtime : t.image;
    // A hang shows as DEADLINE_EXCEEDED; a prompt answer is the status the RPC owes.
    const err: any = await t.call(client, method, request, 20_000).then(
      () => undefined,
      (e) => e,
    );
    expect(err, `${method} must fail`).toBeDefined();
    expect(status[err.code]).toBe(code);
    expect(err.details.length).toBeLessThanOrEqual(MAX_DETAILS_CHARS + 40);
  });

  it.each([
    ['StopPodSandbox', { pod_sandbox_id: HUGE }],
    ['RemovePodSandbox', { pod_sandbox_id: HUGE }],
    ['StopContainer', { container_id: HUGE }],
    ['RemoveContainer', { container_id: HUGE }],
  ])('%s of it succeeds (an unknown id)', async (method, request) => {
    await expect(shim.t.call(shim.t.runtime, method, request, 20_000)).resolves.toBeDefined();
  });
});
