/**
 * Turns what dockerd says about a failed pull into a specific ShimError. dockerd
 * 20.10 answers HTTP 404 only for a missing manifest and 500 for everything else, so
 * the text decides; these patterns are the messages of distribution's registry
 * client that dockerd passes through (seen against docker-registry 2.8 here).
 */
import {
  DeadlineExceededError,
  InternalError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  ShimError,
  UnavailableError,
} from '../../errors.js';

const NOT_FOUND = /manifest unknown|name unknown|not found|repository does not exist|no such image/i;
const AUTH = /no basic auth credentials|unauthorized|authentication required|incorrect username or password|access.*denied|denied:/i;
const UNREACHABLE =
  /connection refused|no such host|i\/o timeout|network is unreachable|no route to host|connection reset|tls handshake timeout|server misbehaving|dial tcp|context deadline exceeded|unexpected EOF/i;
const RATE_LIMITED = /toomanyrequests|too many requests/i;
/** Socket errors that mean dockerd itself is not there. */
const DOCKER_DOWN = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE']);

export interface PullErrorContext {
  /** The name dockerd was asked to pull. */
  ref: string;
  /** Registry host of `ref`. */
  host: string;
  /** Whether the pull carried credentials: decides "rejected" versus "required". */
  withCredentials: boolean;
}

/** The message dockerd put in an HTTP error body or an in-band `{"error": …}` event. */
export function dockerMessage(err: unknown): string {
  const e = err as { json?: { message?: unknown }; message?: unknown } | null;
  if (typeof e?.json?.message === 'string') return e.json.message;
  if (typeof e?.message === 'string') return e.message.replace(/^\(HTTP code \d+\) [^-]*- /, '');
  return String(err);
}

export function classifyPullError(err: unknown, ctx: PullErrorContext): ShimError {
  if (err instanceof ShimError) return err;
  const e = err as { statusCode?: number; code?: unknown; name?: string } | null;
  const msg = dockerMessage(err).trim();
  if (e?.name === 'AbortError') return new DeadlineExceededError(`pull of ${ctx.ref} was cancelled`, { cause: err });
  if (typeof e?.code === 'string' && DOCKER_DOWN.has(e.code)) {
    return new UnavailableError(`dockerd is unreachable while pulling ${ctx.ref}: ${msg}`, { cause: err });
  }
  // "pull access denied … repository does not exist or may require 'docker login'" is
  // Docker Hub's answer to both: report it as the credentials problem it may be.
  if (AUTH.test(msg)) {
    const what = ctx.withCredentials
      ? `registry ${ctx.host} rejected the credentials given for ${ctx.ref}`
      : `registry ${ctx.host} requires credentials for ${ctx.ref} and none were given`;
    return new PermissionDeniedError(`${what}: ${msg}`, { cause: err });
  }
  if (e?.statusCode === 404 || NOT_FOUND.test(msg)) {
    return new NotFoundError(`image ${ctx.ref} not found: ${msg}`, { cause: err });
  }
  if (RATE_LIMITED.test(msg)) return new ResourceExhaustedError(`registry ${ctx.host} rate-limits pulls: ${msg}`, { cause: err });
  if (UNREACHABLE.test(msg)) {
    return new UnavailableError(`registry ${ctx.host} is unreachable: ${msg}`, { cause: err });
  }
  return new InternalError(`pull of ${ctx.ref} failed: ${msg}`, { cause: err });
}
