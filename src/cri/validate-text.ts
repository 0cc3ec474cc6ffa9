/**
 * Rules for request strings that end up somewhere with a syntax of its own: a line of a
 * file (/etc/hosts, resolv.conf), an environment variable of a CNI plugin (CNI_ARGS), a
 * path. A control character there adds lines or cuts values in two; CNI_ARGS is
 * `K=V;K=V`, so `;` and `=` inside a value make the plugins refuse it (ADD *and* DEL,
 * which would leave a pod no Stop can clear). These checks run before anything exists.
 */
import { InvalidArgumentError } from '../errors.js';

/** C0 controls (newline, NUL, …), DEL and the C1 controls. */
const CONTROL_CHAR = /[\u0000-\u001f\u007f-\u009f]/;
const WHITE_SPACE = /\s/;
/** How much of a refused value a message quotes: enough to recognise it, never a whole payload. */
const QUOTE_MAX = 64;

/** `value` as JSON (control characters escaped), cut to QUOTE_MAX characters. */
export function quote(value: string): string {
  const cut = value.length > QUOTE_MAX ? `${value.slice(0, QUOTE_MAX)}…` : value;
  return JSON.stringify(cut);
}

/** The first control character of `value` as `"\n" (U+000A)`, or undefined. */
function firstControlChar(value: string): string | undefined {
  const m = CONTROL_CHAR.exec(value);
  if (!m) return undefined;
  const code = m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
  return `${JSON.stringify(m[0])} (U+${code})`;
}

export function refuseControlChars(value: string, field: string): string {
  const c = firstControlChar(value);
  if (c) throw new InvalidArgumentError(`${field} must not contain control characters, found ${c} in ${quote(value)}`);
  return value;
}

/** One whitespace-separated token of a file line (a resolv.conf search domain or option). */
export function fileToken(value: string, field: string): string {
  refuseControlChars(value, field);
  if (value === '') throw new InvalidArgumentError(`${field} must not be empty`);
  if (WHITE_SPACE.test(value)) throw new InvalidArgumentError(`${field} must be one word, got ${quote(value)}`);
  return value;
}

/**
 * The longest name, namespace or uid we take: a DNS subdomain's 253, what the API server
 * allows. The values go into Docker names (a URL query), labels and plugin environments.
 */
export const MAX_NAME_BYTES = 253;

/** A value passed to CNI plugins in CNI_ARGS (`K8S_POD_NAME=<value>;…`). */
export function cniArgValue(value: string, field: string): string {
  refuseControlChars(value, field);
  const bytes = Buffer.byteLength(value);
  if (bytes > MAX_NAME_BYTES) throw new InvalidArgumentError(`${field} is ${bytes} bytes long; at most ${MAX_NAME_BYTES} are accepted`);
  for (const c of [';', '=']) {
    if (value.includes(c)) {
      throw new InvalidArgumentError(`${field} must not contain "${c}": CNI plugins cannot carry it in CNI_ARGS, got ${quote(value)}`);
    }
  }
  return value;
}

/** Does `path` (either separator style) have a `..` segment? */
export function hasDotDotSegment(path: string): boolean {
  return path.split('/').includes('..');
}

/** A path we write under or hand to the kernel: no control characters and no `..` segment. */
export function pathWithoutDotDot(path: string, field: string): string {
  refuseControlChars(path, field);
  if (hasDotDotSegment(path)) throw new InvalidArgumentError(`${field} must not contain ".." segments, got ${quote(path)}`);
  return path;
}

/**
 * Total bytes of a string map's keys and values. Labels and annotations travel as Docker
 * labels: they are in every list and inspect answer of the container (and in its
 * state file), so a huge map slows every relist. 512 KiB is twice what the API server
 * lets a pod's annotations hold (256 KiB).
 */
export const MAX_MAP_BYTES = 512 * 1024;

export function boundedMap(map: Record<string, string>, field: string): Record<string, string> {
  let bytes = 0;
  for (const [k, v] of Object.entries(map)) bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  if (bytes > MAX_MAP_BYTES) {
    throw new InvalidArgumentError(`${field} holds ${bytes} bytes of keys and values; at most ${MAX_MAP_BYTES} are accepted`);
  }
  return map;
}
