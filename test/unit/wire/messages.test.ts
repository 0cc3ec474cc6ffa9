/**
 * Every runtime.v1 message of cri-api v0.36.3, as the reference schema encoded it
 * with every field set, must decode with our proto into exactly the reference
 * JSON, carry nothing our proto does not know, and survive a re-encode.
 */
import { describe, expect, it } from 'vitest';
import { TYPE_NAMES, encodeJson, lookupType, toReferenceJson, typeFixtures, wireProblems } from './fixtures.js';

const fixtures = typeFixtures();

describe('cri-api v0.36.3 fixtures', () => {
  it('cover 170 types, each defined in our proto', () => {
    expect(TYPE_NAMES).toHaveLength(170);
    const missing = TYPE_NAMES.filter((t) => {
      try {
        lookupType(t);
        return false;
      } catch {
        return true;
      }
    });
    expect(missing, 'types in INDEX.json missing from api.proto').toEqual([]);
  });
});

describe.each(fixtures)('$label', ({ type: typeName, bin, json }) => {
  const type = lookupType(typeName);

  it('has only fields our proto knows, with fitting wire types', () => {
    expect(wireProblems(type, bin).problems).toEqual([]);
  });

  it('declares no field the reference lacks (every field is set in the sample)', () => {
    const { seen } = wireProblems(type, bin);
    const extra = type.fieldsArray.filter((f) => !seen.has(f.id)).map((f) => `${typeName}.${f.name} (#${f.id})`);
    expect(extra, 'fields in our proto but absent from the reference sample').toEqual([]);
  });

  it('decodes into the reference JSON', () => {
    expect(toReferenceJson(type, bin), `${typeName}.bin decoded with our proto`).toEqual(json);
  });

  it('round-trips: JSON -> encode gives the reference bytes -> same JSON', () => {
    const again = Buffer.from(encodeJson(type, json));
    expect(again.length, `${typeName}: re-encoded length`).toBe(bin.length);
    expect(again.equals(bin), `${typeName}: re-encoded bytes equal ${typeName}.bin`).toBe(true);
    expect(toReferenceJson(type, again), `${typeName}: re-encoded then decoded`).toEqual(json);
  });
});
