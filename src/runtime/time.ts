/**
 * CRI timestamps are Unix nanoseconds in int64, which we carry as decimal strings
 * (they exceed 2^53). Docker gives RFC 3339 with up to nanosecond fractions.
 */

let last = 0n;

/**
 * Now, in Unix nanoseconds: the wall clock's milliseconds with sub-millisecond digits
 * from the monotonic clock, never below the previous value (created_at values must not
 * go backwards: the kubelet orders containers by them).
 */
export function nowNs(): string {
  const candidate = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  last = candidate > last ? candidate : last + 1n;
  return last.toString();
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
