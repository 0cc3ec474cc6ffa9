import { describe, expect, it } from 'vitest';
import { dockerLabels } from '../../../src/runtime/labels.js';
import { decodeSandboxMemo, encodeSandboxMemo, LABEL_SANDBOX_SPEC } from '../../../src/runtime/sandbox-memo.js';
import type { SandboxSpec } from '../../../src/runtime/types.js';

function spec(labels: Record<string, string>, annotations: Record<string, string>): SandboxSpec {
  return {
    metadata: { name: 'p', namespace: 'ns', uid: 'u', attempt: 2 },
    hostname: 'h',
    logDirectory: '/var/log/pods/x',
    dns: { servers: ['10.0.0.10'], searches: ['a.b'], options: ['ndots:5'] },
    portMappings: [{ protocol: 'tcp', containerPort: 80, hostPort: 0, hostIp: '' }],
    labels,
    annotations,
    cgroupParent: '',
    sysctls: { 'net.ipv4.ip_forward': '1' },
    namespaces: { network: 'pod', pid: 'pod', ipc: 'pod' },
    runtimeHandler: '',
    privileged: false,
  };
}

/** The labels a pause container gets, as sandbox-run.ts makes them. */
function pauseLabels(s: SandboxSpec): Record<string, string> {
  const own = { instance: '/state', kind: 'sandbox' as const, sandboxId: 'id', podName: 'p', podNamespace: 'ns', podUid: 'u', logPath: s.logDirectory };
  return { ...dockerLabels(own, s.labels, s.annotations), [LABEL_SANDBOX_SPEC]: encodeSandboxMemo(s, '123') };
}

describe('sandbox memo label', () => {
  const cases: Array<[string, Record<string, string>, Record<string, string>]> = [
    ['no labels', {}, {}],
    ['plain labels and annotations', { app: 'x' }, { 'example.com/a': 'b' }],
    ['kubelet keys we also write, with other values', { 'io.kubernetes.pod.name': 'other', 'io.kubernetes.pod.uid': 'zzz' }, {}],
    ['a label shaped like an annotation', { 'annotation.fake': 'label' }, { real: 'yes' }],
    ['a label and an annotation on one Docker key', { 'annotation.k': 'label' }, { k: 'annotation' }],
    ['a label with our own prefix', { 'io.cri-shim.managed': 'theirs' }, {}],
  ];
  for (const [name, labels, annotations] of cases) {
    it(`gives back the spec exactly: ${name}`, () => {
      const s = spec(labels, annotations);
      expect(decodeSandboxMemo(pauseLabels(s))).toEqual({ spec: s, createdAt: '123' });
    });
  }

  it('is absent or unreadable on containers made without it', () => {
    expect(decodeSandboxMemo({})).toBeUndefined();
    expect(decodeSandboxMemo({ [LABEL_SANDBOX_SPEC]: '{not json' })).toBeUndefined();
    expect(decodeSandboxMemo({ [LABEL_SANDBOX_SPEC]: '{"v":2}' })).toBeUndefined();
  });
});
