/**
 * The requests crictl 1.32 really sent (test/fixtures/cri-wire/crictl-1.32), decoded exactly
 * as grpc-js hands them to our handlers, and responses as a client reads them back.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCriPackage } from '../../src/cri/proto.js';

export const CRICTL_DIR = join(import.meta.dirname, '../fixtures/cri-wire/crictl-1.32');

type Codec = {
  requestDeserialize(b: Buffer): unknown;
  responseSerialize(r: unknown): Buffer;
  responseDeserialize(b: Buffer): unknown;
};

function rpc(method: string): Codec {
  const v1 = loadCriPackage().runtime.v1;
  const services = [v1.RuntimeService.service, v1.ImageService.service] as unknown as Array<Record<string, Codec>>;
  const def = services.map((s) => s[method]).find(Boolean);
  if (!def) throw new Error(`no RPC ${method}`);
  return def;
}

/** `capturedRequest('06-RunPodSandbox')`: the file name says the RPC. */
export function capturedRequest<T = any>(file: string): T {
  return rpc(file.slice(3)).requestDeserialize(readFileSync(join(CRICTL_DIR, `${file}.bin`))) as T;
}

/** Encodes a response the way grpc-js will, and decodes it as a client would. */
export function overTheWire<T>(method: string, response: unknown): T {
  const def = rpc(method);
  return def.responseDeserialize(def.responseSerialize(response)) as T;
}
