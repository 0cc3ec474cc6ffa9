/**
 * Checks of the CNI set-up: a valid config in the conf dir (the one the shim would
 * load: first valid in lexical order) and every plugin of its chain, ipam included,
 * present in the bin dirs. Reads the same way the engine does, without its cache.
 */
import { listConfFiles, readConfFile, type NetworkListConf } from '../cni/config.js';
import { findPlugin } from '../cni/plugins.js';
import { resolveNetwork, VersionCache } from '../cni/resolve.js';
import { silentLogger } from '../logger.js';
import { fail, pass, type CheckResult } from './check.js';

export interface CniFindings {
  checks: CheckResult[];
  /** Plugin types of the chain the shim would use; undefined when none is valid. */
  chainTypes?: string[];
}

/** Plugin types a list runs: each plugin and the ipam plugin it delegates to. */
function executablesOf(list: NetworkListConf): string[] {
  const out: string[] = [];
  for (const p of list.plugins) {
    out.push(p.type);
    const ipam = (p as Record<string, unknown>).ipam as { type?: unknown } | undefined;
    if (ipam && typeof ipam.type === 'string' && ipam.type) out.push(ipam.type);
  }
  return [...new Set(out)];
}

async function missingOf(types: string[], binDirs: string[]): Promise<{ found: string[]; missing: string[] }> {
  const found: string[] = [];
  const missing: string[] = [];
  for (const t of types) ((await findPlugin(t, binDirs)) ? found : missing).push(t);
  return { found, missing };
}

export async function checkCni(confDir: string, binDirs: string[], timeoutMs: number): Promise<CniFindings> {
  const cfgName = `CNI config ${confDir}`;
  const plugName = `CNI plugins in ${binDirs.join(':')}`;
  const installFix = `install the plugins (Debian: apt-get install containernetworking-plugins, into /usr/lib/cni) or add --cni-bin-dir`;
  const listed = await listConfFiles(confDir);
  if (!listed.ok) return { checks: [fail(cfgName, listed.reason, `make ${confDir} readable`)] };
  const rejected: string[] = [];
  let firstParsed: { file: string; list: NetworkListConf } | undefined;
  const ctx = { binDirs, timeoutMs, logger: silentLogger, versionCache: new VersionCache() };
  for (const f of listed.files) {
    const parsed = await readConfFile(f);
    if (!parsed.ok) {
      rejected.push(`${f.file}: ${parsed.reason}`);
      continue;
    }
    firstParsed ??= { file: f.file, list: parsed.list };
    const { found, missing } = await missingOf(executablesOf(parsed.list), binDirs);
    if (missing.length) {
      rejected.push(`${f.file}: plugin(s) ${missing.join(', ')} not found`);
      continue;
    }
    const resolved = await resolveNetwork(parsed.list, ctx);
    if (!resolved.ok) {
      rejected.push(`${f.file}: ${resolved.reason}`);
      continue;
    }
    const chain = parsed.list.plugins.map((p) => p.type);
    const skipped = rejected.length ? `; skipped ${rejected.join('; ')}` : '';
    return {
      chainTypes: chain,
      checks: [
        pass(cfgName, `${f.file}: network "${parsed.list.name}", cniVersion ${resolved.network.cniVersion}, chain ${chain.join(' → ')}${skipped}`),
        pass(plugName, `all present: ${found.join(', ')}`),
      ],
    };
  }
  const example = `write a .conflist into ${confDir}, e.g. {"cniVersion":"1.0.0","name":"pods","plugins":[{"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":true,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.88.0.0/16"}]]}},{"type":"portmap","capabilities":{"portMappings":true}},{"type":"firewall"}]} (bash hack/run-shim.sh writes one)`;
  if (listed.files.length === 0) {
    return { checks: [fail(cfgName, 'no .conf/.conflist/.json file: NetworkReady stays false and no pod can start', example)] };
  }
  const checks = [fail(cfgName, `no valid config: ${rejected.join('; ')}`, `fix the file(s) named above, or ${example}`)];
  if (firstParsed) {
    const { missing } = await missingOf(executablesOf(firstParsed.list), binDirs);
    if (missing.length) checks.push(fail(plugName, `${firstParsed.file} needs ${missing.join(', ')}, not found`, installFix));
  }
  return { checks };
}
