/**
 * Finding plugin executables. A config's `type` names an executable in the bin dirs
 * and nothing else: a path would let whoever writes /etc/cni/net.d make the shim
 * (root) run any file on the node.
 */
import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';

/** Why `type` is not a bare executable name, or undefined when it is one. */
export function unsafeTypeReason(type: string): string | undefined {
  if (type === '') return 'plugin type is empty';
  if (type.includes('\0')) return `plugin type ${JSON.stringify(type)} contains a NUL byte`;
  if (type.includes('/')) return `plugin type ${JSON.stringify(type)} contains "/": it must be a bare executable name`;
  if (type.includes('..')) return `plugin type ${JSON.stringify(type)} contains "..": it must be a bare executable name`;
  return undefined;
}

/** First executable regular file named `type` in the bin dirs, in their order (like $PATH). */
export async function findPlugin(type: string, binDirs: readonly string[]): Promise<string | undefined> {
  if (unsafeTypeReason(type) !== undefined) return undefined;
  for (const dir of binDirs) {
    const candidate = path.join(dir, type);
    try {
      const st = await stat(candidate);
      if (!st.isFile()) continue;
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // missing or not executable here: keep looking in the next dir
    }
  }
  return undefined;
}

export function notFoundReason(type: string, binDirs: readonly string[]): string {
  return `plugin "${type}" not found in ${binDirs.join(':')}`;
}
