/**
 * Per-registry mirrors. dockerd mirrors only Docker Hub, so the shim does it
 * itself: a pull of `registry.k8s.io/pause:3.10` with a mirror
 * `http://127.0.0.1:5000` first pulls `127.0.0.1:5000/pause:3.10`. Whether
 * dockerd talks http or https to a mirror is dockerd's choice (its
 * insecure-registries, which include 127.0.0.0/8 by default); the URL's scheme is
 * not sent anywhere. A path in the URL prefixes the repository path.
 */
import type { RegistryFallback } from '../../config.js';
import { InvalidArgumentError } from '../../errors.js';
import { formatReference, parseReference, type ImageReference } from './reference.js';

export interface PullSource {
  /** The mirror URL as configured, or undefined for the origin. */
  mirror?: string;
  /** What dockerd is asked to pull. */
  ref: ImageReference;
}

export interface PullPlan {
  /** Tried in order; the origin last, unless the fallback is `none` (then maybe empty). */
  sources: PullSource[];
  /** The mirrors configured for the host (empty when none). */
  mirrors: string[];
  fallback: RegistryFallback;
}

export interface MirrorConfig {
  registryMirrors: Record<string, string[]>;
  registryFallback: Record<string, RegistryFallback>;
}

/** `ref` as served by `mirrorUrl`: same path (under the URL's path, if any) and tag/digest. */
export function mirrorReference(ref: ImageReference, mirrorUrl: string): ImageReference {
  let url: URL;
  try {
    url = new URL(mirrorUrl);
  } catch {
    throw new InvalidArgumentError(`registry mirror "${mirrorUrl}" is not a URL`);
  }
  const prefix = url.pathname.replace(/^\/+|\/+$/g, '');
  const path = prefix ? `${prefix}/${ref.path}` : ref.path;
  // Re-parse so that a mirror URL that cannot form a valid name fails here, clearly.
  return parseReference(formatReference({ ...ref, domain: url.host, path }));
}

export function fallbackFor(config: MirrorConfig, host: string): RegistryFallback {
  return config.registryFallback[host] ?? config.registryFallback['*'] ?? 'origin';
}

export function pullPlan(ref: ImageReference, config: MirrorConfig): PullPlan {
  const mirrors = config.registryMirrors[ref.domain] ?? [];
  // `none` holds for a host without mirrors too: an operator who turns the origin
  // off (air-gapped node) means "never leave for an origin", not "unless unmirrored".
  const fallback = fallbackFor(config, ref.domain);
  const sources: PullSource[] = mirrors.map((mirror) => ({ mirror, ref: mirrorReference(ref, mirror) }));
  if (fallback === 'origin') sources.push({ ref });
  return { sources, mirrors, fallback };
}
