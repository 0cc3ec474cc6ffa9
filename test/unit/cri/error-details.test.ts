/**
 * What errors echo is capped (#11 class 6: a 100,000-character id made a NOT_FOUND
 * whose trailer no client takes), and Docker's answers to bad input are INVALID_ARGUMENT.
 */
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, NotFoundError } from '../../../src/errors.js';
import { MAX_DETAILS_CHARS } from '../../../src/cri/error-details.js';
import { toGrpcFailure } from '../../../src/cri/status-codes.js';
import { fromDocker } from '../../../src/runtime/docker-errors.js';

const huge = 'x'.repeat(100_000);

describe('status details are capped', () => {
  it.each<[string, unknown]>([
    ['NOT_FOUND echoing an id', new NotFoundError(`container "${huge}" not found`)],
    ['INVALID_ARGUMENT echoing a value', new InvalidArgumentError(`config.x ${huge}`)],
    ['a plain error', new Error(huge)],
    ['a thrown string', huge],
  ])('%s', (_what, err) => {
    const f = toGrpcFailure(err);
    expect(f.details.length).toBeLessThanOrEqual(MAX_DETAILS_CHARS + 40);
    expect(f.details).toMatch(/… \(\d+ more characters\)$/);
  });
  it('short messages are untouched', () => {
    expect(toGrpcFailure(new NotFoundError('container "abc" not found'))).toEqual({ code: status.NOT_FOUND, details: 'container "abc" not found' });
  });
});

const dockerError = (statusCode: number, message: string) => Object.assign(new Error(`(HTTP code ${statusCode}) ${message}`), { statusCode, json: { message } });

describe("Docker's answers to bad input", () => {
  it.each<[number, string]>([
    [400, 'invalid reference format: repository name must be lowercase'],
    [500, "invalid volume specification: '/tmp/a:b:/x:rw'"],
    [500, 'invalid mount config for type "bind": field Source must not be empty'],
    [413, 'request entity too large'],
    [414, 'URI too long'],
    [431, 'Request Header Fields Too Large'],
  ])('%d %s is INVALID_ARGUMENT', (code, message) => {
    const err = fromDocker(dockerError(code, message), 'CreateContainer c');
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toContain(message);
  });
  it('a 500 about something else stays INTERNAL', () => {
    expect(toGrpcFailure(fromDocker(dockerError(500, 'driver failed'), 'x')).code).toBe(status.INTERNAL);
  });
});
