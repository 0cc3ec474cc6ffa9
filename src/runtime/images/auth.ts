/**
 * Registry credentials of one pull, and their translation into Docker's
 * X-Registry-Auth object. Nothing here logs: these values only travel in that
 * header (and the logger redacts the fields by name should one slip into a line).
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../../errors.js';

/** What the CRI's AuthConfig carries, with the protobuf defaults ('') left out. */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** base64 of `username:password`, as in a docker config.json. */
  auth?: string;
  /** Registry the kubelet matched these credentials to (`registry.k8s.io`, `https://host/v1/`). */
  serverAddress?: string;
  identityToken?: string;
  registryToken?: string;
}

/** Docker's AuthConfig JSON (api/types.AuthConfig). */
export interface DockerAuthConfig {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/**
 * dockerd never decodes the `auth` field itself (the docker CLI does that when it
 * reads config.json), so a kubelet that sends only `auth` would pull anonymously:
 * we split it into username and password.
 */
export function toDockerAuth(creds: RegistryCredentials | undefined): DockerAuthConfig | undefined {
  if (!creds) return undefined;
  let { username, password } = creds;
  if (creds.auth && !(username && password)) {
    const decoded = Buffer.from(creds.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new InvalidArgumentError('auth.auth: not base64 of "username:password"');
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  const out: DockerAuthConfig = {};
  if (username) out.username = username;
  if (password) out.password = password;
  if (creds.serverAddress) out.serveraddress = creds.serverAddress;
  if (creds.identityToken) out.identitytoken = creds.identityToken;
  if (creds.registryToken) out.registrytoken = creds.registryToken;
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The registry host `serverAddress` names (`https://index.docker.io/v1/` →
 * `index.docker.io`), or undefined when none is set.
 */
export function serverHost(creds: RegistryCredentials | undefined): string | undefined {
  const addr = creds?.serverAddress;
  if (!addr) return undefined;
  try {
    return new URL(addr.includes('://') ? addr : `https://${addr}`).host;
  } catch {
    return addr;
  }
}

/**
 * A one-way fingerprint of the credentials, so that two pulls share one Docker pull
 * only when they authenticate alike: a caller with wrong (or no) credentials must
 * not receive an image that someone else's credentials fetched.
 */
export function credentialsFingerprint(creds: RegistryCredentials | undefined): string {
  const auth = toDockerAuth(creds);
  if (!auth) return 'anonymous';
  return createHash('sha256').update(JSON.stringify(auth)).digest('hex').slice(0, 16);
}
