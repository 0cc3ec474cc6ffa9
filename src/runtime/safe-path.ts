/**
 * Paths we write to that are built from request values: they must stay inside the
 * directory they are meant for. The CRI layer already refuses `..` segments; this is
 * the runtime's own guard at the place the path is made and, for directories that
 * exist, after symlinks are resolved (a `<log_directory>/<container>` that is a
 * symlink to /etc must not make us write there).
 */
import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InvalidArgumentError } from '../errors.js';

/** Is `path` `base` itself or below it (both absolute and normalized)? */
export function isInside(base: string, path: string): boolean {
  const rel = relative(base, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** `base` joined with `rel` (as path.join: a leading `/` stays below); throws when the result is not below `base`. */
export function containedJoin(base: string, rel: string, what: string): string {
  const root = resolve(base);
  const path = resolve(join(root, rel));
  if (path === root || !isInside(root, path)) {
    throw new InvalidArgumentError(`${what} ${JSON.stringify(rel.slice(0, 256))} leads outside ${root}`);
  }
  return path;
}

/** The real path of the nearest existing ancestor of `path` (itself included). */
async function realAncestor(path: string): Promise<string> {
  for (let p = path; ; p = dirname(p)) {
    try {
      return await realpath(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(p) === p) throw err;
    }
  }
}

/**
 * Throws unless the directory `path` will be created in resolves, through symlinks,
 * to somewhere below `base`'s real path. Missing directories are fine: whoever makes
 * them makes real ones.
 */
export async function checkRealParentInside(base: string, path: string, what: string): Promise<void> {
  const [root, parent] = await Promise.all([realAncestor(resolve(base)), realAncestor(dirname(resolve(path)))]);
  if (!isInside(root, parent)) {
    throw new InvalidArgumentError(`${what} ${path} resolves to ${parent}, outside ${root}`);
  }
}
