/**
 * From raw node readings (ExplainInputs) to an Explanation: which interface is the
 * pod's, which host veth is its peer, which bridge it hangs on, which iptables rules
 * serve it, and every place where the node does not match what the CNI result and the
 * pod spec say it should. Pure: no I/O.
 */
import { parseResult, type CniResult } from '../cni/result.js';
import type { ContainerInputs, ExplainInputs, IpLink, IpRoute } from './inputs.js';
import type { ContainerNamespaces, Explanation, NsShare, PluginStep } from './explanation.js';
import { parseIptables, podRules, splitWords, type IptablesRule, type IptablesTable } from './iptables.js';

/** The parts of the attachment's CNI result that explain compares with the node. */
type ChainResult = Pick<CniResult, 'interfaces' | 'ips' | 'routes'>;

const NO_RESULT: ChainResult = { interfaces: [], ips: [], routes: [] };

const DEFAULT_BRIDGE = 'cni0';

function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * The attachment's result in src/cni's own model, every spec version included (a
 * 0.2.0 result has ip4/ip6, not ips). The cache holds the plugin's JSON; the sandbox
 * record holds the parsed model, whose `raw` is that JSON.
 */
function readResult(inp: ExplainInputs, problems: string[]): ChainResult {
  const recorded = inp.sandbox.network?.result ?? null;
  const raw = inp.cache.entry?.result ?? asRecord(recorded).raw ?? recorded;
  if (raw === null || raw === undefined) return NO_RESULT;
  try {
    return parseResult(raw, String(inp.networkConf?.cniVersion ?? '1.0.0'));
  } catch (err) {
    problems.push(`the CNI result cannot be read (${(err as Error).message}): its IPs and interfaces are not checked`);
    return NO_RESULT;
  }
}

function plugins(conf: Record<string, unknown> | null): Array<Record<string, unknown>> {
  if (!conf) return [];
  if (Array.isArray(conf.plugins)) return conf.plugins.map(asRecord);
  return typeof conf.type === 'string' ? [conf] : []; // a single .conf
}

function addresses(link: IpLink): string[] {
  return (link.addr_info ?? []).filter((a) => a.family === 'inet' || a.family === 'inet6').map((a) => `${a.local}/${a.prefixlen}`);
}

function routeText(r: IpRoute): string {
  return [r.dst, r.gateway ? `via ${r.gateway}` : '', r.dev ? `dev ${r.dev}` : '', r.prefsrc ? `src ${r.prefsrc}` : '']
    .filter(Boolean)
    .join(' ');
}

function ipOf(cidr: string): string {
  return cidr.split('/')[0];
}

