/**
 * ListPodSandbox and ListContainers answers, encoded from per-item bytes kept between
 * calls. The kubelet relists every second, and between two relists almost no pod
 * changes; yet proto-loader's serializer converted (fromObject) and encoded every item
 * of a 110-pod answer each time: ~1.5 ms of the shim's CPU per relist on this VM, in
 * one synchronous block that every other RPC waits behind.
 *
 * Two memos, both keyed by object identity (WeakMaps: nothing outlives its record):
 * - `memoItem` gives the same frozen CRI item for a record as long as every input of
 *   the item (its `stamp`: the live state, the record's spec object, …) is the same;
 *   records are changed in place (state, network), so identity of the record alone
 *   is not enough, and the stamp names what the item reads.
 * - the list serializer keeps each frozen item's encoded bytes; an item that is not
 *   frozen (built elsewhere, maybe changed later) is encoded afresh every time.
 * A repeated message field is its items one after the other, each as tag, length,
 * bytes, so the answer is those pieces concatenated (protobuf's encoding, the same
 * bytes proto-loader would write).
 */
import type { ServiceDefinition } from '@grpc/grpc-js';

interface Memo<T> {
  stamp: readonly unknown[];
  item: T;
}

/** Freezes `value` and every object below it (CRI items: plain objects, arrays and strings). */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * The item `build()` makes for `key`, reused while `stamp` is element-wise identical
 * to the stamp it was built with. The item is deep-frozen: callers share it.
 */
export function memoItem<K extends object, T>(memo: WeakMap<K, Memo<T>>, key: K, stamp: readonly unknown[], build: () => T): T {
  const kept = memo.get(key);
  if (kept && kept.stamp.length === stamp.length && kept.stamp.every((s, i) => s === stamp[i])) return kept.item;
  const item = deepFreeze(build());
  memo.set(key, { stamp, item });
  return item;
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

/**
 * A serializer for a response whose only field is `field` (number `fieldNumber`, a
 * repeated message): frozen items' bytes come from the memo. Anything else goes to
 * `fallback` (proto-loader's serializer).
 */
export function listSerializer(
  field: string,
  fieldNumber: number,
  serializeItem: (item: object) => Buffer,
  fallback: (response: object) => Buffer,
): (response: object) => Buffer {
  const encoded = new WeakMap<object, Buffer>();
  const tag = Buffer.from([(fieldNumber << 3) | 2]);
  return (response) => {
    const items = (response as Record<string, unknown>)[field];
    if (!Array.isArray(items) || Object.keys(response).length !== 1) return fallback(response);
    const parts: Buffer[] = [];
    for (const item of items as object[]) {
      let bytes = encoded.get(item);
      if (!bytes) {
        bytes = serializeItem(item);
        if (Object.isFrozen(item)) encoded.set(item, bytes);
      }
      parts.push(tag, varint(bytes.length), bytes);
    }
    return Buffer.concat(parts);
  };
}

/** Which list RPCs get the memo: method → its response field, the field's number, the item type. */
const LISTS: Record<string, { field: string; fieldNumber: number; itemType: string }> = {
  ListPodSandbox: { field: 'items', fieldNumber: 1, itemType: 'PodSandbox' },
  ListContainers: { field: 'containers', fieldNumber: 1, itemType: 'Container' },
};

/**
 * `service` (the RuntimeService definition) with the list serializers above;
 * `messageSerializer(type)` gives proto-loader's serializer of a runtime.v1 message.
 */
export function withListEncoding(service: ServiceDefinition, messageSerializer: (type: string) => (value: object) => Buffer): ServiceDefinition {
  const out: Record<string, ServiceDefinition[string]> = { ...service };
  for (const [method, list] of Object.entries(LISTS)) {
    const def = service[method];
    if (!def) continue;
    out[method] = {
      ...def,
      responseSerialize: listSerializer(list.field, list.fieldNumber, messageSerializer(list.itemType), def.responseSerialize as (r: object) => Buffer),
    };
  }
  return out as ServiceDefinition;
}
