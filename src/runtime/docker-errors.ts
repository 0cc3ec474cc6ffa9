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
  switch (dockerStatus(err)) {
    case 400:
      return new InvalidArgumentError(message, { cause: err });
    case 404:
      return new NotFoundError(message, { cause: err });
    case 409:
      return new AlreadyExistsError(message, { cause: err });
    default:
      return new InternalError(message, { cause: err });
  }
}

/** The Engine's own message (`{"message": …}`), without dockerode's prefix. */
export function dockerMessage(err: unknown): string {
  const json = (err as { json?: { message?: string } } | null)?.json;
  return json?.message ?? (err as Error)?.message ?? String(err);
}
