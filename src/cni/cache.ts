/**
 * The attachment cache, in libcni's layout and format so crictl, cnitool and other
 * runtimes on the node can read it:
 *
 *   <cacheDir>/results/<network>-<containerID>-<ifName>
 *   {"kind":"cniCacheV1","containerId","config":<base64 of the list bytes>,"ifName",
 *    "networkName","netns","cniArgs":[[k,v]…],"capabilityArgs",{…},"result":{…}}
 *
 * Unlike libcni's os.WriteFile, writes go to a temp file that is fsynced and then
 * renamed over the old one, so a crash leaves the old entry or the new one, never a
 * torn file. Temp files live outside results/ so nothing that lists results sees them.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.js';

export const CACHE_KIND = 'cniCacheV1';

export interface CniCacheEntry {
  kind: typeof CACHE_KIND;
  containerId: string;
  /** base64, as Go marshals libcni's []byte. */
  config: string;
  ifName: string;
  networkName: string;
  netns?: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  /**
   * The cri-shim instance that made the attachment. Not a libcni field: Go's decoder
   * (libcni, crictl, other runtimes) ignores unknown keys, so the file stays theirs to read.
   */
  criShimOwner?: string;
  /** Absent while ADD is in flight: we record the attachment before running plugins. */
  result?: Record<string, unknown>;
}

/** Test seam: runs after the temp file is written and fsynced, before the rename. */
export interface CacheWriteHooks {
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

export function resultsDir(cacheDir: string): string {
  return path.join(cacheDir, 'results');
}

function tempDir(cacheDir: string): string {
  return path.join(cacheDir, '.cri-shim-tmp');
}

export function cacheFileName(network: string, containerId: string, ifName: string): string {
  return `${network}-${containerId}-${ifName}`;
}

export function cachePath(cacheDir: string, network: string, containerId: string, ifName: string): string {
  return path.join(resultsDir(cacheDir), cacheFileName(network, containerId, ifName));
}

export async function writeCacheEntry(cacheDir: string, entry: CniCacheEntry, hooks: CacheWriteHooks = {}): Promise<void> {
  const finalPath = cachePath(cacheDir, entry.networkName, entry.containerId, entry.ifName);
  await mkdir(resultsDir(cacheDir), { recursive: true, mode: 0o700 });
  await mkdir(tempDir(cacheDir), { recursive: true, mode: 0o700 });
  const tempPath = path.join(tempDir(cacheDir), `${path.basename(finalPath)}.${process.pid}.${randomBytes(6).toString('hex')}`);
  try {
    const fh = await open(tempPath, 'wx', 0o600);
    try {
      await fh.writeFile(JSON.stringify(entry));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await hooks.beforeRename?.(tempPath);
    await rename(tempPath, finalPath);
  } catch (err) {
    await unlink(tempPath).catch(() => undefined);
    throw err;
  }
  await syncDir(resultsDir(cacheDir));
}

/** The rename itself is only durable once the directory is flushed. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function removeCacheFile(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export type CacheRead =
  | { state: 'ok'; file: string; entry: CniCacheEntry }
  | { state: 'corrupt'; file: string; reason: string };

/** Validates what libcni's cachedInfo requires, plus a config that decodes to JSON. */
export function decodeCacheEntry(text: string): CniCacheEntry | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return text.trim() === '' ? 'file is empty' : `not JSON: ${(err as Error).message}`;
  }
  if (typeof data !== 'object' || data === null) return 'not a JSON object';
  const e = data as Record<string, unknown>;
  if (e.kind !== CACHE_KIND) return `kind is ${JSON.stringify(e.kind)}, not "${CACHE_KIND}"`;
  for (const key of ['containerId', 'ifName', 'networkName', 'config'] as const) {
    if (typeof e[key] !== 'string' || e[key] === '') return `missing "${key}"`;
  }
  if (e.result !== undefined && e.result !== null && typeof e.result !== 'object') return '"result" is not an object';
  if (e.cniArgs !== undefined && e.cniArgs !== null && !isArgPairs(e.cniArgs)) return '"cniArgs" is not a list of pairs';
  if (e.criShimOwner !== undefined && typeof e.criShimOwner !== 'string') delete e.criShimOwner;
  try {
    JSON.parse(Buffer.from(e.config as string, 'base64').toString('utf8'));
  } catch {
    return '"config" is not base64 of a JSON document';
  }
  return data as CniCacheEntry;
}

function isArgPairs(v: unknown): v is [string, string][] {
  return Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && p.every((s) => typeof s === 'string'));
}

async function readOne(file: string): Promise<CacheRead | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { state: 'corrupt', file, reason: `cannot read: ${(err as Error).message}` };
  }
  const decoded = decodeCacheEntry(text);
  return typeof decoded === 'string' ? { state: 'corrupt', file, reason: decoded } : { state: 'ok', file, entry: decoded };
}

/** Every results/ file (whose name passes `accept`), decoded or flagged; missing dir = empty cache. */
export async function readAllCacheEntries(cacheDir: string, accept: (name: string) => boolean = () => true): Promise<CacheRead[]> {
  let names: string[];
  try {
    names = await readdir(resultsDir(cacheDir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: CacheRead[] = [];
  for (const name of names.sort().filter(accept)) {
    const file = path.join(resultsDir(cacheDir), name);
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) continue;
    const read = await readOne(file);
    if (read) out.push(read);
  }
  return out;
}

/**
 * Entries for one container interface, on any network. The network name may itself
 * contain "-", so files are matched by suffix and then by their content, as libcni does.
 * Corrupt files whose name ends in the suffix are returned flagged, for the caller to log.
 */
export async function findCacheEntries(cacheDir: string, containerId: string, ifName: string): Promise<CacheRead[]> {
  const suffix = `-${containerId}-${ifName}`;
  const reads = await readAllCacheEntries(cacheDir, (name) => name.endsWith(suffix) && name.length > suffix.length);
  return reads.filter((r) => r.state === 'corrupt' || (r.entry.containerId === containerId && r.entry.ifName === ifName));
}

export function networkOfCorruptFile(file: string, containerId: string, ifName: string): string {
  const name = path.basename(file);
  return name.slice(0, name.length - `-${containerId}-${ifName}`.length);
}

export function entryConfigBytes(entry: CniCacheEntry): Buffer {
  return Buffer.from(entry.config, 'base64');
}

/** Temp files of writers that died before their rename; only ours live in this dir. */
export async function sweepTempFiles(cacheDir: string, logger: Logger, olderThanMs = 60_000): Promise<void> {
  let names: string[];
  try {
    names = await readdir(tempDir(cacheDir));
  } catch {
    return;
  }
  const now = Date.now();
  for (const name of names) {
    const file = path.join(tempDir(cacheDir), name);
    const st = await stat(file).catch(() => undefined);
    if (st && now - st.mtimeMs >= olderThanMs) {
      await unlink(file).catch(() => undefined);
      logger.info({ file }, 'removed leftover CNI cache temp file');
    }
  }
}
