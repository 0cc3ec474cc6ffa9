/**
 * The CRI runtime.v1 schema at run time: where proto/runtime/v1/api.proto lives,
 * the one set of proto-loader options (hack/gen-proto.sh mirrors them as flags,
 * so src/generated/ types describe exactly the objects grpc-js hands us), and the
 * loaded grpc-js package.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';
import type { ProtoGrpcType } from '../generated/api.js';

/** Walks up from this module (src/cri/ under vitest, dist/cri/ after tsc) to the package root. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'proto'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cri-shim: no package root with proto/ above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Absolute path of our runtime.v1 schema. */
export const PROTO_PATH: string = join(packageRoot(), 'proto', 'runtime', 'v1', 'api.proto');

/**
 * How protobuf messages become JS objects. Field names stay as in the proto
 * (`runtime_name`), int64 stays a decimal string (nanosecond timestamps exceed
 * 2^53), enums are names, unset fields get their defaults (unset messages: null),
 * bytes are Buffers. Keep in step with the flags in hack/gen-proto.sh.
 */
export const LOADER_OPTIONS = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
}) satisfies Options;

let definition: PackageDefinition | undefined;
let cached: ProtoGrpcType | undefined;

/**
 * proto-loader's package definition of runtime.v1 (parsed once): the grpc-js package
 * below and the enum check (validate-enums.ts) read the same one, as parsing the
 * schema costs ~50 ms and several MB of heap each time.
 */
export function loadCriDefinition(): PackageDefinition {
  definition ??= loadSync(PROTO_PATH, { ...LOADER_OPTIONS });
  return definition;
}

/** The grpc-js package for runtime.v1 (loaded once): `pkg.runtime.v1.RuntimeService.service`. */
export function loadCriPackage(): ProtoGrpcType {
  cached ??= loadPackageDefinition(loadCriDefinition()) as unknown as ProtoGrpcType;
  return cached;
}

// Every generated message/enum/service type (and enum value objects such as
// ContainerState.CONTAINER_RUNNING), e.g. ContainerStatus__Output, RuntimeServiceHandlers.
export * from '../generated/index.js';