export function analyze(inp: ExplainInputs): Explanation {
  const problems: string[] = [];
  const sb = inp.sandbox;
  const rawResult = inp.cache.entry?.result ?? sb.network?.result ?? null;
  const result = readResult(inp, problems);
  const chain = plugins(inp.networkConf);
  const bridgeConf = chain.find((p) => p.type === 'bridge');
  const bridgeName = bridgeConf ? String(bridgeConf.bridge ?? DEFAULT_BRIDGE) : (result.interfaces.find((i) => !i.sandbox)?.name ?? null);
  const ifName = inp.cache.entry?.ifName ?? sb.network?.ifName ?? 'eth0';
  const podIps = sb.ips.length ? sb.ips : result.ips.map((i) => ipOf(i.address));

  if (sb.state !== 'ready') problems.push(`the sandbox is ${sb.state}: its network has been torn down or never finished`);
  if (inp.cache.entry === null) problems.push(`no CNI cache entry at ${inp.cache.path}${inp.cache.error ? ` (${inp.cache.error})` : ''}: DEL will run from the state record only`);
  else if (!inp.cache.entry.result) problems.push(`the CNI cache entry ${inp.cache.path} has no result: ADD never finished`);

  // ---- netns ----
  const pause = inp.dockerContainers[0];
  const pauseNet = pause?.ns.net ?? null;
  if (inp.netnsInode === null) problems.push(`netns file ${sb.netnsPath} is missing (Docker removes it when the pause container stops)`);
  else if (pauseNet && pauseNet !== inp.netnsInode) {
    problems.push(`netns file ${sb.netnsPath} is inode ${inp.netnsInode} but the pause container is in net:[${pauseNet}]`);
  }
  if (inp.podError) problems.push(`could not read the pod's side: ${inp.podError}`);
  if (inp.hostError) problems.push(`could not read the host's links (ip -j addr show): ${inp.hostError}`);

  // ---- pod side ----
  const podLink = inp.podLinks?.find((l) => l.ifname === ifName) ?? null;
  if (inp.podLinks && !podLink) problems.push(`no interface ${ifName} inside the pod's netns (its veth pair is gone)`);
  const podAddrs = podLink ? addresses(podLink) : [];
  for (const ip of result.ips) {
    if (inp.podLinks && !podAddrs.includes(ip.address)) problems.push(`IP ${ip.address} from the CNI result is not on ${ifName} in the pod`);
  }

  // ---- host veth: the host link whose ifindex is the pod link's peer index ----
  const resultVeth = result.interfaces.find((i) => !i.sandbox && i.name !== bridgeName)?.name ?? null;
  let hostLink: IpLink | null = null;
  if (podLink?.link_index !== undefined) {
    hostLink = inp.hostLinks.find((l) => l.ifindex === podLink.link_index && l.link_index === podLink.ifindex) ?? null;
    if (!hostLink) problems.push(`host side of ${ifName}: no host link with ifindex ${podLink.link_index} whose peer is ${podLink.ifindex}`);
  } else if (resultVeth) {
    hostLink = inp.hostLinks.find((l) => l.ifname === resultVeth) ?? null;
  }
  if (resultVeth && !inp.hostLinks.some((l) => l.ifname === resultVeth)) {
    problems.push(`host veth ${resultVeth} (named in the CNI result) does not exist`);
  } else if (resultVeth && hostLink && hostLink.ifname !== resultVeth) {
    problems.push(`the pod's peer is ${hostLink.ifname}, but the CNI result names ${resultVeth}`);
  }
  if (hostLink && bridgeName && hostLink.master !== bridgeName) {
    problems.push(`host veth ${hostLink.ifname} is ${hostLink.master ? `attached to ${hostLink.master}` : 'attached to no bridge'}, expected ${bridgeName}`);
  }
  if (hostLink && hostLink.operstate && hostLink.operstate !== 'UP') problems.push(`host veth ${hostLink.ifname} is ${hostLink.operstate}`);

  // ---- bridge ----
  const bridgeLink = bridgeName ? (inp.hostLinks.find((l) => l.ifname === bridgeName) ?? null) : null;
  if (bridgeName && !bridgeLink) problems.push(`bridge ${bridgeName} does not exist`);
  const bridgeAddrs = bridgeLink ? addresses(bridgeLink) : [];
  const isGateway = bridgeConf?.isGateway === true;
  for (const ip of result.ips) {
    if (bridgeLink && isGateway && ip.gateway && !bridgeAddrs.some((a) => ipOf(a) === ip.gateway)) {
      problems.push(`gateway ${ip.gateway} is not on bridge ${bridgeName}`);
    }
  }

  // ---- iptables ----
  const filter = inp.iptablesFilter !== null ? parseIptables('filter', inp.iptablesFilter) : null;
  const nat = inp.iptablesNat !== null ? parseIptables('nat', inp.iptablesNat) : null;
  if (inp.iptablesError) problems.push(`could not read iptables: ${inp.iptablesError}`);
  const natRules = nat ? podRules(nat, sb.id, podIps) : { owned: [], stale: [], byIp: [] };
  const filterRules = filter ? podRules(filter, sb.id, podIps) : { owned: [], stale: [], byIp: [] };
  const stale = [...natRules.stale, ...filterRules.stale];
  for (const r of stale) problems.push(`stale ${r.table} rule for the pod IP, left by another sandbox: ${r.text}`);
  const natMine = [...natRules.owned, ...natRules.byIp];
  const filterMine = [...filterRules.owned, ...filterRules.byIp];
  const forwardPolicy = filter?.policies.FORWARD ?? null;
  const hasPortmap = chain.some((p) => p.type === 'portmap');
  const firewall = chain.find((p) => p.type === 'firewall');
  if (nat) checkHostPorts(sb.spec.portMappings, natMine, podIps, hasPortmap, problems);
  if (filter && firewall) checkFirewall(filter, filterMine, firewall, podIps, problems);
  if (filter && !firewall && forwardPolicy === 'DROP') {
    problems.push('FORWARD policy is DROP and the chain has no firewall plugin: traffic routed to this pod is dropped (add {"type":"firewall"} to the chain)');
  }
  if (nat && bridgeConf?.ipMasq === true && !natRules.owned.some((r) => r.target === 'MASQUERADE')) {
    problems.push('the bridge has ipMasq: true but no masquerade rule carries this pod\'s id');
  }

  // ---- namespaces, DNS ----
  const namespaces = inp.dockerContainers.map((c) => nsOf(c, pause));
  for (const c of namespaces) {
    if (c.running && c.net.shared === 'own' && sb.spec.namespaces.network === 'pod') {
      problems.push(`container ${c.name} is not in the pod's network namespace`);
    }
  }
  const hostsContent = inp.hosts?.content ?? null;
  if (hostsContent !== null && podIps[0] && !hostsContent.split('\n').some((l) => l.split(/\s+/)[0] === podIps[0])) {
    problems.push(`${inp.hosts?.path} does not map the pod IP ${podIps[0]}`);
  }

  return {
    pod: { id: sb.id, name: sb.spec.metadata.name, namespace: sb.spec.metadata.namespace, uid: sb.spec.metadata.uid, state: sb.state, ips: podIps },
    netns: { path: sb.netnsPath, inode: inp.netnsInode, pauseNetInode: pauseNet },
    expected: { podInterface: ifName, hostVeth: resultVeth, bridge: bridgeName },
    podInterface: podLink
      ? {
          name: podLink.ifname,
          ifindex: podLink.ifindex,
          mac: podLink.address ?? '',
          addresses: podAddrs,
          peerIfindex: podLink.link_index ?? null,
          operstate: podLink.operstate ?? '',
        }
      : null,
    podRoutes: (inp.podRoutes ?? []).map(routeText),
    hostVeth: hostLink
      ? { name: hostLink.ifname, ifindex: hostLink.ifindex, mac: hostLink.address ?? '', master: hostLink.master ?? null, operstate: hostLink.operstate ?? '' }
      : null,
    bridge:
      bridgeLink && bridgeName
        ? {
            name: bridgeName,
            addresses: bridgeAddrs,
            ports: inp.hostLinks.filter((l) => l.master === bridgeName).map((l) => l.ifname),
            operstate: bridgeLink.operstate ?? '',
          }
        : null,
    cni: {
      network: inp.cache.entry?.networkName ?? String(inp.networkConf?.name ?? ''),
      cniVersion: String(inp.networkConf?.cniVersion ?? asRecord(rawResult).cniVersion ?? ''),
      cachePath: inp.cache.path,
      plugins: chain.map((p) => pluginStep(p, result, natRules.owned, filterMine)),
      result: rawResult,
    },
    portMappings: sb.spec.portMappings,
    iptables: { forwardPolicy, nat: natMine, filter: filterMine, stale },
    namespaces,
    resolvConf: inp.resolvConf,
    hosts: inp.hosts,
    problems,
  };
}

