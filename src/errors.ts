/**
 * One error hierarchy for the whole shim. Domain code (src/runtime, src/cni) throws
 * these; src/cri/instrument.ts turns them into gRPC statuses through GRPC_CODE_OF.
 * Each class has a stable `code` string so callers and logs need not match on text.
 */

export type ShimErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED'
  | 'UNIMPLEMENTED'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'INTERNAL';

export class ShimError extends Error {
  readonly code: ShimErrorCode = 'INTERNAL';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request is malformed; the message names the field. */
export class InvalidArgumentError extends ShimError {
  override readonly code = 'INVALID_ARGUMENT';
}
/** The object the request names does not exist. */
export class NotFoundError extends ShimError {
  override readonly code = 'NOT_FOUND';
}
export class AlreadyExistsError extends ShimError {
  override readonly code = 'ALREADY_EXISTS';
}
/** The object exists but is in the wrong state for the request (e.g. not running). */
export class FailedPreconditionError extends ShimError {
  override readonly code = 'FAILED_PRECONDITION';
}
/** A dependency (dockerd, a registry) cannot be reached; the caller may retry. */
export class UnavailableError extends ShimError {
  override readonly code = 'UNAVAILABLE';
}
export class DeadlineExceededError extends ShimError {
  override readonly code = 'DEADLINE_EXCEEDED';
}
export class UnimplementedError extends ShimError {
  override readonly code = 'UNIMPLEMENTED';
}
export class PermissionDeniedError extends ShimError {
  override readonly code = 'PERMISSION_DENIED';
}
export class ResourceExhaustedError extends ShimError {
  override readonly code = 'RESOURCE_EXHAUSTED';
}
export class InternalError extends ShimError {
  override readonly code = 'INTERNAL';
}

/** Socket errors that mean a daemon we call (dockerd, a registry) is not there. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);

export function isUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && UNREACHABLE_CODES.has(code);
}

/** The ShimError code an arbitrary error deserves: its own, UNAVAILABLE for a dead socket, else INTERNAL. */
export function codeOf(err: unknown): ShimErrorCode {
  if (err instanceof ShimError) return err.code;
  return isUnreachable(err) ? 'UNAVAILABLE' : 'INTERNAL';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
