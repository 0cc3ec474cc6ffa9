/**
 * crictl 1.32's captured requests for version / info / runtime-config / checkpoint /
 * events, decoded as the server decodes them and sent as real calls.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestShim, type TestShim } from '../helpers/shim.js';
import { capturedRequest } from '../helpers/crictl.js';



describe('crictl 1.32 runtime-level requests, replayed', () => {
  let t: TestShim;
  beforeAll(async () => {
    t = await startTestShim();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('version (01) and info (04)', async () => {
    const v = await t.call(t.runtime, 'Version', capturedRequest('01-Version'));
    expect(v).toMatchObject({ runtime_name: 'cri-shim', runtime_api_version: 'v1' });
    const s = await t.call(t.runtime, 'Status', capturedRequest('04-Status'));
    expect(s.status.conditions.map((c: any) => c.type)).toEqual(['RuntimeReady', 'NetworkReady']);
    for (const value of Object.values(s.info)) expect(() => JSON.parse(value as string)).not.toThrow();
  });

  it('runtime-config (65)', async () => {
    const r = await t.call(t.runtime, 'RuntimeConfig', capturedRequest('65-RuntimeConfig'));
    expect(['SYSTEMD', 'CGROUPFS']).toContain(r.linux.cgroup_driver);
  });

  it('checkpoint (69) answers UNIMPLEMENTED, the code crictl and the kubelet understand', async () => {
    await expect(t.call(t.runtime, 'CheckpointContainer', capturedRequest('69-CheckpointContainer'))).rejects.toMatchObject({
      code: status.UNIMPLEMENTED,
    });
  });

  it('events (71) opens a stream that stays open until crictl cancels', async () => {
    const call = t.runtime.GetContainerEvents(capturedRequest('71-GetContainerEvents'));
    const ended = new Promise<any>((resolve) => {
      call.on('error', resolve);
      call.on('end', () => resolve('ended early'));
    });
    call.on('data', () => undefined);
    const early = await Promise.race([ended, new Promise((r) => setTimeout(() => r('open'), 500))]);
    expect(early).toBe('open');
    call.cancel();
    expect(await ended).toMatchObject({ code: status.CANCELLED });
  });
});
