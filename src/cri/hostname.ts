/**
 * PodSandboxConfig.hostname, checked at the door. The kernel holds at most 64 bytes
 * (runc fails with "sethostname: invalid argument" beyond, after the pause container
 * exists), and the name is written into the pod's /etc/hosts, where a space or a
 * newline would make other entries. Empty is valid: the runtime then uses the node's
 * own hostname, as containerd does.
 */
import { InvalidArgumentError } from '../errors.js';

/** The kernel's limit (__NEW_UTS_LEN). */
export const MAX_HOSTNAME_BYTES = 64;

/** Letters, digits, `-`, `_` and `.`: what host names are made of (RFC 1123, plus the `_` some nodes use). */
const HOSTNAME_CHARS = /^[A-Za-z0-9._-]+$/;

export function podHostname(hostname: string, field: string): string {
  if (hostname === '') return '';
  const bytes = Buffer.byteLength(hostname, 'utf8');
  if (bytes > MAX_HOSTNAME_BYTES) {
    throw new InvalidArgumentError(`${field} is ${bytes} bytes long; a hostname holds at most ${MAX_HOSTNAME_BYTES}`);
  }
  if (!HOSTNAME_CHARS.test(hostname)) {
    throw new InvalidArgumentError(`${field} ${JSON.stringify(hostname)} has characters a hostname cannot hold (only letters, digits, "-", "_" and ".")`);
  }
  return hostname;
}
