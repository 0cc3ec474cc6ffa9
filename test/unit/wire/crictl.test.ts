/**
 * What the real crictl 1.32 sent, byte for byte, must decode with our proto into
 * the reference decoding (the request type comes from SERVICES.json).
 */
import { describe, expect, it } from 'vitest';
import { crictlFixtures, encodeJson, lookupType, toReferenceJson, wireProblems } from './fixtures.js';

const fixtures = crictlFixtures();

describe('crictl 1.32 requests', () => {
  it('are all there (71 calls)', () => {
    expect(fixtures).toHaveLength(71);
  });

  describe.each(fixtures)('$label ($type)', ({ label, type: typeName, bin, json }) => {
    const type = lookupType(typeName);

    it('has only fields our proto knows', () => {
      expect(wireProblems(type, bin).problems).toEqual([]);
    });

    it('decodes into its reference JSON', () => {
      expect(toReferenceJson(type, bin), `${label}.bin as ${typeName}`).toEqual(json);
    });

    it('re-encodes to the same bytes', () => {
      expect(Buffer.from(encodeJson(type, json)).equals(bin), `${label}: re-encoded ${typeName}`).toBe(true);
    });
  });
});
