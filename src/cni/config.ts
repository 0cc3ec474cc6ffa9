/**
 * Network configuration files: parsing, envelope validation (ajv), `.conf` → list
 * up-conversion and the conf-dir scan. Every rejection carries a sentence an operator
 * can act on, because it becomes the NetworkReady=false message the kubelet shows.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { locateJsonError } from './json-position.js';
import { unsafeTypeReason } from './plugins.js';
import { SUPPORTED_CNI_VERSIONS, isSupportedVersion, isValidVersion } from './version.js';

/** One plugin object. Keys other than these belong to the plugin and pass through untouched. */
export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A network configuration list as read from disk, before plugins are located. */
export interface NetworkListConf {
  name: string;
  cniVersion?: string;
  cniVersions?: string[];
  disableCheck: boolean;
  disableGC: boolean;
  plugins: PluginConf[];
  /** The list object (a `.conf` already up-converted). */
  raw: Record<string, unknown>;
  /** What the cache records as `config`: the file for a list, the up-converted list for a `.conf`. */
  bytes: Buffer;
}

export type ParseOutcome = { ok: true; list: NetworkListConf } | { ok: false; reason: string };

export type ConfKind = 'list' | 'single';

export const CONF_EXTENSIONS: readonly string[] = ['.conf', '.conflist', '.json'];

/** `.conflist` holds a list; `.conf` and `.json` hold one plugin (libcni's rule). */
export function confKindOf(file: string): ConfKind | undefined {
  const ext = path.extname(file);
  if (ext === '.conflist') return 'list';
  if (ext === '.conf' || ext === '.json') return 'single';
  return undefined;
}

/** libcni's ValidateNetworkName; it also keeps the name safe inside cache file names. */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Far beyond any real config; stops a stray huge file from being read into memory. */
const MAX_CONF_BYTES = 1024 * 1024;

// libcni accepts "true"/"false" strings for these flags, so we do too.
const flagSchema = { type: ['boolean', 'string'] };
const pluginSchema = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string', minLength: 1 },
    capabilities: { type: 'object', additionalProperties: { type: 'boolean' } },
  },
};
const versionFields = {
  cniVersion: { type: 'string' },
  cniVersions: { type: 'array', items: { type: 'string' } },
};
const listSchema = {
  type: 'object',
  required: ['name', 'plugins'],
  properties: {
    name: { type: 'string', minLength: 1 },
    ...versionFields,
    disableCheck: flagSchema,
    disableGC: flagSchema,
    plugins: { type: 'array', minItems: 1, items: pluginSchema },
  },
};
const singleSchema = {
  type: 'object',
  required: ['type', 'name'],
  properties: { ...pluginSchema.properties, name: { type: 'string', minLength: 1 }, ...versionFields },
};

const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
const validators: Record<ConfKind, ValidateFunction> = {
  list: ajv.compile(listSchema),
  single: ajv.compile(singleSchema),
};

