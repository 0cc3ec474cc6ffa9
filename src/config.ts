/**
 * Shim configuration: defaults, a JSON config file (validated by ajv so that every
 * error names the bad field) and command-line flags, merged in that order.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Ajv, type ErrorObject } from 'ajv';
import { InvalidArgumentError } from './errors.js';

export type RegistryFallback = 'origin' | 'none';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface ShimConfig {
  /** gRPC endpoint, `unix:///path`. */
  listen: string;
  /** dockerd's socket, a path or `unix:///path`. */
  dockerEndpoint: string;
  cniConfDir: string;
  cniBinDirs: string[];
  cniCacheDir: string;
  /** Per-call limit for one CNI plugin execution. */
  cniPluginTimeoutMs: number;
  stateDir: string;
  pauseImage: string;
  streamingAddress: string;
  /** `HOST:PORT` of the Prometheus endpoint (`/metrics`); no endpoint when unset. */
  metricsAddress?: string;
  /** Registry host → mirror base URLs tried in order before the origin. */
  registryMirrors: Record<string, string[]>;
  /** Registry host → what to do when no mirror serves a pull; `*` is the default. */
  registryFallback: Record<string, RegistryFallback>;
  logLevel: LogLevel;
}

export const DEFAULT_CONFIG: Readonly<ShimConfig> = Object.freeze<ShimConfig>({
  listen: 'unix:///run/cri-shim/cri-shim.sock',
  dockerEndpoint: '/var/run/docker.sock',
  cniConfDir: '/etc/cni/net.d',
  cniBinDirs: ['/opt/cni/bin', '/usr/lib/cni'],
  cniCacheDir: '/var/lib/cni',
  cniPluginTimeoutMs: 60_000,
  stateDir: '/var/lib/cri-shim',
  pauseImage: 'localhost/cri-shim/pause:1.0',
  streamingAddress: '127.0.0.1:0',
  registryMirrors: {},
  registryFallback: { '*': 'origin' },
  logLevel: 'info',
});

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const FALLBACKS: RegistryFallback[] = ['origin', 'none'];
/** `HOST:PORT` or `[V6]:PORT`, a host always given (binding every interface must be said: 0.0.0.0), port 0–65535. */
const HOST_PORT_PATTERN =
  '^(\\[[0-9A-Fa-f:.]+\\]|[^\\s:\\[\\]/]+):([0-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$';

/** Schema of the config file: every key optional, nothing unknown allowed. */
const FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    listen: { type: 'string', pattern: '^unix://' },
    dockerEndpoint: { type: 'string', minLength: 1 },
    cniConfDir: { type: 'string', minLength: 1 },
    cniBinDirs: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
    cniCacheDir: { type: 'string', minLength: 1 },
    cniPluginTimeoutMs: { type: 'integer', minimum: 1 },
    stateDir: { type: 'string', minLength: 1 },
    pauseImage: { type: 'string', minLength: 1 },
    streamingAddress: { type: 'string', pattern: '^[^:]*:[0-9]+$' },
    metricsAddress: { type: 'string', pattern: HOST_PORT_PATTERN },
    registryMirrors: {
      type: 'object',
      additionalProperties: { type: 'array', items: { type: 'string', pattern: '^https?://' } },
    },
    registryFallback: {
      oneOf: [
        { type: 'string', enum: FALLBACKS },
        { type: 'object', additionalProperties: { type: 'string', enum: FALLBACKS } },
      ],
    },
    logLevel: { type: 'string', enum: LOG_LEVELS },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true });
const validateFile = ajv.compile(FILE_SCHEMA);

function describeAjvError(e: ErrorObject): string {
  const field = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '';
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    return `${field ? field + '.' : ''}${extra}: unknown field`;
  }
  return `${field || '(root)'}: ${e.message ?? 'invalid'}`;
}

/** Validates a parsed config file; throws InvalidArgumentError naming every bad field. */
export function validateConfigFile(value: unknown, source = 'config'): Partial<ShimConfig> {
  if (!validateFile(value)) {
    const reasons = [...new Set((validateFile.errors ?? []).map(describeAjvError))];
    throw new InvalidArgumentError(`${source}: ${reasons.join('; ')}`);
  }
  const v = value as Partial<Omit<ShimConfig, 'registryFallback'>> & { registryFallback?: unknown };
  const { registryFallback, ...rest } = v;
  const out: Partial<ShimConfig> = { ...rest };
  if (typeof registryFallback === 'string') out.registryFallback = { '*': registryFallback as RegistryFallback };
  else if (registryFallback) out.registryFallback = registryFallback as Record<string, RegistryFallback>;
  return out;
}

export const FLAG_HELP: Array<{ flag: string; key: keyof ShimConfig | 'config' | 'help'; help: string }> = [
  { flag: '--config FILE', key: 'config', help: 'JSON config file; its keys are the camelCase flag names' },
  { flag: '--listen URL', key: 'listen', help: 'gRPC endpoint (unix://path)' },
  { flag: '--docker-endpoint PATH', key: 'dockerEndpoint', help: "dockerd's Unix socket" },
  { flag: '--cni-conf-dir DIR', key: 'cniConfDir', help: 'CNI network configs (.conflist/.conf/.json)' },
  { flag: '--cni-bin-dir DIR', key: 'cniBinDirs', help: 'CNI plugin directory (repeatable)' },
  { flag: '--cni-cache-dir DIR', key: 'cniCacheDir', help: 'CNI result cache (libcni layout)' },
  { flag: '--cni-plugin-timeout-ms N', key: 'cniPluginTimeoutMs', help: 'limit for one CNI plugin call' },
  { flag: '--state-dir DIR', key: 'stateDir', help: 'sandbox and container state' },
  { flag: '--pause-image REF', key: 'pauseImage', help: 'image of the pause container' },
  { flag: '--streaming-address HOST:PORT', key: 'streamingAddress', help: 'exec/attach/port-forward server' },
  { flag: '--metrics-address HOST:PORT', key: 'metricsAddress', help: 'serve Prometheus metrics at /metrics there [off]' },
  { flag: '--registry-mirror HOST=URL', key: 'registryMirrors', help: 'mirror for a registry host (repeatable)' },
  { flag: '--registry-fallback origin|none', key: 'registryFallback', help: 'pull from the origin when no mirror serves' },
  { flag: '--log-level LEVEL', key: 'logLevel', help: LOG_LEVELS.join('|') },
  { flag: '--print-socket', key: 'help', help: 'print the socket path and exit' },
  { flag: '--help', key: 'help', help: 'this text' },
];

