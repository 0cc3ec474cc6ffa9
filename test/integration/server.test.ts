import { status } from '@grpc/grpc-js';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenUnix } from '../../src/cri/socket.js';
import { startTestShim, type TestShim } from '../helpers/shim.js';

const pkgVersion = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

describe('gRPC server on a Unix socket', () => {
  let t: TestShim;
  beforeAll(async () => {
    t = await startTestShim();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers Version', async () => {
    const res = await t.call(t.runtime, 'Version', { version: 'v1' });
    expect(res).toMatchObject({
      version: '0.1.0',
      runtime_name: 'cri-shim',
      runtime_version: pkgVersion,
      runtime_api_version: 'v1',
    });
  });

  it('creates the socket with mode 0660', () => {
    expect(statSync(t.shim.socketPath).mode & 0o777).toBe(0o660);
  });

  it('answers UNIMPLEMENTED naming the RPC for what is not built', async () => {
    await expect(t.call(t.runtime, 'CheckpointContainer', { container_id: 'x' })).rejects.toMatchObject({
      code: status.UNIMPLEMENTED,
      details: expect.stringContaining('CheckpointContainer'),
    });
  });

  it('refuses to start a second server on a live socket', async () => {
    await expect(listenUnix(t.shim.socketPath, (s) => s.destroy())).rejects.toThrow(/already listening/);
  });

  it('accepts a 10 MiB request (16 MiB limit, not grpc default 4 MiB)', async () => {
    const big = 'x'.repeat(10 * 1024 * 1024);
    const res = await t.call(t.runtime, 'Version', { version: big });
    expect(res.runtime_name).toBe('cri-shim');
  });
});

describe('socket lifecycle', () => {
  it('replaces a stale socket file nobody answers on, and removes it on stop', async () => {
    // A listener that is closed without unlinking leaves a dead socket file behind.
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'cri-shim-stale-'));
    const path = join(dir, 'cri.sock');
    // A process that dies while listening leaves its socket file behind.
    execFileSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`]);
    expect(existsSync(path)).toBe(true);

    const t = await startTestShim({ listen: `unix://${path}` });
    const res = await t.call(t.runtime, 'Version', {});
    expect(res.runtime_name).toBe('cri-shim');
    await t.shim.stop(500);
    expect(existsSync(path)).toBe(false);
    t.runtime.close();
    t.image.close();
    rmSync(t.dir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });
});
