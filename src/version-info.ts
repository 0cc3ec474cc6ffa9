/**
 * `cri-shim --version`: the package version, and the git commit when the install
 * recorded one (hack/install.sh writes COMMIT next to package.json). A checkout run
 * from source has no such file and prints the version alone rather than guess.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageVersion, projectRoot } from './paths.js';

export function versionText(): string {
  let commit = '';
  try {
    commit = readFileSync(join(projectRoot(), 'COMMIT'), 'utf8').trim();
  } catch {
    // not recorded
  }
  const valid = /^[0-9a-f]{7,40}(-dirty)?$/.test(commit);
  return `cri-shim ${packageVersion()}${valid ? ` (commit ${commit.replace(/^([0-9a-f]{12})[0-9a-f]*/, "$1")})` : ''}`;
}
