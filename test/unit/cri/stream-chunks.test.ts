import { describe, expect, it } from 'vitest';
import { chunksBySize, estimatedBytes, STREAM_CHUNK_BYTES } from '../../../src/cri/stream-chunks.js';
import { loadCriPackage } from '../../../src/cri/proto.js';

const sizes = (chunks: unknown[][]) => chunks.map((c) => c.length);

describe('chunksBySize', () => {
  it('keeps every item, in order, each chunk within the budget', () => {
    const items = Array.from({ length: 25 }, (_, i) => i);
    const chunks = [...chunksBySize(items, 10, () => 3)];
    expect(sizes(chunks)).toEqual([3, 3, 3, 3, 3, 3, 3, 3, 1]);
    expect(chunks.flat()).toEqual(items);
  });

  it('an item bigger than the budget travels alone', () => {
    const chunks = [...chunksBySize(['a', 'BIG', 'b', 'c'], 10, (s) => (s === 'BIG' ? 50 : 4))];
    expect(chunks).toEqual([['a'], ['BIG'], ['b', 'c']]);
  });

  it('an empty list is one empty chunk', () => {
    expect([...chunksBySize([], 10)]).toEqual([[]]);
  });

  it('the estimate is never below the protobuf size of a Container with large annotations', () => {
    const container = {
      id: 'c'.repeat(64),
      pod_sandbox_id: 'p'.repeat(64),
      metadata: { name: 'app', attempt: 3 },
      image: { image: 'localhost/x:1', annotations: {}, user_specified_image: '', runtime_handler: '' },
      image_ref: 'sha256:' + 'a'.repeat(64),
      state: 'CONTAINER_RUNNING',
      created_at: '1733212345123456789',
      labels: { app: 'web', 'io.kubernetes.pod.name': 'web' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(200_000), é: 'ü\n"' },
      image_id: '',
    };
    const encoded = encodeContainer(container);
    expect(estimatedBytes(container)).toBeGreaterThanOrEqual(encoded);
    // 16 MiB of such containers takes many messages, each far below grpc-go's 4 MiB default.
    const many = Array.from({ length: 84 }, () => container);
    const chunks = [...chunksBySize(many)];
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.reduce((n, x) => n + encodeContainer(x), 0)).toBeLessThanOrEqual(STREAM_CHUNK_BYTES);
  });
});

/** The exact wire size of one Container, through the same serializer grpc-js uses. */
function encodeContainer(container: object): number {
  const def = loadCriPackage().runtime.v1.RuntimeService.service as unknown as Record<string, { responseSerialize(m: object): Buffer }>;
  const one = def.StreamContainers!.responseSerialize({ containers: [container] });
  return one.length;
}
