/**
 * The longest status message we send. Messages echo request values (an id, a path, an
 * image name); grpc-js sends the message percent-encoded in the `grpc-message` trailer,
 * and a trailer bigger than the client's header list limit is never delivered: a
 * NOT_FOUND for a 100,000-character id left the call hanging until its deadline.
 */
export const MAX_DETAILS_CHARS = 2048;

/** `details` cut to MAX_DETAILS_CHARS, saying how much was left out. */
export function capDetails(details: string): string {
  if (details.length <= MAX_DETAILS_CHARS) return details;
  const omitted = details.length - MAX_DETAILS_CHARS;
  return `${details.slice(0, MAX_DETAILS_CHARS)}… (${omitted} more characters)`;
}
