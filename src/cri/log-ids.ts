/**
 * Bounds on what a per-RPC log line carries from the request. An id is refused when it
 * is too long, but the line for that refusal is written first: a 100,000-character id
 * would otherwise be logged whole, once per call, by whoever sends it.
 */

/** Real ids are 64 hex characters; names and image refs stay well below this. */
export const MAX_LOGGED_ID_CHARS = 128;
/** How much of an over-long value is kept, enough to tell two of them apart. */
const KEPT_CHARS = 64;

/** The value itself, or its first characters with a marker giving its full length. */
export function boundedLogValue(value: string): string {
  if (value.length <= MAX_LOGGED_ID_CHARS) return value;
  return `${value.slice(0, KEPT_CHARS)}…[${value.length} chars]`;
}

export function boundedLogIds(ids: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(ids).map(([k, v]) => [k, boundedLogValue(v)]));
}
