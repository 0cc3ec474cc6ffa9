/**
 * Unknown enum values, refused for every request before its handler runs. Protobuf
 * lets a client send any number for an enum field; with `enums: String` protobufjs
 * turns the known ones into their names and leaves the others as plain numbers, which
 * the handlers would read as "not this one" (`supplemental_groups_policy: 5` was taken
 * as Merge). This walks the request along its message descriptor and answers
 * INVALID_ARGUMENT naming the first such field, for every enum of every RPC at once.
 */
import { InvalidArgumentError } from '../errors.js';
import { loadCriDefinition } from './proto.js';

/** The parts of a protobuf DescriptorProto that proto-loader hands us and we read. */
interface FieldDescriptor {
  name: string;
  type: string;
  typeName: string;
  label: string;
}
interface EnumDescriptor {
  name: string;
  value: { name: string }[];
}
interface MessageDescriptor {
  name: string;
  field: FieldDescriptor[];
  nestedType: (MessageDescriptor & { options?: { mapEntry?: boolean } | null })[];
  enumType: EnumDescriptor[];
}

const PACKAGE = 'runtime.v1';

function descriptorOf(typeName: string): MessageDescriptor | EnumDescriptor | undefined {
  const def = loadCriDefinition()[`${PACKAGE}.${typeName}`] as { type?: unknown } | undefined;
  return def?.type as MessageDescriptor | EnumDescriptor | undefined;
}

/** Names of the enum `typeName` as seen from `scope` (nested enums first, as protobuf resolves them). */
function enumNames(scope: MessageDescriptor, typeName: string): Set<string> | undefined {
  const nested = scope.enumType.find((e) => e.name === typeName);
  const found = nested ?? (descriptorOf(typeName) as EnumDescriptor | undefined);
  return found?.value ? new Set(found.value.map((v) => v.name)) : undefined;
}

function messageType(scope: MessageDescriptor, typeName: string): MessageDescriptor | undefined {
  const nested = scope.nestedType.find((n) => n.name === typeName);
  // Map entries (all map<string, string> in the CRI) hold no enums.
  if (nested) return nested.options?.mapEntry ? undefined : nested;
  const found = descriptorOf(typeName) as MessageDescriptor | undefined;
  return found?.field ? found : undefined;
}

/** The path of the first enum field of `value` holding a value its enum does not name. */
function findUnknownEnum(desc: MessageDescriptor, value: unknown, path: string): { field: string; value: unknown } | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const obj = value as Record<string, unknown>;
  for (const f of desc.field) {
    const v = obj[f.name];
    if (v === null || v === undefined) continue;
    const items = f.label === 'LABEL_REPEATED' && Array.isArray(v) ? v.map((x, i) => [x, `${path}${f.name}[${i}]`] as const) : [[v, `${path}${f.name}`] as const];
    for (const [item, where] of items) {
      if (f.type === 'TYPE_ENUM') {
        const names = enumNames(desc, f.typeName);
        if (names && !(typeof item === 'string' && names.has(item))) return { field: where, value: item };
      } else if (f.type === 'TYPE_MESSAGE') {
        const sub = messageType(desc, f.typeName);
        const found = sub && findUnknownEnum(sub, item, `${where}.`);
        if (found) return found;
      }
    }
  }
  return undefined;
}

/** What proto-loader's method definitions say of their request type. */
interface RequestType {
  type: unknown;
}

/** Throws InvalidArgumentError when `request` (of the method's request type) has an unknown enum value. */
export function checkRequestEnums(requestType: RequestType, request: unknown): void {
  const found = findUnknownEnum(requestType.type as MessageDescriptor, request, '');
  if (found) throw new InvalidArgumentError(`${found.field} has an unknown enum value: ${String(found.value).slice(0, 32)}`);
}

/**
 * `handler` behind the enum check of its requests; `method` is the grpc-js method
 * definition (proto-loader's carries `requestType`). Loads the descriptors now, not on
 * the first call.
 */
export function withEnumCheck<H extends (request: any, ...rest: any[]) => Promise<unknown>>(method: unknown, handler: H): H {
  const requestType = (method as { requestType?: RequestType } | null)?.requestType;
  if (!requestType?.type) return handler;
  loadCriDefinition();
  return (async (request: unknown, ...rest: unknown[]) => {
    checkRequestEnums(requestType, request);
    return handler(request, ...rest);
  }) as H;
}
