/**
 * Unknown enum values (#11 class 6), for every enum field of every request of both
 * services: the table is generated from the schema itself, each request is encoded and
 * decoded exactly as grpc-js does, and the check must name the field. Known values of
 * the same fields pass.
 */
import { loadSync } from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import { LOADER_OPTIONS, PROTO_PATH, loadCriPackage } from '../../../src/cri/proto.js';
import { checkRequestEnums, withEnumCheck } from '../../../src/cri/validate-enums.js';

interface Field {
  name: string;
  type: string;
  typeName: string;
  label: string;
}
interface Message {
  name: string;
  field: Field[];
  nestedType: (Message & { options?: { mapEntry?: boolean } | null })[];
  enumType: { name: string; value: { name: string }[] }[];
}
interface Method {
  requestType: { type: Message };
  requestSerialize(r: unknown): Buffer;
  requestDeserialize(b: Buffer): unknown;
}

const defs = loadSync(PROTO_PATH, { ...LOADER_OPTIONS }) as unknown as Record<string, { type: Message }>;
const v1 = loadCriPackage().runtime.v1;
const services = {
  RuntimeService: v1.RuntimeService.service as unknown as Record<string, Method>,
  ImageService: v1.ImageService.service as unknown as Record<string, Method>,
};

function lookupMessage(scope: Message, typeName: string): Message | undefined {
  const nested = scope.nestedType.find((n) => n.name === typeName);
  if (nested) return nested.options?.mapEntry ? undefined : nested;
  return defs[`runtime.v1.${typeName}`]?.type;
}

function lookupEnum(scope: Message, typeName: string): string[] {
  const e = scope.enumType.find((x) => x.name === typeName) ?? (defs[`runtime.v1.${typeName}`]?.type as unknown as Message['enumType'][0]);
  return e.value.map((v) => v.name);
}

/** Every enum field reachable from `msg`: its path, a request setting it to `value`, and a known name. */
function enumPaths(msg: Message, depth = 0): { path: string[]; repeated: boolean[]; known: string }[] {
  if (depth > 6) return [];
  const out: { path: string[]; repeated: boolean[]; known: string }[] = [];
  for (const f of msg.field) {
    const repeated = f.label === 'LABEL_REPEATED';
    if (f.type === 'TYPE_ENUM') out.push({ path: [f.name], repeated: [repeated], known: lookupEnum(msg, f.typeName).at(-1)! });
    if (f.type === 'TYPE_MESSAGE') {
      const sub = lookupMessage(msg, f.typeName);
      if (!sub || sub.name === msg.name) continue;
      for (const p of enumPaths(sub, depth + 1)) out.push({ path: [f.name, ...p.path], repeated: [repeated, ...p.repeated], known: p.known });
    }
  }
  return out;
}

function build(path: string[], repeated: boolean[], leaf: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  const value = rest.length ? build(rest, repeated.slice(1), leaf) : leaf;
  return { [head!]: repeated[0] ? [value] : value };
}

function fieldName(path: string[], repeated: boolean[]): string {
  return path.map((p, i) => (repeated[i] ? `${p}[0]` : p)).join('.');
}

const cases: [string, string, Method, string[], boolean[], string][] = [];
for (const [service, methods] of Object.entries(services)) {
  for (const [name, method] of Object.entries(methods)) {
    for (const p of enumPaths(method.requestType.type)) cases.push([`${service}/${name}`, fieldName(p.path, p.repeated), method, p.path, p.repeated, p.known]);
  }
}

describe('unknown enum values are INVALID_ARGUMENT naming the field', () => {
  it('covers the enums the issue names', () => {
    const fields = cases.map(([rpc, field]) => `${rpc} ${field}`);
    expect(fields).toContain('RuntimeService/CreateContainer config.linux.security_context.supplemental_groups_policy');
    expect(fields).toContain('RuntimeService/RunPodSandbox config.linux.security_context.supplemental_groups_policy');
    expect(fields).toContain('RuntimeService/RunPodSandbox config.port_mappings[0].protocol');
    expect(fields).toContain('RuntimeService/CreateContainer config.mounts[0].propagation');
    expect(fields).toContain('RuntimeService/ListContainers filter.state.state');
    expect(cases.length).toBeGreaterThan(20);
  });

  it.each(cases)('%s %s', (_rpc, field, method, path, repeated, known) => {
    const wire = (v: unknown) => method.requestDeserialize(method.requestSerialize(build(path, repeated, v)));
    expect(() => checkRequestEnums(method.requestType, wire(5 + 1000))).toThrow(InvalidArgumentError);
    expect(() => checkRequestEnums(method.requestType, wire(5 + 1000))).toThrow(`${field} has an unknown enum value: 1005`);
    expect(() => checkRequestEnums(method.requestType, wire(known))).not.toThrow();
  });

  it('supplemental_groups_policy 5 never reaches the handler', async () => {
    const method = services.RuntimeService.CreateContainer!;
    let reached = false;
    const handler = withEnumCheck(method, async (_request: unknown) => {
      reached = true;
    });
    const req = method.requestDeserialize(method.requestSerialize({ config: { linux: { security_context: { supplemental_groups_policy: 5 } } } }));
    await expect(handler(req)).rejects.toThrow('config.linux.security_context.supplemental_groups_policy');
    expect(reached).toBe(false);
  });
});
