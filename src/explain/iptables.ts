/**
 * `iptables -S` output (one table) parsed into policies and rules, and the rules
 * that belong to one pod picked out of it. Only what `-S` prints is understood:
 * `-P CHAIN POLICY`, `-N CHAIN` and `-A CHAIN <match…> -j TARGET`.
 */

export interface IptablesRule {
  table: string;
  chain: string;
  /** The whole line as iptables printed it (`-A …`). */
  text: string;
  /** The `-j`/`-g` target, if any. */
  target?: string;
  /** The `--comment` text, unquoted. */
  comment?: string;
}

export interface IptablesTable {
  table: string;
  policies: Record<string, string>;
  chains: string[];
  rules: IptablesRule[];
}

/** Splits one `-S` line into words, honouring the double quotes iptables prints. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '\\' && i + 1 < line.length) cur += line[++i];
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') {
      quoted = true;
      inWord = true;
    } else if (c === ' ') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

export function parseIptables(table: string, text: string): IptablesTable {
  const out: IptablesTable = { table, policies: {}, chains: [], rules: [] };
  for (const line of text.split('\n')) {
    const words = splitWords(line.trim());
    if (words.length < 2) continue;
    if (words[0] === '-P' && words.length >= 3) out.policies[words[1]] = words[2];
    else if (words[0] === '-N') out.chains.push(words[1]);
    else if (words[0] === '-A') {
      const rule: IptablesRule = { table, chain: words[1], text: line.trim() };
      const j = words.findIndex((w) => w === '-j' || w === '-g');
      if (j >= 0 && j + 1 < words.length) rule.target = words[j + 1];
      const c = words.indexOf('--comment');
      if (c >= 0 && c + 1 < words.length) rule.comment = words[c + 1];
      out.rules.push(rule);
    }
  }
  return out;
}

/** Does this rule match exactly this address (as `-s/-d IP/32` or `--to-destination IP:port`)? */
export function mentionsIp(rule: IptablesRule, ip: string): boolean {
  const words = splitWords(rule.text);
  return words.some((w, i) => {
    const prev = words[i - 1];
    if (prev === '-s' || prev === '-d') return w === ip || w === `${ip}/32` || w === `${ip}/128`;
    if (prev === '--to-destination') return w === ip || w.startsWith(`${ip}:`) || w.startsWith(`[${ip}]:`);
    return false;
  });
}

/** The sandbox id a CNI plugin wrote into a rule comment (`… id: "<id>"`), if any. */
export function commentContainerId(rule: IptablesRule): string | undefined {
  const m = rule.comment?.match(/\bid: "?([0-9a-zA-Z_.-]+)"?/);
  return m?.[1];
}

export interface PodRules {
  /** Rules whose comment names this sandbox, and the rules of the chains they jump to. */
  owned: IptablesRule[];
  /** Rules that match the pod IP but carry another sandbox's id: left over by a pod that had this IP. */
  stale: IptablesRule[];
  /** Other rules that match the pod IP (firewall plugin rules carry no id). */
  byIp: IptablesRule[];
}

/**
 * Picks the pod's rules out of one table. CNI plugins tag their entry rule with the
 * container id (portmap: `dnat name: "net" id: "<id>"`, bridge ipMasq: `name: "net"
 * id: "<id>"`) and put the rest in a per-pod chain (CNI-DN-…, CNI-…) that the entry
 * rule jumps to, so we follow those jumps one level.
 */
export function podRules(t: IptablesTable, sandboxId: string, podIps: string[]): PodRules {
  const owned: IptablesRule[] = [];
  const stale: IptablesRule[] = [];
  const byIp: IptablesRule[] = [];
  const ownedChains = new Set<string>();
  for (const r of t.rules) {
    if (commentContainerId(r) === sandboxId) {
      owned.push(r);
      if (r.target && t.chains.includes(r.target)) ownedChains.add(r.target);
    }
  }
  for (const r of t.rules) {
    if (owned.includes(r)) continue;
    if (ownedChains.has(r.chain)) {
      owned.push(r);
      continue;
    }
    if (!podIps.some((ip) => mentionsIp(r, ip))) continue;
    const otherId = commentContainerId(r);
    if (otherId !== undefined && otherId !== sandboxId) stale.push(r);
    else byIp.push(r);
  }
  // A rule inside another pod's chain that targets our IP is stale too.
  const staleChains = new Set(stale.map((r) => r.chain).filter((c) => c.startsWith('CNI-') && !ownedChains.has(c)));
  for (const r of byIp.slice()) {
    if (staleChains.has(r.chain) || isInForeignPodChain(t, r, ownedChains, sandboxId)) {
      byIp.splice(byIp.indexOf(r), 1);
      stale.push(r);
    }
  }
  return { owned, stale, byIp };
}

/** A per-pod chain (CNI-DN-…) jumped to by a rule tagged with another sandbox id. */
function isInForeignPodChain(t: IptablesTable, rule: IptablesRule, ownedChains: Set<string>, sandboxId: string): boolean {
  if (!rule.chain.startsWith('CNI-DN-') || ownedChains.has(rule.chain)) return false;
  const entry = t.rules.find((r) => r.target === rule.chain);
  const id = entry ? commentContainerId(entry) : undefined;
  return id === undefined || id !== sandboxId;
}