function checkHostPorts(mappings: Explanation['portMappings'], natMine: IptablesRule[], podIps: string[], hasPortmap: boolean, problems: string[]): void {
  for (const pm of mappings.filter((m) => m.hostPort > 0)) {
    const found = natMine.some((r) => {
      const w = splitWords(r.text);
      const to = w[w.indexOf('--to-destination') + 1] ?? '';
      return r.target === 'DNAT' && w.includes(String(pm.hostPort)) && podIps.some((ip) => to === `${ip}:${pm.containerPort}` || to === `[${ip}]:${pm.containerPort}`);
    });
    if (!found) {
      const why = hasPortmap ? '' : ' (the chain has no portmap plugin)';
      problems.push(`hostPort ${pm.hostPort}/${pm.protocol} → ${pm.containerPort}: no DNAT rule found${why}`);
    }
  }
}

function checkFirewall(filter: IptablesTable, mine: IptablesRule[], conf: Record<string, unknown>, podIps: string[], problems: string[]): void {
  if (conf.backend === 'firewalld') return; // rules live in firewalld zones, not iptables
  // The plugin's own chain is always CNI-FORWARD (only the admin chain's name is configurable).
  const chainName = 'CNI-FORWARD';
  if (!filter.rules.some((r) => r.chain === 'FORWARD' && r.target === chainName)) {
    problems.push(`the firewall plugin is in the chain but FORWARD does not jump to ${chainName}`);
  }
  for (const ip of podIps) {
    if (!mine.some((r) => r.chain === chainName && r.text.includes(`-s ${ip}/`))) {
      problems.push(`the firewall plugin is in the chain but ${chainName} has no accept rule for ${ip}`);
    }
  }
}

