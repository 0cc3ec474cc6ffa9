/**
 * A directory of JSON records, one file per id, mirrored in memory. Reads never touch
 * the disk; writes are atomic, so a shim killed mid-write restarts with whole records.
 */
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import type { Logger } from '../logger.js';
import { writeFileAtomic } from './atomic-file.js';

export class JsonStore<T extends { id: string }> {
  private readonly records = new Map<string, T>();

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  /** Loads every record from disk; unreadable files are logged and skipped. */
  async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (const record of await readJsonRecords<T>(this.dir, this.logger)) this.records.set(record.id, record);
  }

  get(id: string): T | undefined {
    return this.records.get(id);
  }

  list(): T[] {
    return [...this.records.values()];
  }

  async put(record: T): Promise<void> {
    await writeFileAtomic(join(this.dir, `${record.id}.json`), JSON.stringify(record, null, 2));
    this.records.set(record.id, record);
  }

  async delete(id: string): Promise<void> {
    this.records.delete(id);
    await unlink(join(this.dir, `${id}.json`)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /**
   * Resolves a full id or a unique prefix, as crictl lets users type. Undefined when
   * nothing matches; throws when the prefix is ambiguous.
   */
  resolve(idOrPrefix: string): T | undefined {
    const exact = this.records.get(idOrPrefix);
    if (exact || !idOrPrefix) return exact;
    const matches = this.list().filter((r) => r.id.startsWith(idOrPrefix));
    if (matches.length > 1) throw new AmbiguousIdError(idOrPrefix, matches.length);
    return matches[0];
  }
}

/**
 * The records of a store's directory, read without creating it (none when it does not
 * exist): what JsonStore.load uses, and what read-only tools (`explain`) use on a
 * state dir they must not change. Unreadable files are logged and skipped.
 */
export async function readJsonRecords<T>(dir: string, logger: Logger): Promise<T[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const records: T[] = [];
  for (const name of names) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    try {
      records.push(JSON.parse(await readFile(join(dir, name), 'utf8')) as T);
    } catch (err) {
      logger.warn({ file: join(dir, name), err: (err as Error).message }, 'skipping unreadable state file');
    }
  }
  return records;
}

export class AmbiguousIdError extends InvalidArgumentError {
  constructor(prefix: string, count: number) {
    super(`id prefix "${prefix}" matches ${count} objects`);
  }
}
