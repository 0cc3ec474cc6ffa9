/**
 * Image references, parsed and normalized the way the kubelet, containerd and
 * dockerd do it (distribution's `reference.ParseNormalizedNamed` grammar):
 * `busybox` → `docker.io/library/busybox:latest`, `localhost:5000/x` keeps its
 * host, a digest wins over a tag. Normalizing ourselves lets us find the registry
 * host (for mirrors) and reject a malformed name before dockerd sees it.
 */
import { InvalidArgumentError } from '../../errors.js';

export interface ImageReference {
  /** Registry host with optional port: `docker.io`, `registry.k8s.io`, `127.0.0.1:5000`. */
  domain: string;
  /** Repository path inside the registry: `library/busybox`, `pause`. */
  path: string;
  /** Set when `digest` is not: a digest pins content, so a tag beside it says nothing. */
  tag?: string;
  /** `sha256:<64 hex>` (or sha384/sha512). */
  digest?: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
const NAME_TOTAL_MAX = 255;

// The grammar of github.com/distribution/reference (regexp.go).
const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`;
const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_RE = new RegExp(`^${DOMAIN}$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const IMAGE_ID_RE = /^sha256:[0-9a-f]{64}$/;
const HEX64_RE = /^[0-9a-f]{64}$/;

/** A Docker image id (`sha256:<64 hex>`), as opposed to a name. */
export function isImageId(s: string): boolean {
  return IMAGE_ID_RE.test(s);
}

function invalid(ref: string, why: string): never {
  throw new InvalidArgumentError(`invalid image reference "${ref}": ${why}`);
}

function checkDigest(ref: string, digest: string): void {
  if (!DIGEST_RE.test(digest)) invalid(ref, `malformed digest "${digest}"`);
  const [algorithm, hex] = digest.split(':') as [string, string];
  const want = DIGEST_HEX_LENGTH[algorithm];
  if (want === undefined) invalid(ref, `unsupported digest algorithm "${algorithm}"`);
  if (hex.length !== want || hex !== hex.toLowerCase()) invalid(ref, `digest must be ${want} lowercase hex characters`);
}

/**
 * A first component is a registry host only if it looks like one (a dot, a port,
 * or `localhost`); otherwise `foo/bar` is the Docker Hub repository `foo/bar`.
 * Newer distribution/reference releases also take an upper-case first component
 * for a host; dockerd 20.10, which resolves every name we hand it, does not (it
 * answers "repository name must be lowercase"), so neither do we.
 */
function splitDomain(name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  let domain: string;
  let path: string;
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost')) {
    domain = DEFAULT_DOMAIN;
    path = name;
  } else {
    domain = first;
    path = name.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  return { domain, path };
}

/** Parses and normalizes `ref`; throws InvalidArgumentError naming what is wrong. */
export function parseReference(ref: string): ImageReference {
  if (typeof ref !== 'string' || ref.length === 0) invalid(String(ref), 'empty');
  if (ref !== ref.trim() || /\s/.test(ref)) invalid(ref, 'contains white space');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    checkDigest(ref, digest);
  }
  // A tag is what follows the last colon, unless a slash follows it (then it was a port).
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon !== -1 && !rest.slice(colon + 1).includes('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) invalid(ref, `malformed tag "${tag}"`);
  }
  if (rest.length === 0) invalid(ref, 'no repository name');
  if (HEX64_RE.test(rest)) invalid(ref, 'a 64-character hex string is an image id, not a repository name');
  const { domain, path } = splitDomain(rest);
  if (!DOMAIN_RE.test(domain)) invalid(ref, `malformed registry host "${domain}"`);
  if (!PATH_RE.test(path)) {
    invalid(ref, path.toLowerCase() !== path ? 'repository name must be lowercase' : `malformed repository path "${path}"`);
  }
  const name = `${domain}/${path}`;
  if (name.length > NAME_TOTAL_MAX) invalid(ref, `repository name longer than ${NAME_TOTAL_MAX} characters`);
  return digest ? { domain, path, digest } : { domain, path, tag: tag ?? DEFAULT_TAG };
}

/** `docker.io/library/busybox` */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The canonical string: `docker.io/library/busybox:latest` or `host/path@sha256:…`. */
export function formatReference(ref: ImageReference): string {
  return ref.digest ? `${repositoryName(ref)}@${ref.digest}` : `${repositoryName(ref)}:${ref.tag ?? DEFAULT_TAG}`;
}

/** Normalizes `ref` to its canonical string (throws InvalidArgumentError). */
export function normalizeReference(ref: string): string {
  return formatReference(parseReference(ref));
}

/**
 * Docker reports names in its short "familiar" form (`busybox:latest`); the CRI
 * answers carry the same full names a pull accepts, as containerd does. Names
 * Docker prints that do not parse (`<none>:<none>`) yield undefined.
 */
export function normalizeDockerName(name: string): string | undefined {
  if (name.startsWith('<none>')) return undefined;
  try {
    return normalizeReference(name);
  } catch {
    return undefined;
  }
}
