import { describe, expect, it } from 'vitest';
import { findPod } from '../../../src/explain/find-pod.js';
import type { SandboxRecord } from '../../../src/runtime/types.js';

function rec(id: string, ns: string, name: string, state: 'ready' | 'notready', createdAt: string): SandboxRecord {
  return { id, state, createdAt, spec: { metadata: { namespace: ns, name, uid: 'u', attempt: 0 } } } as SandboxRecord;
}

const records = [rec('abc111', 'demo', 'web', 'notready', '2'), rec('abc222', 'demo', 'web', 'ready', '1'), rec('def333', 'kube', 'dns', 'ready', '3')];

describe('findPod', () => {
  it('by full id, unique prefix, and namespace/name (ready one first)', () => {
    expect(findPod(records, 'abc111')).toMatchObject({ ok: true, sandbox: { id: 'abc111' } });
    expect(findPod(records, 'def')).toMatchObject({ ok: true, sandbox: { id: 'def333' } });
    expect(findPod(records, 'demo/web')).toMatchObject({ ok: true, sandbox: { id: 'abc222' } });
  });

  it('refuses ambiguous prefixes and unknown pods, saying why', () => {
    expect(findPod(records, 'abc')).toEqual({ ok: false, reason: 'id prefix abc matches 2 pods: abc111, abc222' });
    expect(findPod(records, 'zzz')).toEqual({ ok: false, reason: 'no pod with id or id prefix zzz in the state dir' });
    expect(findPod(records, 'demo/db')).toEqual({ ok: false, reason: 'no pod demo/db in the state dir' });
    expect(findPod(records, '').ok).toBe(false);
  });
});
