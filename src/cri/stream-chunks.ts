/**
 * How the Stream* forms of the list RPCs cut a list into messages: by size, so that a
 * node whose ListContainers answer would pass the 16 MiB message limit (many pods with
 * large annotations) still streams. A message is closed before it passes
 * STREAM_CHUNK_BYTES, far below even grpc-go's 4 MiB default receive limit.
 */

export const STREAM_CHUNK_BYTES = 1024 * 1024;

/**
 * An item's size in a message, from above: its JSON is at least as long as its
 * protobuf encoding (field names spelled out, numbers as decimal text).
 */
export function estimatedBytes(item: unknown): number {
  return Buffer.byteLength(JSON.stringify(item), 'utf8');
}

/**
 * `items` in consecutive chunks of at most `maxBytes` (estimated); an item bigger than
 * that on its own travels alone. An empty list still gives one empty chunk, so the
 * client sees a message before the end of the stream.
 */
export function* chunksBySize<T>(items: readonly T[], maxBytes = STREAM_CHUNK_BYTES, sizeOf: (item: T) => number = estimatedBytes): Generator<T[]> {
  let chunk: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (chunk.length && bytes + size > maxBytes) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(item);
    bytes += size;
  }
  if (chunk.length || !items.length) yield chunk;
}
