/**
 * Which sandbox the user means: a full id, a unique id prefix, or `namespace/name`
 * (the ready one first, as the kubelet keeps at most one ready sandbox per pod).
 */
import type { SandboxRecord } from '../runtime/types.js';

export type FindOutcome = { ok: true; sandbox: SandboxRecord } | { ok: false; reason: string };

export function findPod(records: SandboxRecord[], ref: string): FindOutcome {
  if (!ref) return { ok: false, reason: 'no pod given: pass an id, a unique id prefix or namespace/name' };
  const exact = records.find((r) => r.id === ref);
  if (exact) return { ok: true, sandbox: exact };
  if (ref.includes('/')) {
    const [ns, name] = [ref.slice(0, ref.indexOf('/')), ref.slice(ref.indexOf('/') + 1)];
    const named = records
      .filter((r) => r.spec.metadata.namespace === ns && r.spec.metadata.name === name)
      .sort((a, b) => rank(b) - rank(a) || Number(BigInt(b.createdAt) - BigInt(a.createdAt)));
    if (named.length === 0) return { ok: false, reason: `no pod ${ref} in the state dir` };
    return { ok: true, sandbox: named[0] };
  }
  const byPrefix = records.filter((r) => r.id.startsWith(ref));
  if (byPrefix.length === 1) return { ok: true, sandbox: byPrefix[0] };
  if (byPrefix.length > 1) return { ok: false, reason: `id prefix ${ref} matches ${byPrefix.length} pods: ${byPrefix.map((r) => r.id.slice(0, 13)).join(', ')}` };
  return { ok: false, reason: `no pod with id or id prefix ${ref} in the state dir` };
}

function rank(r: SandboxRecord): number {
  return r.state === 'ready' ? 1 : 0;
}
