import { describe, expect, it } from 'vitest';
import { ShimError } from '../../../src/errors.js';
import { classifyPullError } from '../../../src/runtime/images/pull-errors.js';
import { InBandPullError } from '../../../src/runtime/images/pull-progress.js';

/** docker-modem's error for a non-2xx answer: the JSON body is on `.json`. */
const httpError = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), { statusCode, json: { message } });

const ctx = { ref: '127.0.0.1:5000/x:1', host: '127.0.0.1:5000', withCredentials: false };

describe('classifyPullError (messages dockerd 20.10 gave against docker-registry 2.8)', () => {
  it.each([
    ['missing manifest', httpError(404, 'manifest for 127.0.0.1:5000/x:1 not found: manifest unknown: manifest unknown'), false, 'NOT_FOUND', 'not found'],
    ['no credentials', httpError(500, 'Head "http://127.0.0.1:5000/v2/x/manifests/1": no basic auth credentials'), false, 'PERMISSION_DENIED', 'requires credentials'],
    ['wrong credentials', httpError(500, 'unauthorized: authentication required'), true, 'PERMISSION_DENIED', 'rejected the credentials'],
    ['hub: access denied', httpError(500, "pull access denied for x, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"), true, 'PERMISSION_DENIED', 'rejected the credentials'],
    ['refused', httpError(500, 'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused'), false, 'UNAVAILABLE', 'unreachable'],
    ['dns', httpError(500, 'Get "https://nohost.invalid/v2/": dial tcp: lookup nohost.invalid: no such host'), false, 'UNAVAILABLE', 'unreachable'],
    ['rate limit', httpError(500, 'toomanyrequests: You have reached your pull rate limit'), false, 'RESOURCE_EXHAUSTED', 'rate-limits'],
    ['in-band', new InBandPullError('unexpected EOF'), false, 'UNAVAILABLE', 'unexpected EOF'],
    ['in-band other', new InBandPullError('failed to register layer: no space left on device'), false, 'INTERNAL', 'no space left'],
    ['dockerd down', Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT' }), false, 'UNAVAILABLE', 'dockerd'],
    ['cancelled', Object.assign(new Error('aborted'), { name: 'AbortError' }), false, 'DEADLINE_EXCEEDED', 'cancelled'],
  ])('%s', (_name, err, withCredentials, code, text) => {
    const out = classifyPullError(err, { ...ctx, withCredentials });
    expect(out).toBeInstanceOf(ShimError);
    expect(out.code).toBe(code);
    expect(out.message).toContain(text);
  });

  it('keeps dockerd\'s message without the modem\'s "(HTTP code …)" prefix', () => {
    const out = classifyPullError(httpError(500, 'something odd'), ctx);
    expect(out.message).toBe('pull of 127.0.0.1:5000/x:1 failed: something odd');
  });
});
