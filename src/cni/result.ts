/**
 * Plugin results of every spec version in one typed model, and the reverse: a model
 * encoded for a given version, because prevResult must be in the version of the
 * config the next plugin receives (SPEC section 3, ADD of a list; libcni converts the same way).
 *
 * 0.1.0/0.2.0: {ip4: {ip, gateway, routes}, ip6: …, dns}
 * 0.3.x/0.4.0: {interfaces, ips: [{version, address, gateway, interface}], routes, dns}
 * 1.0.0:       as 0.4.0 without ips[].version
 * 1.1.0:       adds interface mtu/socketPath/pciID and route mtu/advmss/priority/table/scope
 */
import { CniResultError } from './errors.js';
import { compareVersions, isSupportedVersion, versionAtLeast } from './version.js';

export interface CniInterface {
  name: string;
  mac?: string;
  /** Netns path (or VM id) for interfaces inside the sandbox; absent for host interfaces. */
  sandbox?: string;
  mtu?: number;
  socketPath?: string;
  pciID?: string;
}

export interface CniIpConfig {
  /** CIDR, e.g. "10.88.0.5/16". */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
  version: 4 | 6;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIpConfig[];
  routes: CniRoute[];
  dns: CniDns;
  /** What the plugin printed, kept so unknown fields survive when no conversion is needed. */
  raw: Record<string, unknown>;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(what: string): never {
  throw new CniResultError(`malformed CNI result: ${what}`);
}

function optString(o: Json, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') bad(`${where}.${key} is not a string`);
  return v;
}

function optNumber(o: Json, key: string, where: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(`${where}.${key} is not a number`);
  return v;
}

function optArray(o: Json, key: string, where: string): unknown[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) bad(`${where}.${key} is not an array`);
  return v;
}

function optStrings(o: Json, key: string, where: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) bad(`${where}.${key} is not a list of strings`);
  return v as string[];
}

/** Drops undefined members so encoded JSON and test expectations stay tidy. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function ipVersionOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

/**
 * Parses a plugin's stdout. A result without cniVersion is taken to be in the config's
 * version (libcni does the same for plugins that forget it).
 */
export function parseResult(data: unknown, configVersion: string): CniResult {
  if (!isObject(data)) bad('not a JSON object');
  const declared = data.cniVersion;
  const cniVersion = typeof declared === 'string' && declared !== '' ? declared : configVersion;
  if (!isSupportedVersion(cniVersion)) bad(`unsupported cniVersion "${cniVersion}"`);
  const raw: Json = { ...data, cniVersion };
  const base = versionAtLeast(cniVersion, '0.3.0') ? parseCurrent(data) : parseLegacy(data);
  return { cniVersion, ...base, raw };
}

