/**
 * CNI spec versions: comparison, what this engine speaks, and negotiation for
 * configurations that list several (`cniVersions`, SPEC 1.1).
 */

/** Every spec version whose configs and results this engine understands, oldest first. */
export const SUPPORTED_CNI_VERSIONS: readonly string[] = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

export const LATEST_CNI_VERSION = '1.1.0';

const SEMVER = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/;

export function isValidVersion(version: string): boolean {
  return SEMVER.test(version);
}

function parts(version: string): [number, number, number] {
  const m = SEMVER.exec(version);
  if (!m) throw new Error(`"${version}" is not a version of the form X.Y.Z`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Negative, zero or positive like a sort comparator. */
export function compareVersions(a: string, b: string): number {
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] as number) - (pb[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

export function versionAtLeast(version: string, minimum: string): boolean {
  return compareVersions(version, minimum) >= 0;
}

export function isSupportedVersion(version: string): boolean {
  return SUPPORTED_CNI_VERSIONS.includes(version);
}

/** What one plugin said to VERSION, for the negotiation report. */
export interface PluginVersions {
  plugin: string;
  versions: readonly string[];
}

export type Negotiation = { ok: true; version: string } | { ok: false; reason: string };

/**
 * The highest version offered by the config that this engine and every plugin in
 * the list support. SPEC 1.1 asks the runtime for the highest common version; a
 * plugin that cannot speak it would reject the call with code 1 anyway.
 */
export function negotiateVersion(offered: readonly string[], plugins: readonly PluginVersions[]): Negotiation {
  const candidates = offered
    .filter((v) => isValidVersion(v) && isSupportedVersion(v))
    .filter((v) => plugins.every((p) => p.versions.includes(v)))
    .sort(compareVersions);
  const best = candidates[candidates.length - 1];
  if (best !== undefined) return { ok: true, version: best };
  const pluginText = plugins.map((p) => `${p.plugin} supports [${p.versions.join(', ')}]`).join('; ');
  return {
    ok: false,
    reason:
      `no CNI version in common: config offers [${offered.join(', ')}], ` +
      `this runtime supports [${SUPPORTED_CNI_VERSIONS.join(', ')}]` +
      (pluginText ? `, ${pluginText}` : ''),
  };
}

/**
 * Reads a VERSION answer ({cniVersion, supportedVersions}). Pre-0.2 plugins answer
 * with just a cniVersion; treat that as the only version they speak.
 */
export function parseVersionAnswer(stdout: string): string[] {
  let data: unknown;
  try {
    data = JSON.parse(stdout);
  } catch {
    throw new Error(`VERSION answer is not JSON: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  if (typeof data !== 'object' || data === null) throw new Error('VERSION answer is not a JSON object');
  const answer = data as { cniVersion?: unknown; supportedVersions?: unknown };
  if (Array.isArray(answer.supportedVersions)) {
    return answer.supportedVersions.filter((v): v is string => typeof v === 'string');
  }
  if (typeof answer.cniVersion === 'string' && answer.cniVersion !== '') return [answer.cniVersion];
  throw new Error('VERSION answer has neither supportedVersions nor cniVersion');
}

/** What skel-based plugins too old for VERSION print (pkg/invoke treats it as 0.1.0-only). */
export const UNKNOWN_VERSION_COMMAND = 'unknown CNI_COMMAND: VERSION';
