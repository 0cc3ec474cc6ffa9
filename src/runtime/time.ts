/**
 * CRI timestamps are Unix nanoseconds in int64, which we carry as decimal strings
 * (they exceed 2^53). Docker gives RFC 3339 with up to nanosecond fractions.
 */

/** Now, in Unix nanoseconds. */
export function nowNs(): string {
  const ms = BigInt(Date.now());
  const subMs = process.hrtime.bigint() % 1_000_000n;
  return (ms * 1_000_000n + subMs).toString();
}

/** `2024-05-01T10:00:00.123456789Z` → ns string; zero/absent time → '0'. */
export function rfc3339ToNs(value: string | undefined): string {
  if (!value || value.startsWith('0001-01-01')) return '0';
  const m = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(value);
  if (!m) return '0';
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(seconds)) return '0';
  const fraction = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  return (BigInt(seconds) * 1_000_000n + BigInt(fraction)).toString();
}
