import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import * as errors from '../../../src/errors.js';
import { GRPC_CODE_OF, toGrpcFailure } from '../../../src/cri/status-codes.js';

describe('toGrpcFailure', () => {
  it.each([
    [new errors.InvalidArgumentError('config.metadata is required'), status.INVALID_ARGUMENT],
    [new errors.NotFoundError('sandbox "x" not found'), status.NOT_FOUND],
    [new errors.AlreadyExistsError('a'), status.ALREADY_EXISTS],
    [new errors.FailedPreconditionError('not running'), status.FAILED_PRECONDITION],
    [new errors.UnavailableError('dockerd'), status.UNAVAILABLE],
    [new errors.DeadlineExceededError('t'), status.DEADLINE_EXCEEDED],
    [new errors.UnimplementedError('u'), status.UNIMPLEMENTED],
    [new errors.PermissionDeniedError('p'), status.PERMISSION_DENIED],
    [new errors.ResourceExhaustedError('r'), status.RESOURCE_EXHAUSTED],
    [new errors.InternalError('i'), status.INTERNAL],
    [Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' }), status.UNAVAILABLE],
    [new Error('boom'), status.INTERNAL],
    ['a string', status.INTERNAL],
  ])('%s → %s', (err, code) => {
    expect(toGrpcFailure(err).code).toBe(code);
  });

  it('keeps the message of domain errors', () => {
    expect(toGrpcFailure(new errors.NotFoundError('container "abc" not found')).details).toBe('container "abc" not found');
  });

  it('maps every error code', () => {
    for (const code of Object.keys(GRPC_CODE_OF)) expect(typeof GRPC_CODE_OF[code as errors.ShimErrorCode]).toBe('number');
  });
});