/** "/plugins/1/type" → "plugins[1].type" */
function location(instancePath: string): string {
  return instancePath
    .split('/')
    .filter((p) => p !== '')
    .reduce((acc, part) => (/^[0-9]+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

function describeSchemaError(e: ErrorObject): string {
  const where = location(e.instancePath);
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    return `missing "${missing}"${where ? ` in ${where}` : ''}`;
  }
  if (e.keyword === 'minItems' && where === 'plugins') return 'no plugins in "plugins"';
  return `${where ? `"${where}"` : 'config'} ${e.message ?? 'is invalid'}`;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    const at = locateJsonError(text);
    if (at) return { ok: false, reason: `invalid JSON at line ${at.line} column ${at.column}: ${at.reason}` };
    return { ok: false, reason: `invalid JSON: ${(err as Error).message}` };
  }
}

function flag(value: unknown, key: string): boolean | string {
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  const lower = String(value).toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  return `invalid ${key} value ${JSON.stringify(value)} (want true or false)`;
}

/** Up-converts a single-plugin config the way libcni's ConfListFromConf does. */
function upConvert(single: Record<string, unknown>): Record<string, unknown> {
  const list: Record<string, unknown> = { name: single.name };
  if (single.cniVersion !== undefined) list.cniVersion = single.cniVersion;
  if (single.cniVersions !== undefined) list.cniVersions = single.cniVersions;
  list.plugins = [single];
  return list;
}

function versionProblem(cniVersion: string | undefined, cniVersions: string[] | undefined): string | undefined {
  const offered = [...(cniVersions ?? []), ...(cniVersion !== undefined ? [cniVersion] : [])];
  if (offered.length === 0) return 'missing "cniVersion"';
  const malformed = offered.find((v) => !isValidVersion(v));
  if (malformed !== undefined) return `cniVersion ${JSON.stringify(malformed)} is not of the form X.Y.Z`;
  if (!offered.some(isSupportedVersion)) {
    return `cniVersion ${offered.join(', ')} not supported (this runtime supports ${SUPPORTED_CNI_VERSIONS.join(', ')})`;
  }
  return undefined;
}

/** Parses and validates one file's bytes. Plugins are not located here (see resolve.ts). */
export function parseConfig(bytes: Buffer, kind: ConfKind): ParseOutcome {
  if (bytes.length === 0) return { ok: false, reason: 'file is empty' };
  const json = parseJson(bytes.toString('utf8'));
  if (!json.ok) return json;
  const value = json.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'config is not a JSON object' };
  }
  const validate = validators[kind];
  if (!validate(value)) {
    const reasons = (validate.errors ?? []).map(describeSchemaError);
    const hint = kind === 'single' && 'plugins' in value ? ' (a plugin list belongs in a .conflist file)' : '';
    return { ok: false, reason: `${reasons.join('; ')}${hint}` };
  }
  const obj = value as Record<string, unknown>;
  const raw = kind === 'list' ? obj : upConvert(obj);
  return checkList(raw, kind === 'list' ? bytes : Buffer.from(JSON.stringify(raw)));
}

function checkList(raw: Record<string, unknown>, bytes: Buffer): ParseOutcome {
  const name = raw.name as string;
  if (!NETWORK_NAME.test(name)) {
    return { ok: false, reason: `network name ${JSON.stringify(name)} must match ${NETWORK_NAME.source}` };
  }
  const cniVersion = raw.cniVersion as string | undefined;
  const cniVersions = raw.cniVersions as string[] | undefined;
  const vp = versionProblem(cniVersion, cniVersions && cniVersions.length > 0 ? cniVersions : undefined);
  if (vp) return { ok: false, reason: vp };
  const disableCheck = flag(raw.disableCheck, 'disableCheck');
  const disableGC = flag(raw.disableGC, 'disableGC');
  for (const f of [disableCheck, disableGC]) if (typeof f === 'string') return { ok: false, reason: f };
  const plugins = raw.plugins as PluginConf[];
  for (const [i, p] of plugins.entries()) {
    const unsafe = unsafeTypeReason(p.type);
    if (unsafe) return { ok: false, reason: plugins.length > 1 ? `plugins[${i}]: ${unsafe}` : unsafe };
  }
  return {
    ok: true,
    list: {
      name,
      ...(cniVersion !== undefined ? { cniVersion } : {}),
      ...(cniVersions && cniVersions.length > 0 ? { cniVersions } : {}),
      disableCheck: disableCheck as boolean,
      disableGC: disableGC as boolean,
      plugins,
      raw,
      bytes,
    },
  };
}

export interface ConfFile {
  file: string;
  kind: ConfKind;
}

export type ListConfFiles = { ok: true; files: ConfFile[] } | { ok: false; reason: string };

/** Candidate files in lexical (byte) order, the order libcni-based runtimes use. */
export async function listConfFiles(confDir: string): Promise<ListConfFiles> {
  let names: string[];
  try {
    names = await readdir(confDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: true, files: [] };
    return { ok: false, reason: `cannot read ${confDir}: ${(err as Error).message}` };
  }
  const files: ConfFile[] = [];
  for (const name of names.sort(byteOrder)) {
    const kind = confKindOf(name);
    if (kind === undefined) continue;
    const file = path.join(confDir, name);
    try {
      if (!(await stat(file)).isFile()) continue;
    } catch {
      continue; // vanished or dangling symlink: not a candidate
    }
    files.push({ file, kind });
  }
  return { ok: true, files };
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export async function readConfFile(conf: ConfFile): Promise<ParseOutcome> {
  let bytes: Buffer;
  try {
    const st = await stat(conf.file);
    if (st.size > MAX_CONF_BYTES) return { ok: false, reason: `file is larger than ${MAX_CONF_BYTES} bytes` };
    bytes = await readFile(conf.file);
  } catch (err) {
    return { ok: false, reason: `cannot read: ${(err as Error).message}` };
  }
  return parseConfig(bytes, conf.kind);
}
