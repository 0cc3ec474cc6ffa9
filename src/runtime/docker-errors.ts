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

/** The Engine's own message (`{"message": …}`), without dockerode's prefix. */
export function dockerMessage(err: unknown): string {
  const json = (err as { json?: { message?: string } } | null)?.json;
  return json?.message ?? (err as Error)?.message ?? String(err);
}
