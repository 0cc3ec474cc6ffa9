import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../../src/explain/analyze.js';
import type { ExplainInputs } from '../../../src/explain/inputs.js';
import { drawPath, renderText } from '../../../src/explain/render.js';

const DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'explain');
const load = (name: string): ExplainInputs => JSON.parse(readFileSync(join(DIR, name), 'utf8')) as ExplainInputs;

describe('explain text', () => {
  it('draws eth0 ⇄ veth ⇄ bridge ⇄ host with names, indexes and addresses', () => {
    const lines = drawPath(analyze(load('healthy.json')));
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/eth0 \(if2\)\s+⇄ veth4a3cf988 \(if142\) ⇄ e1cap0\s+⇄ routing\/iptables/);
    expect(lines[2]).toMatch(/10\.88\.120\.2\/24\s+port of e1cap0\s+10\.88\.120\.1\/24\s+FORWARD DROP/);
  });

  it('marks missing hops with the name that was expected, and lists the problems', () => {
    const e = analyze(load('veth-deleted.json'));
    expect(drawPath(e)[1]).toMatch(/✗ eth0 missing\s+⇄ ✗ veth4a3cf988 missing ⇄ e1cap0/);
    const text = renderText(e);
    expect(text).toContain('✗ 3 problem(s):');
    expect(text).toContain('  ✗ host veth veth4a3cf988 (named in the CNI result) does not exist');
  });

  it('ends with a clean bill when nothing is missing', () => {
    const text = renderText(analyze(load('healthy.json')));
    expect(text).toContain('✓ path complete');
    expect(text).toContain('127.0.0.1:18080 → 80/tcp');
    expect(text).not.toContain('✗');
  });
});
