/**
 * Shared pieces of the wire tests: where the cri-wire fixtures (test/fixtures/cri-wire) are, our
 * proto loaded with protobufjs, the reference JSON conventions, and a raw wire
 * walker that reports any field our proto does not know.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_PATH } from '../../../src/cri/proto.js';

export const REPO_ROOT = resolve(dirname(PROTO_PATH), '..', '..', '..');
export const WIRE_DIR = process.env.CRI_WIRE_DIR ?? join(REPO_ROOT, 'test', 'fixtures', 'cri-wire');
export const TYPES_DIR = join(WIRE_DIR, 'v0.36.3');
export const CRICTL_DIR = join(WIRE_DIR, 'crictl-1.32');

if (!existsSync(TYPES_DIR)) throw new Error(`wire fixtures not found at ${TYPES_DIR} (set CRI_WIRE_DIR)`);

export const readJson = <T = unknown>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

export interface RpcSpec {
  name: string;
  request: string;
  response: string;
  server_streaming: boolean;
}
export interface ServicesSpec {
  package: string;
  services: Record<string, RpcSpec[]>;
}
export const SERVICES = readJson<ServicesSpec>(join(TYPES_DIR, 'SERVICES.json'));
export const TYPE_NAMES = readJson<{ type: string }[]>(join(TYPES_DIR, 'INDEX.json')).map((t) => t.type);

export interface Fixture {
  /** e.g. "ContainerConfig" or "14-CreateContainer" */
  label: string;
  type: string;
  bin: Buffer;
  json: unknown;
}

export const typeFixtures = (): Fixture[] =>
  TYPE_NAMES.map((type) => ({
    label: type,
    type,
    bin: readFileSync(join(TYPES_DIR, `${type}.bin`)),
    json: readJson(join(TYPES_DIR, `${type}.json`)),
  }));

/** `NN-Method.bin` requests, typed through SERVICES.json. */
export const crictlFixtures = (): Fixture[] => {
  const requestOf = new Map(Object.values(SERVICES.services).flat().map((r) => [r.name, r.request]));
  return readdirSync(CRICTL_DIR)
    .filter((f) => /^\d+-\w+\.bin$/.test(f))
    .sort()
    .map((f) => {
      const label = f.slice(0, -4);
      const method = label.replace(/^\d+-/, '');
      const type = requestOf.get(method);
      if (!type) throw new Error(`${f}: method ${method} is not in SERVICES.json`);
      return { label, type, bin: readFileSync(join(CRICTL_DIR, f)), json: readJson(join(CRICTL_DIR, `${label}.json`)) };
    });
};

/** Our schema, names exactly as written in the .proto. */
export const root = new protobuf.Root().loadSync(PROTO_PATH, { keepCase: true });
root.resolveAll();
export const PKG = 'runtime.v1';
export const lookupType = (name: string): protobuf.Type => root.lookupType(`${PKG}.${name}`);

/** The reference decoder's JSON: proto names, int64 as strings, enum names, base64 bytes, no defaults. */
export const REFERENCE_JSON: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  bytes: String,
  defaults: false,
  arrays: false,
  objects: false,
  oneofs: false,
};

export const toReferenceJson = (type: protobuf.Type, bin: Uint8Array): unknown =>
  type.toObject(type.decode(bin), REFERENCE_JSON);

export const encodeJson = (type: protobuf.Type, json: unknown): Uint8Array =>
  type.encode(type.fromObject(json as Record<string, unknown>)).finish();

const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32'];
const VARINT = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool']);
const FIXED64 = new Set(['double', 'fixed64', 'sfixed64']);
const FIXED32 = new Set(['float', 'fixed32', 'sfixed32']);

/** Wire types a value of this proto type may use (repeated scalars may be packed). */
function wireTypesFor(typeName: string, resolved: protobuf.ReflectionObject | null, repeated: boolean): number[] {
  if (resolved instanceof protobuf.Type || typeName === 'string' || typeName === 'bytes') return [2];
  const scalar = resolved instanceof protobuf.Enum || VARINT.has(typeName) ? 0
    : FIXED64.has(typeName) ? 1
    : FIXED32.has(typeName) ? 5
    : -1;
  return repeated ? [scalar, 2] : [scalar];
}

/**
 * Walks the raw bytes of a `type` message and lists every problem: a field
 * number our proto lacks, or a wire type that does not fit the declared field.
 * Recurses into sub-messages and map entries, so a wrong number anywhere in a
 * fixture is named with its full path. Also returns the top-level numbers seen.
 */
export function wireProblems(type: protobuf.Type, bin: Uint8Array, path = type.name): { problems: string[]; seen: Set<number> } {
  const problems: string[] = [];
  const seen = new Set<number>();
  const reader = protobuf.Reader.create(bin);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    seen.add(id);
    const field = type.fieldsById[id];
    if (!field) {
      problems.push(`${path}: field #${id} (${WIRE_NAMES[wire]}) is on the wire but not in our ${type.name}`);
      reader.skipType(wire);
      continue;
    }
    const where = `${path}.${field.name} (#${id})`;
    const isMap = field instanceof protobuf.MapField;
    const allowed = isMap ? [2] : wireTypesFor(field.type, field.resolvedType, field.repeated);
    if (!allowed.includes(wire)) {
      problems.push(`${where}: wire type ${WIRE_NAMES[wire]} does not fit ${field.repeated ? 'repeated ' : ''}${field.type}`);
      reader.skipType(wire);
    } else if (isMap) {
      problems.push(...mapEntryProblems(field, reader.bytes(), where));
    } else if (field.resolvedType instanceof protobuf.Type) {
      problems.push(...wireProblems(field.resolvedType, reader.bytes(), where).problems);
    } else {
      reader.skipType(wire);
    }
  }
  return { problems, seen };
}

/** A map entry is a message { key = 1; value = 2 }. */
function mapEntryProblems(field: protobuf.MapField, entry: Uint8Array, where: string): string[] {
  const problems: string[] = [];
  const reader = protobuf.Reader.create(entry);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    const [typeName, resolved] = id === 1 ? [field.keyType, null] : id === 2 ? [field.type, field.resolvedType] : [null, null];
    if (typeName === null) {
      problems.push(`${where}: map entry field #${id} is neither key nor value`);
      reader.skipType(wire);
    } else if (!wireTypesFor(typeName, resolved, false).includes(wire)) {
      problems.push(`${where}: map ${id === 1 ? 'key' : 'value'} has wire type ${WIRE_NAMES[wire]}, not ${typeName}`);
      reader.skipType(wire);
    } else if (resolved instanceof protobuf.Type) {
      problems.push(...wireProblems(resolved, reader.bytes(), `${where}[value]`).problems);
    } else {
      reader.skipType(wire);
    }
  }
  return problems;
}
