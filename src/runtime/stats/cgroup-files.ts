/**
 * Reading cgroup and procfs files. Both cgroup versions write counters as
 * `key value` lines (memory.stat, cpu.stat, cpuacct.stat) or one number per file;
 * v2 writes "max" for "no limit". A missing file means the controller is absent
 * (ENOENT) or the cgroup is gone; callers decide which.
 */
import { readFile } from 'node:fs/promises';

/** `key value` lines → map; lines that are not a key and an unsigned integer are skipped. */
export function parseKeyedCounters(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(\d+)\s*$/.exec(line);
    if (m) out.set(m[1]!, BigInt(m[2]!));
  }
  return out;
}

/** One unsigned integer, or null for v2's "max" (no limit). */
export function parseSingleValue(text: string): bigint | null {
  const t = text.trim();
  if (t === 'max') return null;
  if (!/^\d+$/.test(t)) throw new Error(`not a counter: "${t.slice(0, 40)}"`);
  return BigInt(t);
}

export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ESRCH';
}

/** The file's text, or undefined when it does not exist. */
export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

export async function readKeyed(path: string): Promise<Map<string, bigint> | undefined> {
  const text = await readOptional(path);
  return text === undefined ? undefined : parseKeyedCounters(text);
}

/** undefined: no such file; null: "max". */
export async function readValue(path: string): Promise<bigint | null | undefined> {
  const text = await readOptional(path);
  return text === undefined ? undefined : parseSingleValue(text);
}

/** Lines of a cgroup.procs file: one pid each. */
export function countLines(text: string): bigint {
  return BigInt(text.split('\n').filter((l) => l.trim() !== '').length);
}
