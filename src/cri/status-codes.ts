/**
 * The one table from our error classes to gRPC status codes. Handlers throw domain
 * errors; only this file knows what the kubelet sees.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { ShimError, isUnreachable, type ShimErrorCode } from '../errors.js';
import { capDetails } from './error-details.js';

export const GRPC_CODE_OF: Readonly<Record<ShimErrorCode, GrpcStatus>> = {
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  NOT_FOUND: GrpcStatus.NOT_FOUND,
  ALREADY_EXISTS: GrpcStatus.ALREADY_EXISTS,
  FAILED_PRECONDITION: GrpcStatus.FAILED_PRECONDITION,
  UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  DEADLINE_EXCEEDED: GrpcStatus.DEADLINE_EXCEEDED,
  UNIMPLEMENTED: GrpcStatus.UNIMPLEMENTED,
  PERMISSION_DENIED: GrpcStatus.PERMISSION_DENIED,
  RESOURCE_EXHAUSTED: GrpcStatus.RESOURCE_EXHAUSTED,
  INTERNAL: GrpcStatus.INTERNAL,
};


export interface GrpcFailure {
  code: GrpcStatus;
  details: string;
}

/** The status for `err`, its message capped (error-details.ts). */
export function toGrpcFailure(err: unknown): GrpcFailure {
  const failure = uncappedFailure(err);
  return { code: failure.code, details: capDetails(failure.details) };
}

function uncappedFailure(err: unknown): GrpcFailure {
  if (err instanceof ShimError) return { code: GRPC_CODE_OF[err.code], details: err.message };
  const e = err as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (isUnreachable(err)) {
    return { code: GrpcStatus.UNAVAILABLE, details: `dependency unreachable: ${message}` };
  }
  return { code: GrpcStatus.INTERNAL, details: message };
}
