import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import { mirrorReference, pullPlan } from '../../../src/runtime/images/mirrors.js';
import { formatReference, parseReference } from '../../../src/runtime/images/reference.js';

const D = 'sha256:' + 'cd'.repeat(32);
const names = (plan: ReturnType<typeof pullPlan>) => plan.sources.map((s) => [s.mirror, formatReference(s.ref)]);

describe('mirrorReference', () => {
  it.each([
    ['registry.k8s.io/pause:3.10', 'http://127.0.0.1:5000', '127.0.0.1:5000/pause:3.10'],
    ['registry.k8s.io/a/b:1', 'https://m.example:8443/', 'm.example:8443/a/b:1'],
    ['registry.k8s.io/pause:3.10', 'http://127.0.0.1:5000/k8s', '127.0.0.1:5000/k8s/pause:3.10'],
    ['busybox', 'http://127.0.0.1:5000', '127.0.0.1:5000/library/busybox:latest'],
    [`registry.k8s.io/pause@${D}`, 'http://127.0.0.1:5000', `127.0.0.1:5000/pause@${D}`],
  ])('%s via %s → %s', (ref, mirror, want) => {
    expect(formatReference(mirrorReference(parseReference(ref), mirror))).toBe(want);
  });

  it('rejects a mirror URL that is not one', () => {
    expect(() => mirrorReference(parseReference('x'), 'not a url')).toThrow(InvalidArgumentError);
  });
});

describe('pullPlan', () => {
  const mirrors = { 'registry.k8s.io': ['http://127.0.0.1:1', 'http://127.0.0.1:2'] };

  it('tries the mirrors in order, then the origin', () => {
    const plan = pullPlan(parseReference('registry.k8s.io/pause:3.10'), { registryMirrors: mirrors, registryFallback: { '*': 'origin' } });
    expect(names(plan)).toEqual([
      ['http://127.0.0.1:1', '127.0.0.1:1/pause:3.10'],
      ['http://127.0.0.1:2', '127.0.0.1:2/pause:3.10'],
      [undefined, 'registry.k8s.io/pause:3.10'],
    ]);
  });

  it('leaves the origin out when its fallback is none (per host over *)', () => {
    const ref = parseReference('registry.k8s.io/pause:3.10');
    expect(pullPlan(ref, { registryMirrors: mirrors, registryFallback: { '*': 'origin', 'registry.k8s.io': 'none' } }).sources).toHaveLength(2);
    expect(pullPlan(ref, { registryMirrors: mirrors, registryFallback: { '*': 'none' } }).sources).toHaveLength(2);
    expect(pullPlan(ref, { registryMirrors: mirrors, registryFallback: { '*': 'none', 'registry.k8s.io': 'origin' } }).sources).toHaveLength(3);
  });

  it('pulls an unmirrored host from its origin, unless its fallback is none', () => {
    const ref = parseReference('127.0.0.1:5000/x:1');
    expect(names(pullPlan(ref, { registryMirrors: mirrors, registryFallback: {} }))).toEqual([[undefined, '127.0.0.1:5000/x:1']]);
    expect(pullPlan(ref, { registryMirrors: mirrors, registryFallback: { '*': 'none' } }).sources).toEqual([]);
  });
});
