/**
 * CRI ImageService messages ↔ the image domain (src/runtime/images): request
 * fields validated and unwrapped, domain records turned into runtime.v1 objects
 * in the proto-loader shape (snake_case, int64/uint64 as decimal strings, unset
 * messages null).
 */
import { InvalidArgumentError } from '../errors.js';
import type { RegistryCredentials } from '../runtime/images/auth.js';
import type { FsUsage } from '../runtime/images/fs-usage.js';
import type { ImageDetails, ImageRecord } from '../runtime/images/records.js';
import type { AuthConfig__Output, FilesystemUsage, Image, ImageSpec__Output } from './proto.js';

/** `image.image` of a request, which every image RPC but ListImages requires. */
export function requiredImage(spec: ImageSpec__Output | null | undefined, field = 'image.image'): string {
  const image = spec?.image ?? '';
  if (image === '') throw new InvalidArgumentError(`${field} is required`);
  return image;
}

/** The CRI AuthConfig without its '' defaults; undefined when it carries nothing. */
export function credentialsFromCri(auth: AuthConfig__Output | null | undefined): RegistryCredentials | undefined {
  if (!auth) return undefined;
  const creds: RegistryCredentials = {};
  if (auth.username) creds.username = auth.username;
  if (auth.password) creds.password = auth.password;
  if (auth.auth) creds.auth = auth.auth;
  if (auth.server_address) creds.serverAddress = auth.server_address;
  if (auth.identity_token) creds.identityToken = auth.identity_token;
  if (auth.registry_token) creds.registryToken = auth.registry_token;
  return Object.keys(creds).length > 0 ? creds : undefined;
}

export function imageToCri(r: ImageRecord): Image {
  return {
    id: r.id,
    repo_tags: r.repoTags,
    repo_digests: r.repoDigests,
    size: String(r.size),
    uid: r.user.uid !== undefined ? { value: String(r.user.uid) } : null,
    username: r.user.username ?? '',
    pinned: r.pinned,
  };
}

/**
 * ImageStatus' verbose `info`: crictl inspecti parses every value as JSON, so the
 * one key holds a JSON document (containerd uses the same key).
 */
export function imageInfoToCri(r: ImageRecord, d: ImageDetails): Record<string, string> {
  return { info: JSON.stringify({ id: r.id, repoTags: r.repoTags, repoDigests: r.repoDigests, size: r.size, ...d }) };
}

export function fsUsageToCri(u: FsUsage): FilesystemUsage {
  return {
    timestamp: u.timestampNs.toString(),
    fs_id: { mountpoint: u.mountpoint },
    used_bytes: { value: String(u.usedBytes) },
    inodes_used: { value: String(u.inodesUsed) },
  };
}
