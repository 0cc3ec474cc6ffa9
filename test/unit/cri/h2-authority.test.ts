import { describe, expect, it } from 'vitest';
import { encodeNeverIndexed, isValidAuthority } from '../../../src/cri/h2-authority.js';

describe('isValidAuthority', () => {
  it.each([
    ['localhost', true],
    ['localhost:50051', true],
    ['[::1]:80', true],
    ['10.0.0.1', true],
    ['/run/cri-shim/cri-shim.sock', false],
    ['/var/run/dockershim.sock', false],
    ['a b', false],
  ])('%s → %s', (value, ok) => {
    expect(isValidAuthority(value)).toBe(ok);
  });
});

describe('encodeNeverIndexed', () => {
  it('writes RFC 7541 literal never-indexed fields with new names', () => {
    // 0x10, name length 1 "a", value length 2 "bc"
    expect([...encodeNeverIndexed([{ name: 'a', value: 'bc' }])]).toEqual([0x10, 1, 0x61, 2, 0x62, 0x63]);
  });

  it('uses multi-byte lengths past the 7-bit prefix', () => {
    const long = 'x'.repeat(200);
    const out = encodeNeverIndexed([{ name: 'n', value: long }]);
    // value length 200 = 127 + 73 → 0x7f, 73
    expect([...out.subarray(3, 5)]).toEqual([0x7f, 73]);
    expect(out.length).toBe(1 + 2 + 2 + 200);
  });
});
