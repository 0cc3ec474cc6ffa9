import { describe, expect, it } from 'vitest';
import { commentContainerId, mentionsIp, parseIptables, podRules, splitWords } from '../../../src/explain/iptables.js';

describe('iptables -S parsing', () => {
  it('splits words and unquotes comments with escaped quotes', () => {
    expect(splitWords('-A X -m comment --comment "dnat name: \\"net\\" id: \\"abc\\"" -j Y')).toEqual([
      '-A', 'X', '-m', 'comment', '--comment', 'dnat name: "net" id: "abc"', '-j', 'Y',
    ]);
  });

  it('reads policies, chains, targets and comments', () => {
    const t = parseIptables('filter', '-P FORWARD DROP\n-N CNI-FORWARD\n-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD\n');
    expect(t.policies).toEqual({ FORWARD: 'DROP' });
    expect(t.chains).toEqual(['CNI-FORWARD']);
    expect(t.rules).toEqual([
      { table: 'filter', chain: 'FORWARD', text: '-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD', target: 'CNI-FORWARD', comment: 'CNI firewall plugin rules' },
    ]);
  });

  it('matches an IP exactly, never by prefix', () => {
    const [r] = parseIptables('filter', '-A CNI-FORWARD -s 10.88.1.20/32 -j ACCEPT').rules;
    expect(mentionsIp(r, '10.88.1.20')).toBe(true);
    expect(mentionsIp(r, '10.88.1.2')).toBe(false);
    const [d] = parseIptables('nat', '-A CNI-DN-x -p tcp -j DNAT --to-destination 10.88.1.2:80').rules;
    expect(mentionsIp(d, '10.88.1.2')).toBe(true);
    expect(mentionsIp(d, '10.88.1.20')).toBe(false);
  });

  it('follows the masquerade jump of bridge ipMasq into its per-pod chain', () => {
    const nat = parseIptables(
      'nat',
      [
        '-N CNI-0123',
        '-A POSTROUTING -s 10.88.1.2/32 -m comment --comment "name: \\"net\\" id: \\"pod1\\"" -j CNI-0123',
        '-A CNI-0123 -d 10.88.1.0/24 -m comment --comment "name: \\"net\\" id: \\"pod1\\"" -j ACCEPT',
        '-A CNI-0123 ! -d 224.0.0.0/4 -m comment --comment "name: \\"net\\" id: \\"pod1\\"" -j MASQUERADE',
      ].join('\n'),
    );
    expect(commentContainerId(nat.rules[0])).toBe('pod1');
    const mine = podRules(nat, 'pod1', ['10.88.1.2']);
    expect(mine.owned.map((r) => r.target)).toEqual(['CNI-0123', 'ACCEPT', 'MASQUERADE']);
    expect(podRules(nat, 'pod2', ['10.88.1.2']).stale).toHaveLength(1);
  });
});