function share(c: ContainerInputs, pause: ContainerInputs | undefined, key: 'net' | 'ipc' | 'pid' | 'uts'): NsShare {
  const inode = c.ns[key] ?? null;
  if (inode === null) return { inode, shared: 'unknown' };
  if (c === pause) return { inode, shared: 'pause' };
  return { inode, shared: pause?.ns[key] === inode ? 'pause' : 'own' };
}

function nsOf(c: ContainerInputs, pause: ContainerInputs | undefined): ContainerNamespaces {
  return {
    id: c.id,
    name: c.name,
    pid: c.pid,
    running: c.running,
    net: share(c, pause, 'net'),
    ipc: share(c, pause, 'ipc'),
    pid_ns: share(c, pause, 'pid'),
    uts: share(c, pause, 'uts'),
  };
}

function pluginStep(p: Record<string, unknown>, result: ChainResult, natOwned: IptablesRule[], filterMine: IptablesRule[]): PluginStep {
  const type = String(p.type ?? '');
  const settings: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) if (k !== 'type') settings[k] = v;
  const did: string[] = [];
  switch (type) {
    case 'bridge':
    case 'ptp':
    case 'macvlan':
    case 'ipvlan': {
      for (const i of result.interfaces) {
        const mac = i.mac ? ` ${i.mac}` : '';
        did.push(i.sandbox ? `interface ${i.name}${mac} in the pod (${i.sandbox})` : `interface ${i.name}${mac} on the host`);
      }
      for (const ip of result.ips) {
        const on = ip.interface !== undefined ? result.interfaces[ip.interface]?.name : undefined;
        did.push(`IP ${ip.address}${ip.gateway ? ` gateway ${ip.gateway}` : ''}${on ? ` on ${on}` : ''} (from ipam ${String(asRecord(p.ipam).type ?? '?')})`);
      }
      for (const r of result.routes) did.push(`route ${r.dst}${r.gw ? ` via ${r.gw}` : ''}`);
      const masq = natOwned.filter((r) => r.target === 'MASQUERADE');
      if (masq.length) did.push(`${masq.length} masquerade rule(s) in nat`);
      break;
    }
    case 'portmap': {
      const dnat = natOwned.filter((r) => r.target === 'DNAT');
      did.push(dnat.length ? `${dnat.length} hostPort DNAT rule(s) in nat (CNI-HOSTPORT-DNAT → CNI-DN-…)` : 'no hostPort rules (the pod maps no hostPort)');
      break;
    }
    case 'firewall': {
      const fw = filterMine.filter((r) => r.chain === 'CNI-FORWARD');
      did.push(`${fw.length} accept rule(s) for the pod IP in filter CNI-FORWARD`);
      break;
    }
    default:
      did.push('returned the result it was given, as far as the node shows');
  }
  return { type, settings, did };
}
