/**
 * Plain-text form of an Explanation: a small drawing of the path, then each part in
 * detail, then the problems. Pure.
 */
import type { Explanation, NsShare } from './explanation.js';

const MISSING = '✗ missing';

function missing(name: string | null): string {
  return name ? `✗ ${name} missing` : MISSING;
}

/** Columns of the drawing: a name line and a detail line under each hop, joined by ⇄. */
export function drawPath(e: Explanation): string[] {
  const pod = e.podInterface;
  const veth = e.hostVeth;
  const br = e.bridge;
  const cols: Array<[string, string, string]> = [
    [`pod ${e.pod.namespace}/${e.pod.name}`, pod ? `${pod.name} (if${pod.ifindex})` : missing(e.expected.podInterface), pod ? (pod.addresses.find((a) => a.includes('.')) ?? pod.addresses[0] ?? 'no IP') : ''],
    ['host veth', veth ? `${veth.name} (if${veth.ifindex})` : missing(e.expected.hostVeth), veth ? (veth.master ? `port of ${veth.master}` : 'no bridge') : ''],
    ['bridge', br ? br.name : missing(e.expected.bridge), br ? (br.addresses.find((a) => a.includes('.')) ?? 'no address') : ''],
    ['host', 'routing/iptables', e.iptables.forwardPolicy ? `FORWARD ${e.iptables.forwardPolicy}` : ''],
  ];
  const widths = cols.map((c) => Math.max(...c.map((s) => s.length)));
  const row = (i: number, sep: string) => cols.map((c, k) => c[i].padEnd(widths[k])).join(sep).trimEnd();
  return [row(0, '   '), row(1, ' ⇄ '), row(2, '   ')].map((l) => '  ' + l);
}

function nsText(n: NsShare): string {
  if (n.inode === null) return '?';
  return `${n.inode}${n.shared === 'pause' ? '' : n.shared === 'own' ? ' (own)' : ''}`;
}

function indent(text: string, by = '    '): string[] {
  return text.replace(/\n$/, '').split('\n').map((l) => by + l);
}

export function renderText(e: Explanation): string {
  const out: string[] = [];
  const ok = e.problems.length === 0;
  out.push(`Pod ${e.pod.namespace}/${e.pod.name}  id ${e.pod.id}`);
  out.push(`  uid ${e.pod.uid}  state ${e.pod.state}  IP ${e.pod.ips.join(', ') || 'none'}`);
  out.push('');
  out.push(...drawPath(e));
  out.push('');
  out.push('Network namespace');
  out.push(`  ${e.netns.path}  inode ${e.netns.inode ?? MISSING}${e.netns.pauseNetInode ? `  (pause container: net:[${e.netns.pauseNetInode}])` : ''}`);
  out.push('Pod side');
  if (e.podInterface) {
    const p = e.podInterface;
    out.push(`  ${p.name}  ifindex ${p.ifindex}  mac ${p.mac}  ${p.operstate}  peer ifindex ${p.peerIfindex ?? '?'}`);
    for (const a of p.addresses) out.push(`    inet ${a}`);
  } else out.push(`  interface ${missing(e.expected.podInterface)}`);
  for (const r of e.podRoutes) out.push(`    route ${r}`);
  out.push('Host side');
  if (e.hostVeth) {
    const v = e.hostVeth;
    out.push(`  veth ${v.name}  ifindex ${v.ifindex}  mac ${v.mac}  ${v.operstate}  master ${v.master ?? 'none'}`);
  } else out.push(`  veth ${missing(e.expected.hostVeth)}`);
  if (e.bridge) {
    const b = e.bridge;
    out.push(`  bridge ${b.name}  ${b.operstate}  ${b.addresses.join(' ')}`);
    out.push(`    ports: ${b.ports.join(' ') || 'none'}`);
  } else out.push(`  bridge ${missing(e.expected.bridge)}`);
  out.push(`CNI network "${e.cni.network}" (cniVersion ${e.cni.cniVersion}), cache ${e.cni.cachePath}`);
  e.cni.plugins.forEach((p, i) => {
    out.push(`  ${i + 1}. ${p.type}  ${JSON.stringify(p.settings)}`);
    for (const d of p.did) out.push(`       → ${d}`);
  });
  out.push('  (the chain\'s final result is cached; `--json` shows it whole)');
  out.push('Port mappings');
  if (e.portMappings.length === 0) out.push('  none');
  for (const pm of e.portMappings) out.push(`  ${pm.hostIp || '0.0.0.0'}:${pm.hostPort} → ${pm.containerPort}/${pm.protocol}`);
  out.push(`iptables (FORWARD policy ${e.iptables.forwardPolicy ?? '?'})`);
  for (const r of e.iptables.nat) out.push(`  nat    ${r.text}`);
  for (const r of e.iptables.filter) out.push(`  filter ${r.text}`);
  for (const r of e.iptables.stale) out.push(`  ✗ STALE ${r.table} ${r.text}`);
  if (!e.iptables.nat.length && !e.iptables.filter.length && !e.iptables.stale.length) out.push('  no rules for this pod');
  out.push('Namespaces (inodes; "(own)" = not shared with the pause container)');
  out.push(`  ${'container'.padEnd(16)} ${'pid'.padStart(7)}  ${'net'.padEnd(16)} ${'ipc'.padEnd(16)} ${'pid'.padEnd(16)} uts`);
  for (const c of e.namespaces) {
    const pid = c.running ? String(c.pid) : 'stopped';
    out.push(`  ${c.name.slice(0, 16).padEnd(16)} ${pid.padStart(7)}  ${nsText(c.net).padEnd(16)} ${nsText(c.ipc).padEnd(16)} ${nsText(c.pid_ns).padEnd(16)} ${nsText(c.uts)}`);
  }
  for (const f of [e.resolvConf, e.hosts]) {
    if (!f) continue;
    out.push(`${f.path}`);
    out.push(...(f.content === null ? ['    (unreadable)'] : indent(f.content)));
  }
  out.push('');
  if (ok) out.push('✓ path complete: nothing expected is missing');
  else {
    out.push(`✗ ${e.problems.length} problem(s):`);
    for (const p of e.problems) out.push(`  ✗ ${p}`);
  }
  return out.join('\n') + '\n';
}
