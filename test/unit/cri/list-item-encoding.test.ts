/**
 * Relist answers from kept per-item bytes: the same bytes proto-loader writes, items
 * reused only while everything they read is unchanged (a state change, a new spec or a
 * new record gives a new item and new bytes), and items that are not frozen are never
 * served from the memo.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { listSerializer, withListEncoding } from '../../../src/cri/list-item-encoding.js';
import { podSandboxToCri } from '../../../src/cri/pod-convert.js';
import { containerToCri } from '../../../src/cri/container-convert.js';
import { loadCriPackage } from '../../../src/cri/proto.js';
import type { SandboxRecord } from '../../../src/runtime/types.js';
import type { ContainerView, SandboxView } from '../../../src/runtime/views.js';

type Codec = { responseSerialize: (v: unknown) => Buffer; responseDeserialize: (b: Buffer) => any };
const v1 = loadCriPackage().runtime.v1;
const original = v1.RuntimeService.service as unknown as Record<string, Codec>;
const messages = v1 as unknown as Record<string, { serialize: (value: object) => Buffer }>;
const encoded = withListEncoding(v1.RuntimeService.service as ServiceDefinition, (t) => messages[t]!.serialize) as unknown as Record<string, Codec>;

const hex = (i: number) => i.toString(16).padStart(64, '0');

function sandboxView(i: number, state: SandboxView['state'] = 'ready'): SandboxView {
  const record = {
    id: hex(i),
    pauseContainerId: hex(i + 1000),
    spec: { metadata: { name: `p${i}`, uid: `u${i}`, namespace: 'ns', attempt: 0 }, labels: { app: `a${i}` }, annotations: { note: 'é ✓' }, runtimeHandler: '' },
    createdAt: `17145576001234567${i % 10}0`,
    state: 'ready',
    ips: [],
  } as unknown as SandboxRecord;
  return { record, state, pausePid: 1 };
}

function containerView(i: number, state: ContainerView['live']['state'] = 'running'): ContainerView {
  return {
    record: {
      id: hex(i + 5000),
      sandboxId: hex(i),
      spec: { name: 'app', attempt: 1, image: 'localhost/x:1', labels: { c: String(i) }, annotations: {} },
      imageRef: `sha256:${hex(7)}`,
      createdAt: '1714557600500000000',
    },
    live: { state },
  } as unknown as ContainerView;
}

describe('list answers from kept item bytes', () => {
  it('are byte for byte what proto-loader writes, for pods and containers', () => {
    const pods = { items: [1, 2, 3].map((i) => podSandboxToCri(sandboxView(i))) };
    const ctrs = { containers: [1, 2].map((i) => containerToCri(containerView(i))) };
    for (let round = 0; round < 2; round++) {
      expect(encoded.ListPodSandbox!.responseSerialize(pods).equals(original.ListPodSandbox!.responseSerialize(pods))).toBe(true);
      expect(encoded.ListContainers!.responseSerialize(ctrs).equals(original.ListContainers!.responseSerialize(ctrs))).toBe(true);
    }
    expect(encoded.ListPodSandbox!.responseSerialize({ items: [] }).length).toBe(0);
  });

  it('a pod item is reused while unchanged and rebuilt when its state, spec or record changes', () => {
    const view = sandboxView(1);
    const first = podSandboxToCri(view);
    expect(podSandboxToCri({ ...view })).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.labels)).toBe(true);

    const notReady = podSandboxToCri({ ...view, state: 'notready' });
    expect(notReady).not.toBe(first);
    expect(notReady.state).toBe('SANDBOX_NOTREADY');
    const wire = (item: object) => original.ListPodSandbox!.responseDeserialize(encoded.ListPodSandbox!.responseSerialize({ items: [item] }));
    expect(wire(first).items[0].state).toBe('SANDBOX_READY');
    expect(wire(notReady).items[0].state).toBe('SANDBOX_NOTREADY');

    view.record.spec = { ...view.record.spec, labels: { app: 'changed' } };
    const relabelled = podSandboxToCri(view);
    expect(relabelled.labels).toEqual({ app: 'changed' });
    expect(wire(relabelled).items[0].labels).toEqual({ app: 'changed' });
    // Another record with the same content is another item.
    expect(podSandboxToCri(sandboxView(1))).not.toBe(relabelled);
  });

  it('a container item follows its live state', () => {
    const view = containerView(3);
    const running = containerToCri(view);
    expect(containerToCri(view)).toBe(running);
    const exited = containerToCri({ ...view, live: { ...view.live, state: 'exited' } } as ContainerView);
    expect(exited.state).toBe('CONTAINER_EXITED');
    const wire = original.ListContainers!.responseDeserialize(encoded.ListContainers!.responseSerialize({ containers: [running, exited] }));
    expect(wire.containers.map((c: { state: string }) => c.state)).toEqual(['CONTAINER_RUNNING', 'CONTAINER_EXITED']);
  });

  it('never serves a changed item that is not frozen from the memo', () => {
    const serialize = listSerializer('items', 1, messages.PodSandbox!.serialize, original.ListPodSandbox!.responseSerialize);
    const item = { id: 'a', state: 'SANDBOX_READY', labels: {}, annotations: {} };
    const before = serialize({ items: [item] });
    item.id = 'b';
    const after = original.ListPodSandbox!.responseDeserialize(serialize({ items: [item] }));
    expect(after.items[0].id).toBe('b');
    expect(before.equals(serialize({ items: [item] }))).toBe(false);
    // Not a one-field list answer: proto-loader's serializer.
    expect(serialize({ items: [item], extra: 1 } as object).equals(original.ListPodSandbox!.responseSerialize({ items: [item] }))).toBe(true);
  });
});
