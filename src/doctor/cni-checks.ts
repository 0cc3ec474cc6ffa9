/**
 * Checks of the CNI set-up: the config the shim would load (chosen by the engine's own
 * scan, src/cni/scan.ts) and every plugin of its chain, ipam included, present in the
 * bin dirs. The engine does not look for IPAM binaries (the main plugin runs them), so
 * a missing one is reported here about the config the shim actually uses.
 */
import type { NetworkListConf } from '../cni/config.js';
import { findPlugin } from '../cni/plugins.js';
import { ipamTypeOf, VersionCache } from '../cni/resolve.js';
import { scanConfDir } from '../cni/scan.js';
import { silentLogger } from '../logger.js';
import { fail, pass, type CheckResult } from './check.js';

export interface CniFindings {
  checks: CheckResult[];
  /** Plugin types of the chain the shim would use; undefined when none is valid. */
  chainTypes?: string[];
}

const INSTALL_FIX = 'install the plugins (Debian: apt-get install containernetworking-plugins, into /usr/lib/cni) or add --cni-bin-dir';

/** Plugin types a list runs: each plugin and the ipam plugin it delegates to. */
function executablesOf(list: NetworkListConf): string[] {
  const out: string[] = [];
  for (const p of list.plugins) {
    out.push(p.type);
    const ipam = ipamTypeOf(p);
    if (ipam) out.push(ipam);
  }
  return [...new Set(out)];
}

async function missingOf(types: string[], binDirs: string[]): Promise<{ found: string[]; missing: string[] }> {
  const found: string[] = [];
  const missing: string[] = [];
  for (const t of types) ((await findPlugin(t, binDirs)) ? found : missing).push(t);
  return { found, missing };
}

function exampleFix(confDir: string): string {
  return `write a .conflist into ${confDir}, e.g. {"cniVersion":"1.0.0","name":"pods","plugins":[{"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":true,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.88.0.0/16"}]]}},{"type":"portmap","capabilities":{"portMappings":true}},{"type":"firewall"}]} (bash hack/run-shim.sh writes one)`;
}

export async function checkCni(confDir: string, binDirs: string[], timeoutMs: number): Promise<CniFindings> {
  const cfgName = `CNI config ${confDir}`;
  const plugName = `CNI plugins in ${binDirs.join(':')}`;
  const scan = await scanConfDir(confDir, { binDirs, timeoutMs, logger: silentLogger, versionCache: new VersionCache() });
  if (scan.dirError !== undefined) return { checks: [fail(cfgName, scan.dirError, `make ${confDir} readable`)] };
  if (scan.chosen) {
    const { file, network } = scan.chosen;
    const chain = network.conf.plugins.map((p) => p.type);
    const skipped = scan.rejected.length ? `; skipped ${scan.rejected.map((r) => `${r.file}: ${r.reason}`).join('; ')}` : '';
    const { found, missing } = await missingOf(executablesOf(network.conf), binDirs);
    const plugins = missing.length
      ? fail(plugName, `${file} (the config the shim loads) needs ${missing.join(', ')}, not found: every pod's ADD fails`, INSTALL_FIX)
      : pass(plugName, `all present: ${found.join(', ')}`);
    return {
      chainTypes: chain,
      checks: [pass(cfgName, `${file}: network "${network.name}", cniVersion ${network.cniVersion}, chain ${chain.join(' → ')}${skipped}`), plugins],
    };
  }
  if (scan.rejected.length === 0) {
    return { checks: [fail(cfgName, 'no .conf/.conflist/.json file: NetworkReady stays false and no pod can start', exampleFix(confDir))] };
  }
  const rejected = scan.rejected.map((r) => `${r.file}: ${r.reason}`).join('; ');
  const checks = [fail(cfgName, `no valid config: ${rejected}`, `fix the file(s) named above, or ${exampleFix(confDir)}`)];
  if (scan.firstParsed) {
    const { missing } = await missingOf(executablesOf(scan.firstParsed.list), binDirs);
    if (missing.length) checks.push(fail(plugName, `${scan.firstParsed.file} needs ${missing.join(', ')}, not found`, INSTALL_FIX));
  }
  return { checks };
}
