import { describe, expect, it } from 'vitest';
import { CniResultError } from '../../../src/cni/errors.js';
import { convertResult, encodeResult, parseResult, podIpsFromResult } from '../../../src/cni/result.js';

const v100 = {
  cniVersion: '1.0.0',
  interfaces: [
    { name: 'cni0', mac: 'aa:aa:aa:aa:aa:01' },
    { name: 'veth1', mac: 'aa:aa:aa:aa:aa:02' },
    { name: 'eth0', mac: 'aa:aa:aa:aa:aa:03', sandbox: '/var/run/netns/p' },
  ],
  ips: [
    { address: '10.88.0.1/16', interface: 0 },
    { address: '10.88.0.7/16', gateway: '10.88.0.1', interface: 2 },
    { address: 'fd00::7/64', gateway: 'fd00::1', interface: 2 },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '10.88.0.1' }, { dst: '::/0' }],
  dns: { nameservers: ['10.96.0.10'], search: ['cluster.local'] },
};

describe('CNI results', () => {
  it('parses 1.0.0 into the typed model, IP versions derived from the address', () => {
    const r = parseResult(v100, '1.0.0');
    expect(r.cniVersion).toBe('1.0.0');
    expect(r.ips.map((i) => i.version)).toEqual([4, 4, 6]);
    expect(r.ips[1]).toEqual({ address: '10.88.0.7/16', gateway: '10.88.0.1', interface: 2, version: 4 });
    expect(r.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.88.0.1' }, { dst: '::/0' }]);
    expect(r.dns).toEqual(v100.dns);
  });

  it('parses 0.3.1/0.4.0 (ips with "version")', () => {
    const r = parseResult({ cniVersion: '0.4.0', ips: [{ version: '6', address: 'fd00::2/64', interface: 0 }], interfaces: [{ name: 'eth0', sandbox: '/x' }] }, '0.4.0');
    expect(r.ips).toEqual([{ address: 'fd00::2/64', interface: 0, version: 6 }]);
  });

  it('parses 1.1.0 extras (interface mtu/socketPath/pciID, route mtu/table/scope…)', () => {
    const r = parseResult(
      {
        cniVersion: '1.1.0',
        interfaces: [{ name: 'eth0', mtu: 9000, socketPath: '/s', pciID: '0000:00:01.0', sandbox: '/n' }],
        routes: [{ dst: '10.0.0.0/8', gw: '10.1.1.1', mtu: 1400, advmss: 1360, priority: 10, table: 100, scope: 253 }],
      },
      '1.1.0',
    );
    expect(r.interfaces[0]).toEqual({ name: 'eth0', mtu: 9000, socketPath: '/s', pciID: '0000:00:01.0', sandbox: '/n' });
    expect(r.routes[0]).toMatchObject({ mtu: 1400, advmss: 1360, priority: 10, table: 100, scope: 253 });
  });

  it('parses legacy 0.2.0 ip4/ip6 blocks', () => {
    const r = parseResult(
      {
        cniVersion: '0.2.0',
        ip4: { ip: '10.1.0.5/24', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0' }] },
        ip6: { ip: 'fd01::5/64' },
        dns: { nameservers: ['1.1.1.1'] },
      },
      '0.2.0',
    );
    expect(r.ips).toEqual([
      { address: '10.1.0.5/24', gateway: '10.1.0.1', version: 4 },
      { address: 'fd01::5/64', version: 6 },
    ]);
    expect(r.routes).toEqual([{ dst: '0.0.0.0/0' }]);
    expect(podIpsFromResult(r)).toEqual({ ips: ['10.1.0.5', 'fd01::5'], ipv4: '10.1.0.5', ipv6: 'fd01::5' });
  });

  it('takes the config version when the plugin leaves cniVersion out (as libcni does)', () => {
    expect(parseResult({ ips: [{ address: '10.0.0.2/8' }] }, '1.0.0').cniVersion).toBe('1.0.0');
  });

  it.each([
    [[1, 2], 'not a JSON object'],
    [{ cniVersion: '7.0.0' }, 'unsupported cniVersion "7.0.0"'],
    [{ cniVersion: '1.0.0', ips: [{ gateway: '1.2.3.4' }] }, 'ips[0].address is missing'],
    [{ cniVersion: '1.0.0', ips: [{ address: '1.2.3.4/8', interface: -1 }] }, 'ips[0].interface is not an index'],
    [{ cniVersion: '1.0.0', interfaces: [{ mac: 'x' }] }, 'interfaces[0].name is missing'],
    [{ cniVersion: '1.0.0', dns: [] }, 'dns is not an object'],
    [{ cniVersion: '1.0.0', routes: [{ gw: '1.1.1.1' }] }, 'routes[0].dst is missing'],
  ])('refuses malformed result %j', (data, reason) => {
    expect(() => parseResult(data, '1.0.0')).toThrow(CniResultError);
    expect(() => parseResult(data, '1.0.0')).toThrow(reason);
  });

  it('encodes to its own version byte-for-byte, unknown fields included', () => {
    const withExtra = { ...v100, 'vendor.example/extra': { a: 1 } };
    expect(encodeResult(parseResult(withExtra, '1.0.0'), '1.0.0')).toEqual(withExtra);
  });

  it('down-converts 1.0.0 → 0.4.0 (adds ips[].version) and → 0.2.0 (ip4/ip6)', () => {
    const r = parseResult(v100, '1.0.0');
    const v040 = encodeResult(r, '0.4.0');
    expect(v040.cniVersion).toBe('0.4.0');
    expect(v040.ips).toEqual([
      { version: '4', address: '10.88.0.1/16', interface: 0 },
      { version: '4', address: '10.88.0.7/16', gateway: '10.88.0.1', interface: 2 },
      { version: '6', address: 'fd00::7/64', gateway: 'fd00::1', interface: 2 },
    ]);
    expect(encodeResult(r, '0.2.0')).toEqual({
      cniVersion: '0.2.0',
      ip4: { ip: '10.88.0.1/16', routes: [{ dst: '0.0.0.0/0', gw: '10.88.0.1' }] },
      ip6: { ip: 'fd00::7/64', gateway: 'fd00::1', routes: [{ dst: '::/0' }] },
      dns: v100.dns,
    });
  });

  it('drops 1.1-only fields when converting to 1.0.0 and keeps them up to 1.1.0', () => {
    const r = parseResult(
      { cniVersion: '1.1.0', interfaces: [{ name: 'eth0', mtu: 1400 }], routes: [{ dst: '0.0.0.0/0', table: 5 }] },
      '1.1.0',
    );
    expect(encodeResult(r, '1.0.0')).toEqual({ cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }], routes: [{ dst: '0.0.0.0/0' }] });
    const up = convertResult(parseResult(v100, '1.0.0'), '1.1.0');
    expect(up.cniVersion).toBe('1.1.0');
    expect(up.ips).toEqual(parseResult(v100, '1.0.0').ips);
  });

  it('up-converts 0.3.1 → 1.0.0 without the version field', () => {
    const r = parseResult({ cniVersion: '0.3.1', ips: [{ version: '4', address: '10.0.0.2/8' }] }, '0.3.1');
    expect(encodeResult(r, '1.0.0')).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/8' }] });
  });

  describe('podIpsFromResult', () => {
    it('takes IPs on sandbox interfaces, never the host-side gateway', () => {
      expect(podIpsFromResult(parseResult(v100, '1.0.0'))).toEqual({
        ips: ['10.88.0.7', 'fd00::7'],
        ipv4: '10.88.0.7',
        ipv6: 'fd00::7',
      });
    });

    it('puts the requested interface first', () => {
      const r = parseResult(
        {
          cniVersion: '1.0.0',
          interfaces: [{ name: 'net1', sandbox: '/n' }, { name: 'eth0', sandbox: '/n' }],
          ips: [{ address: '192.168.1.5/24', interface: 0 }, { address: '10.0.0.5/24', interface: 1 }],
        },
        '1.0.0',
      );
      expect(podIpsFromResult(r, 'eth0')).toEqual({ ips: ['10.0.0.5', '192.168.1.5'], ipv4: '10.0.0.5' });
      expect(podIpsFromResult(r)).toEqual({ ips: ['192.168.1.5', '10.0.0.5'], ipv4: '192.168.1.5' });
    });

    it('falls back to IPs without an interface (IPAM-style results)', () => {
      const r = parseResult({ cniVersion: '1.0.0', ips: [{ address: 'fd00::9/64' }] }, '1.0.0');
      expect(podIpsFromResult(r)).toEqual({ ips: ['fd00::9'], ipv6: 'fd00::9' });
    });

    it('finds nothing in an empty result', () => {
      expect(podIpsFromResult(parseResult({ cniVersion: '1.0.0' }, '1.0.0'))).toEqual({ ips: [] });
    });
  });
});
