/**
 * Starts a shim in-process on a socket of its own and gives typed gRPC clients for it.
 */
import { credentials, type Client } from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeConfig, type ShimConfig } from '../../src/config.js';
import { loadCriPackage } from '../../src/cri/proto.js';
import { createLogger } from '../../src/logger.js';
import { startShim, type RunningShim, type ShimOverrides } from '../../src/shim.js';

export interface TestShim {
  shim: RunningShim;
  config: ShimConfig;
  dir: string;
  runtime: any;
  image: any;
  /** Promisified unary call: `await t.call(t.runtime, 'Version', {})`. */
  call<T = any>(client: Client, method: string, request: object, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function startTestShim(
  overrides: Partial<ShimConfig> = {},
  extra: ShimOverrides = {},
): Promise<TestShim> {
  const dir = mkdtempSync(join(tmpdir(), 'cri-shim-test-'));
  const config = mergeConfig({
    listen: `unix://${join(dir, 'cri.sock')}`,
    stateDir: join(dir, 'state'),
    cniCacheDir: join(dir, 'cni-cache'),
    cniConfDir: join(dir, 'net.d'),
    logLevel: (process.env.CRI_SHIM_TEST_LOG as ShimConfig['logLevel']) ?? 'silent',
    ...overrides,
  });
  const shim = await startShim(config, createLogger(config.logLevel), extra);
  const pkg = loadCriPackage();
  const address = `unix://${shim.socketPath}`;
  const options = { 'grpc.max_receive_message_length': 16 * 1024 * 1024 };
  const runtime = new pkg.runtime.v1.RuntimeService(address, credentials.createInsecure(), options);
  const image = new pkg.runtime.v1.ImageService(address, credentials.createInsecure(), options);
  const call = <T>(client: Client, method: string, request: object, timeoutMs = 60_000): Promise<T> =>
    new Promise((resolve, reject) => {
      (client as any)[method](request, { deadline: Date.now() + timeoutMs }, (err: Error | null, res: T) =>
        err ? reject(err) : resolve(res),
      );
    });
  return {
    shim,
    config,
    dir,
    runtime,
    image,
    call,
    close: async () => {
      runtime.close();
      image.close();
      await shim.stop(1000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
