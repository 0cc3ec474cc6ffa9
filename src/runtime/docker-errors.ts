import { AlreadyExistsError, InternalError, InvalidArgumentError, NotFoundError } from '../errors.js';

/** dockerode errors carry the HTTP status of the Engine API. */
export function dockerStatus(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** 404 (no such object) and 304 (already in that state) are success for idempotent calls. */
export async function ignoreGoneOrDone<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    const status = dockerStatus(err);
    if (status === 404 || status === 304) return undefined;
    throw err;
  }
}

/**
 * A Docker Engine failure as one of our errors, by its HTTP status, so the kubelet gets
 * a meaningful code. Socket errors (dockerd down) are returned as they are: the CRI
 * layer maps them to UNAVAILABLE.
 */
export function fromDocker(err: unknown, what: string): Error {
  if (dockerStatus(err) === undefined) return err as Error;
  const message = `${what}: ${dockerMessage(err)}`;
  if (isBadInput(err)) return new InvalidArgumentError(message, { cause: err });
  switch (dockerStatus(err)) {
    case 404:
      return new NotFoundError(message, { cause: err });
    case 409:
      return new AlreadyExistsError(message, { cause: err });
    default:
      return new InternalError(message, { cause: err });
  }
}

/**
 * Docker's answers that mean "the request was malformed": 400, a request too large for
 * its HTTP server (413, 414, 431), and messages about bad input that it sends with 500
 * (a bind it cannot parse, a reference it cannot read).
 */
const BAD_REQUEST_STATUS = new Set([400, 413, 414, 431]);
const BAD_INPUT_MESSAGE = /^(invalid volume specification|invalid reference format|invalid mount config|invalid sysctl)/i;

function isBadInput(err: unknown): boolean {
  return BAD_REQUEST_STATUS.has(dockerStatus(err) ?? 0) || BAD_INPUT_MESSAGE.test(dockerMessage(err));
}

/** The Engine's own message (`{"message": …}`), without dockerode's prefix. */
export function dockerMessage(err: unknown): string {
  const json = (err as { json?: { message?: string } } | null)?.json;
  return json?.message ?? (err as Error)?.message ?? String(err);
}
