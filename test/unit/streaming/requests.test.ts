import { describe, expect, it } from 'vitest';
import { ResourceExhaustedError } from '../../../src/errors.js';
import { RequestCache, type StreamRequest } from '../../../src/streaming/requests.js';

const pf: StreamRequest = { kind: 'portforward', sandboxId: 'abc', ports: [80] };

describe('RequestCache', () => {
  it('hands out URL-safe random tokens that work once', () => {
    const cache = new RequestCache();
    const a = cache.insert(pf);
    const b = cache.insert(pf);
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(a).not.toBe(b);
    expect(cache.consume(a)).toEqual(pf);
    expect(cache.consume(a)).toBeUndefined();
    expect(cache.consume('nope')).toBeUndefined();
  });

  it('forgets tokens after their lifetime', () => {
    let now = 1000;
    const cache = new RequestCache({ ttlMs: 60_000, now: () => now });
    const a = cache.insert(pf);
    const b = cache.insert(pf);
    now += 59_999;
    expect(cache.consume(a)).toEqual(pf);
    now += 1;
    expect(cache.consume(b)).toBeUndefined();
  });

  it('holds at most maxPending, counting only live ones', () => {
    let now = 0;
    const cache = new RequestCache({ maxPending: 2, ttlMs: 10, now: () => now });
    cache.insert(pf);
    cache.insert(pf);
    expect(() => cache.insert(pf)).toThrow(ResourceExhaustedError);
    now = 10;
    expect(cache.size).toBe(0);
    cache.insert(pf);
  });
});
