/**
 * Analysis of node readings captured from a real pod on this machine (a bridge +
 * portmap + firewall chain, hostPort 18080 → 80): once whole, once after
 * `ip link del` of the host veth. Variants are made by editing copies of them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../../src/explain/analyze.js';
import type { ExplainInputs } from '../../../src/explain/inputs.js';

const DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'explain');
const load = (name: string): ExplainInputs => JSON.parse(readFileSync(join(DIR, name), 'utf8')) as ExplainInputs;
const POD_IP = '10.88.120.2';

describe('analyze: a whole path', () => {
  const e = analyze(load('healthy.json'));

  it('finds no problem', () => {
    expect(e.problems).toEqual([]);
  });

  it('names the pod interface, its host veth peer (by ifindex) and the bridge with its ports', () => {
    expect(e.podInterface).toMatchObject({ name: 'eth0', ifindex: 2, peerIfindex: 142, addresses: [`${POD_IP}/24`] });
    expect(e.hostVeth).toMatchObject({ name: 'veth4a3cf988', ifindex: 142, master: 'e1cap0', operstate: 'UP' });
    expect(e.bridge).toMatchObject({ name: 'e1cap0', ports: ['veth4a3cf988'] });
    expect(e.bridge?.addresses).toContain('10.88.120.1/24');
    expect(e.podRoutes).toEqual([`10.88.120.0/24 dev eth0 src ${POD_IP}`]);
  });

  it('keeps only this pod\'s rules: the hostPort DNAT chain and the firewall accepts, not other pods\'', () => {
    const nat = e.iptables.nat.map((r) => r.text);
    expect(nat.some((t) => t.includes(`--to-destination ${POD_IP}:80`))).toBe(true);
    expect(nat.some((t) => t.startsWith('-A CNI-HOSTPORT-DNAT') && t.includes(e.pod.id))).toBe(true);
    expect(e.iptables.filter.map((r) => r.text)).toEqual([
      `-A CNI-FORWARD -d ${POD_IP}/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
      `-A CNI-FORWARD -s ${POD_IP}/32 -j ACCEPT`,
    ]);
    // The capture also holds another suite's pod (10.88.21.2): none of its rules is ours.
    expect([...nat, ...e.iptables.filter.map((r) => r.text)].some((t) => t.includes('10.88.21.'))).toBe(false);
    expect(e.iptables.forwardPolicy).toBe('DROP');
  });

  it('says what each plugin of the chain did', () => {
    expect(e.cni.plugins.map((p) => p.type)).toEqual(['bridge', 'portmap', 'firewall']);
    expect(e.cni.plugins[0].did.join('\n')).toContain(`IP ${POD_IP}/24 gateway 10.88.120.1 on eth0 (from ipam host-local)`);
    expect(e.cni.plugins[1].did).toEqual(['1 hostPort DNAT rule(s) in nat (CNI-HOSTPORT-DNAT → CNI-DN-…)']);
    expect(e.cni.plugins[2].did).toEqual(['2 accept rule(s) for the pod IP in filter CNI-FORWARD']);
  });

  it('tells which namespaces the workload shares with the pause container', () => {
    const [pause, httpd] = e.namespaces;
    expect(pause.name).toBe('(pause)');
    expect(httpd.name).toBe('httpd');
    expect(httpd.net).toEqual({ inode: pause.net.inode, shared: 'pause' });
    expect(httpd.ipc.shared).toBe('pause');
    expect(httpd.uts.shared).toBe('own');
    expect(e.netns.inode).toBe(pause.net.inode);
  });

  it('shows the pod\'s hosts file mapping the pod IP', () => {
    expect(e.hosts?.content).toContain(`${POD_IP}\tweb`);
  });
});

describe('analyze: what is flagged', () => {
  it('a deleted host veth (real capture): both ends of the pair gone, the IP with them', () => {
    const e = analyze(load('veth-deleted.json'));
    expect(e.podInterface).toBeNull();
    expect(e.hostVeth).toBeNull();
    expect(e.expected).toEqual({ podInterface: 'eth0', hostVeth: 'veth4a3cf988', bridge: 'e1cap0' });
    expect(e.problems).toEqual([
      'no interface eth0 inside the pod\'s netns (its veth pair is gone)',
      `IP ${POD_IP}/24 from the CNI result is not on eth0 in the pod`,
      'host veth veth4a3cf988 (named in the CNI result) does not exist',
    ]);
  });

  it('an IP missing from the pod interface', () => {
    const inp = load('healthy.json');
    const eth0 = inp.podLinks!.find((l) => l.ifname === 'eth0')!;
    eth0.addr_info = [];
    expect(analyze(inp).problems).toEqual([`IP ${POD_IP}/24 from the CNI result is not on eth0 in the pod`]);
  });

  it('a veth detached from the bridge', () => {
    const inp = load('healthy.json');
    delete inp.hostLinks.find((l) => l.ifname === 'veth4a3cf988')!.master;
    expect(analyze(inp).problems).toEqual(['host veth veth4a3cf988 is attached to no bridge, expected e1cap0']);
  });

  it('a missing bridge', () => {
    const inp = load('healthy.json');
    inp.hostLinks = inp.hostLinks.filter((l) => l.ifname !== 'e1cap0');
    expect(analyze(inp).problems).toContain('bridge e1cap0 does not exist');
  });

  it('a stale DNAT rule another sandbox left for the pod IP', () => {
    const inp = load('healthy.json');
    const other = 'deadbeef'.repeat(8);
    inp.iptablesNat += [
      '-N CNI-DN-stale0000000000000000',
      `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"e1cap\\" id: \\"${other}\\"" -m multiport --dports 19090 -j CNI-DN-stale0000000000000000`,
      `-A CNI-DN-stale0000000000000000 -p tcp -m tcp --dport 19090 -j DNAT --to-destination ${POD_IP}:9090`,
      '',
    ].join('\n');
    const e = analyze(inp);
    expect(e.iptables.stale.map((r) => r.text)).toEqual([`-A CNI-DN-stale0000000000000000 -p tcp -m tcp --dport 19090 -j DNAT --to-destination ${POD_IP}:9090`]);
    expect(e.problems).toEqual([`stale nat rule for the pod IP, left by another sandbox: ${e.iptables.stale[0].text}`]);
  });

  it('a hostPort without its DNAT rule, and a firewall plugin without its accept rules', () => {
    const inp = load('healthy.json');
    inp.iptablesNat = inp.iptablesNat!.split('\n').filter((l) => !l.includes('DNAT --to-destination')).join('\n');
    inp.iptablesFilter = inp.iptablesFilter!.split('\n').filter((l) => !l.includes(POD_IP)).join('\n');
    expect(analyze(inp).problems).toEqual([
      'hostPort 18080/tcp → 80: no DNAT rule found',
      `the firewall plugin is in the chain but CNI-FORWARD has no accept rule for ${POD_IP}`,
    ]);
  });

  it('FORWARD DROP with no firewall plugin in the chain', () => {
    const inp = load('healthy.json');
    const conf = inp.networkConf as { plugins: Array<{ type: string }> };
    conf.plugins = conf.plugins.filter((p) => p.type !== 'firewall');
    expect(analyze(inp).problems).toEqual([
      'FORWARD policy is DROP and the chain has no firewall plugin: traffic routed to this pod is dropped (add {"type":"firewall"} to the chain)',
    ]);
  });

  it('a netns file gone, and a workload outside the pod network namespace', () => {
    const inp = load('healthy.json');
    inp.netnsInode = null;
    inp.dockerContainers[1].ns.net = '4026530000';
    const problems = analyze(inp).problems;
    expect(problems).toContain(`netns file ${inp.sandbox.netnsPath} is missing (Docker removes it when the pause container stops)`);
    expect(problems).toContain('container httpd is not in the pod\'s network namespace');
  });

  it('no cache entry', () => {
    const inp = load('healthy.json');
    inp.cache = { path: '/x/results/n-id-eth0', entry: null, error: 'no file' };
    expect(analyze(inp).problems[0]).toBe('no CNI cache entry at /x/results/n-id-eth0 (no file): DEL will run from the state record only');
  });
});

/**
 * legacy-0.2.0.json: healthy.json with the network at cniVersion 0.2.0, whose result
 * has `ip4` instead of `ips` (SPEC before 0.3.0) and no interfaces.
 */