export function parseResultText(stdout: string, configVersion: string): CniResult {
  let data: unknown;
  try {
    data = JSON.parse(stdout);
  } catch {
    bad(`not JSON: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  return parseResult(data, configVersion);
}

type ResultBody = Omit<CniResult, 'cniVersion' | 'raw'>;

function parseCurrent(data: Json): ResultBody {
  const interfaces = optArray(data, 'interfaces', 'result').map((v, i): CniInterface => {
    const where = `interfaces[${i}]`;
    if (!isObject(v)) bad(`${where} is not an object`);
    const name = optString(v, 'name', where);
    if (name === undefined) bad(`${where}.name is missing`);
    return compact({
      name,
      mac: optString(v, 'mac', where),
      sandbox: optString(v, 'sandbox', where),
      mtu: optNumber(v, 'mtu', where),
      socketPath: optString(v, 'socketPath', where),
      pciID: optString(v, 'pciID', where),
    });
  });
  const ips = optArray(data, 'ips', 'result').map((v, i): CniIpConfig => {
    const where = `ips[${i}]`;
    if (!isObject(v)) bad(`${where} is not an object`);
    const address = optString(v, 'address', where);
    if (address === undefined) bad(`${where}.address is missing`);
    const index = optNumber(v, 'interface', where);
    if (index !== undefined && (!Number.isInteger(index) || index < 0)) bad(`${where}.interface is not an index`);
    return compact({ address, gateway: optString(v, 'gateway', where), interface: index, version: ipVersionOf(address) });
  });
  return { interfaces, ips, routes: parseRoutes(optArray(data, 'routes', 'result'), 'routes'), dns: parseDns(data.dns) };
}

function parseRoutes(list: unknown[], where: string): CniRoute[] {
  return list.map((v, i): CniRoute => {
    const w = `${where}[${i}]`;
    if (!isObject(v)) bad(`${w} is not an object`);
    const dst = optString(v, 'dst', w);
    if (dst === undefined) bad(`${w}.dst is missing`);
    return compact({
      dst,
      gw: optString(v, 'gw', w),
      mtu: optNumber(v, 'mtu', w),
      advmss: optNumber(v, 'advmss', w),
      priority: optNumber(v, 'priority', w),
      table: optNumber(v, 'table', w),
      scope: optNumber(v, 'scope', w),
    });
  });
}

function parseDns(v: unknown): CniDns {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) bad('dns is not an object');
  return compact({
    nameservers: optStrings(v, 'nameservers', 'dns'),
    domain: optString(v, 'domain', 'dns'),
    search: optStrings(v, 'search', 'dns'),
    options: optStrings(v, 'options', 'dns'),
  });
}

function parseLegacy(data: Json): ResultBody {
  const ips: CniIpConfig[] = [];
  const routes: CniRoute[] = [];
  for (const key of ['ip4', 'ip6'] as const) {
    const block = data[key];
    if (block === undefined || block === null) continue;
    if (!isObject(block)) bad(`${key} is not an object`);
    const address = optString(block, 'ip', key);
    if (address === undefined) bad(`${key}.ip is missing`);
    ips.push(compact({ address, gateway: optString(block, 'gateway', key), version: ipVersionOf(address) }));
    routes.push(...parseRoutes(optArray(block, 'routes', key), `${key}.routes`));
  }
  return { interfaces: [], ips, routes, dns: parseDns(data.dns) };
}

/**
 * The result as JSON of `version`. Same version: the plugin's own bytes (unknown
 * fields included). Otherwise rebuilt from the model, dropping what `version` lacks.
 */
export function encodeResult(result: CniResult, version: string): Json {
  if (version === result.cniVersion) return { ...result.raw, cniVersion: version };
  if (!versionAtLeast(version, '0.3.0')) return encodeLegacy(result, version);
  const v11 = compareVersions(version, '1.1.0') >= 0;
  const v1 = versionAtLeast(version, '1.0.0');
  const out: Json = { cniVersion: version };
  if (result.interfaces.length > 0) {
    out.interfaces = result.interfaces.map((i) =>
      compact({
        name: i.name,
        mac: i.mac,
        sandbox: i.sandbox,
        mtu: v11 ? i.mtu : undefined,
        socketPath: v11 ? i.socketPath : undefined,
        pciID: v11 ? i.pciID : undefined,
      }),
    );
  }
  if (result.ips.length > 0) {
    out.ips = result.ips.map((ip) =>
      compact({
        version: v1 ? undefined : String(ip.version),
        address: ip.address,
        gateway: ip.gateway,
        interface: ip.interface,
      }),
    );
  }
  if (result.routes.length > 0) out.routes = result.routes.map((r) => encodeRoute(r, v11));
  if (Object.keys(result.dns).length > 0) out.dns = { ...result.dns };
  return out;
}

function encodeRoute(r: CniRoute, v11: boolean): Json {
  return v11 ? compact({ ...r }) : compact({ dst: r.dst, gw: r.gw });
}

function encodeLegacy(result: CniResult, version: string): Json {
  const out: Json = { cniVersion: version };
  for (const family of [4, 6] as const) {
    const ip = result.ips.find((i) => i.version === family);
    if (!ip) continue;
    const routes = result.routes
      .filter((r) => ipVersionOf(r.dst) === family)
      .map((r) => compact({ dst: r.dst, gw: r.gw }));
    out[`ip${family}`] = compact({ ip: ip.address, gateway: ip.gateway, routes: routes.length > 0 ? routes : undefined });
  }
  if (Object.keys(result.dns).length > 0) out.dns = { ...result.dns };
  return out;
}

/** Result converted to `version` (a no-op when it already is). */
export function convertResult(result: CniResult, version: string): CniResult {
  if (result.cniVersion === version) return result;
  return parseResult(encodeResult(result, version), version);
}

export interface PodIps {
  /** Primary address first: CRI PodIP, then the rest as additional IPs. */
  ips: string[];
  ipv4?: string;
  ipv6?: string;
}

/**
 * The pod's addresses: IPs on interfaces inside the sandbox (the one named `ifName`
 * first). Results that say nothing about interfaces (IPAM-style, or 0.2.0) count all
 * their IPs. Host-side addresses (a bridge gateway) never count.
 */
export function podIpsFromResult(result: CniResult, ifName?: string): PodIps {
  const inSandbox = (ip: CniIpConfig): boolean => {
    if (ip.interface === undefined) return false;
    const iface = result.interfaces[ip.interface];
    return iface !== undefined && iface.sandbox !== undefined && iface.sandbox !== '';
  };
  const onNamed = (ip: CniIpConfig): boolean =>
    ifName !== undefined && ip.interface !== undefined && result.interfaces[ip.interface]?.name === ifName;
  let chosen = result.ips.filter(inSandbox);
  if (chosen.length === 0) chosen = result.ips.filter((ip) => ip.interface === undefined);
  chosen = [...chosen.filter(onNamed), ...chosen.filter((ip) => !onNamed(ip))];
  const ips = [...new Set(chosen.map((ip) => stripPrefix(ip.address)))];
  const ipv4 = chosen.find((ip) => ip.version === 4);
  const ipv6 = chosen.find((ip) => ip.version === 6);
  return compact({
    ips,
    ipv4: ipv4 ? stripPrefix(ipv4.address) : undefined,
    ipv6: ipv6 ? stripPrefix(ipv6.address) : undefined,
  });
}

function stripPrefix(cidr: string): string {
  const slash = cidr.indexOf('/');
  return slash === -1 ? cidr : cidr.slice(0, slash);
}
