/**
 * Which network a conf dir gives: the first file in lexical order that parses and
 * whose plugins resolve, as libcni-based runtimes choose. The engine loads it and
 * `doctor` reports on it, so both always name the same file.
 */
import { listConfFiles, readConfFile, type NetworkListConf } from './config.js';
import { resolveNetwork, type ResolveContext, type ResolvedNetwork } from './resolve.js';
import type { CniRejectedFile } from './types.js';

export interface ConfDirScan {
  /** The network the shim uses; absent when no file is valid. */
  chosen?: { network: ResolvedNetwork; file: string };
  /** Files before the chosen one (or all of them), with why each was skipped. */
  rejected: CniRejectedFile[];
  /** The first file that parsed, valid or not: what an operator most likely meant to use. */
  firstParsed?: { file: string; list: NetworkListConf };
  /** Why the conf dir itself could not be read. */
  dirError?: string;
}

export async function scanConfDir(confDir: string, ctx: ResolveContext): Promise<ConfDirScan> {
  const listed = await listConfFiles(confDir);
  if (!listed.ok) return { rejected: [], dirError: listed.reason };
  const rejected: CniRejectedFile[] = [];
  let firstParsed: ConfDirScan['firstParsed'];
  for (const conf of listed.files) {
    const parsed = await readConfFile(conf);
    if (!parsed.ok) {
      rejected.push({ file: conf.file, reason: parsed.reason });
      continue;
    }
    firstParsed ??= { file: conf.file, list: parsed.list };
    const resolved = await resolveNetwork(parsed.list, ctx);
    if (!resolved.ok) {
      rejected.push({ file: conf.file, reason: resolved.reason });
      continue;
    }
    return { chosen: { network: resolved.network, file: conf.file }, rejected, firstParsed };
  }
  return { rejected, ...(firstParsed ? { firstParsed } : {}) };
}