describe('analyze: a result older than CNI 0.3', () => {
  it('reads the IP, gateway and route from ip4, as the engine does', () => {
    const e = analyze(load('legacy-0.2.0.json'));
    expect(e.problems).toEqual([]);
    expect(e.cni.cniVersion).toBe('0.2.0');
    expect(e.cni.plugins[0].did).toEqual([`IP ${POD_IP}/24 gateway 10.88.120.1 (from ipam host-local)`, 'route 0.0.0.0/0']);
  });

  it('flags the result IP missing from the pod interface', () => {
    const inp = load('legacy-0.2.0.json');
    inp.podLinks!.find((l) => l.ifname === 'eth0')!.addr_info = [];
    expect(analyze(inp).problems).toEqual([`IP ${POD_IP}/24 from the CNI result is not on eth0 in the pod`]);
  });

  it('without a cache entry, takes the pod IPs from the result kept in the sandbox record', () => {
    const inp = load('legacy-0.2.0.json');
    inp.cache = { path: '/x/results/n-id-eth0', entry: null, error: 'no file' };
    inp.sandbox.ips = [];
    const e = analyze(inp);
    expect(e.pod.ips).toEqual([POD_IP]);
    expect(e.cni.plugins[0].did[0]).toBe(`IP ${POD_IP}/24 gateway 10.88.120.1 (from ipam host-local)`);
  });

  it('says so when the result cannot be read, instead of checking nothing silently', () => {
    const inp = load('legacy-0.2.0.json');
    inp.cache.entry!.result = { cniVersion: '0.2.0', ip4: { gateway: '10.88.120.1' } };
    expect(analyze(inp).problems).toEqual([
      'the CNI result cannot be read (malformed CNI result: ip4.ip is missing): its IPs and interfaces are not checked',
    ]);
  });
});