export function helpText(): string {
  const lines = ['Usage: cri-shim [flags]', '', 'Flags (defaults in brackets):'];
  for (const f of FLAG_HELP) {
    const def = f.key in DEFAULT_CONFIG ? JSON.stringify(DEFAULT_CONFIG[f.key as keyof ShimConfig]) : '';
    lines.push(`  ${f.flag.padEnd(34)} ${f.help}${def ? ` [${def}]` : ''}`);
  }
  return lines.join('\n');
}

export interface CliResult {
  help: boolean;
  /** Print the socket path the config resolves to and exit (used by hack/run-shim.sh). */
  printSocket: boolean;
  config: ShimConfig;
}

function parseMirror(spec: string): [string, string] {
  const eq = spec.indexOf('=');
  const host = spec.slice(0, eq);
  const url = spec.slice(eq + 1);
  if (eq <= 0 || !/^https?:\/\/\S+$/.test(url)) {
    throw new InvalidArgumentError(`--registry-mirror: expected HOST=http(s)://URL, got "${spec}"`);
  }
  return [host, url];
}

/** Parses argv (without node and script), reading --config if given. */
export function parseCli(argv: string[], readFile: (p: string) => string = (p) => readFileSync(p, 'utf8')): CliResult {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      config: { type: 'string' },
      listen: { type: 'string' },
      'docker-endpoint': { type: 'string' },
      'cni-conf-dir': { type: 'string' },
      'cni-bin-dir': { type: 'string', multiple: true },
      'cni-cache-dir': { type: 'string' },
      'cni-plugin-timeout-ms': { type: 'string' },
      'state-dir': { type: 'string' },
      'pause-image': { type: 'string' },
      'streaming-address': { type: 'string' },
      'metrics-address': { type: 'string' },
      'registry-mirror': { type: 'string', multiple: true },
      'registry-fallback': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean' },
      'print-socket': { type: 'boolean' },
    },
  });
  let fromFile: Partial<ShimConfig> = {};
  if (values.config) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFile(values.config));
    } catch (err) {
      throw new InvalidArgumentError(`--config ${values.config}: ${(err as Error).message}`);
    }
    fromFile = validateConfigFile(parsed, values.config);
  }
  // Flags go through the same schema as the file, so they get the same checks.
  const flags: Record<string, unknown> = {};
  if (values.listen !== undefined) flags.listen = values.listen;
  if (values['docker-endpoint'] !== undefined) flags.dockerEndpoint = values['docker-endpoint'];
  if (values['cni-conf-dir'] !== undefined) flags.cniConfDir = values['cni-conf-dir'];
  if (values['cni-bin-dir'] !== undefined) flags.cniBinDirs = values['cni-bin-dir'];
  if (values['cni-cache-dir'] !== undefined) flags.cniCacheDir = values['cni-cache-dir'];
  if (values['cni-plugin-timeout-ms'] !== undefined) flags.cniPluginTimeoutMs = Number(values['cni-plugin-timeout-ms']);
  if (values['state-dir'] !== undefined) flags.stateDir = values['state-dir'];
  if (values['pause-image'] !== undefined) flags.pauseImage = values['pause-image'];
  if (values['streaming-address'] !== undefined) flags.streamingAddress = values['streaming-address'];
  if (values['metrics-address'] !== undefined) flags.metricsAddress = values['metrics-address'];
  if (values['registry-fallback'] !== undefined) flags.registryFallback = values['registry-fallback'];
  if (values['log-level'] !== undefined) flags.logLevel = values['log-level'];
  if (values['registry-mirror'] !== undefined) {
    const mirrors: Record<string, string[]> = {};
    for (const [host, url] of values['registry-mirror'].map(parseMirror)) (mirrors[host] ??= []).push(url);
    flags.registryMirrors = mirrors;
  }
  const fromFlags = validateConfigFile(flags, 'flags');
  return { help: values.help === true, printSocket: values['print-socket'] === true, config: mergeConfig(fromFile, fromFlags) };
}

export function mergeConfig(...layers: Array<Partial<ShimConfig>>): ShimConfig {
  const out: ShimConfig = structuredClone({ ...DEFAULT_CONFIG }) as ShimConfig;
  for (const layer of layers) {
    const { registryMirrors, registryFallback, ...rest } = layer;
    Object.assign(out, rest);
    if (registryMirrors) out.registryMirrors = { ...out.registryMirrors, ...registryMirrors };
    if (registryFallback) out.registryFallback = { ...out.registryFallback, ...registryFallback };
  }
  return out;
}

/** `unix:///run/x.sock` → `/run/x.sock`. */
export function unixPath(endpoint: string): string {
  return endpoint.startsWith('unix://') ? endpoint.slice('unix://'.length) : endpoint;
}
