import { describe, expect, it } from 'vitest';
import { planUpgrade } from '../../../src/streaming/upgrade.js';

const spdy = { connection: 'Upgrade', upgrade: 'SPDY/3.1' };
const ws = { connection: 'Upgrade', upgrade: 'websocket' };
const crictlOffers = 'v5.channel.k8s.io, v4.channel.k8s.io, v3.channel.k8s.io, v2.channel.k8s.io, channel.k8s.io';

describe('planUpgrade', () => {
  it.each([
    ['crictl SPDY exec → v5', 'exec', 'POST', { ...spdy, 'x-stream-protocol-version': crictlOffers }, { transport: 'spdy', protocol: 'v5.channel.k8s.io' }],
    ['an old client preferring v4', 'attach', 'POST', { ...spdy, 'x-stream-protocol-version': ['v4.channel.k8s.io', 'v3.channel.k8s.io'] }, { transport: 'spdy', protocol: 'v4.channel.k8s.io' }],
    ['no negotiation at all → legacy', 'exec', 'GET', spdy, { transport: 'spdy', protocol: '' }],
    ['port forward SPDY', 'portforward', 'POST', { ...spdy, 'x-stream-protocol-version': 'portforward.k8s.io' }, { transport: 'spdy', protocol: 'portforward.k8s.io' }],
    ['header case does not matter', 'exec', 'POST', { connection: 'keep-alive, upgrade', upgrade: 'spdy/3.1' }, { transport: 'spdy', protocol: '' }],
    ['crictl --transport websocket', 'exec', 'GET', { ...ws, 'sec-websocket-protocol': 'v5.channel.k8s.io' }, { transport: 'websocket', protocol: 'v5.channel.k8s.io' }],
    ['kubectl port-forward tunnel', 'portforward', 'GET', { ...ws, 'sec-websocket-protocol': 'SPDY/3.1+portforward.k8s.io' }, { transport: 'websocket', protocol: 'SPDY/3.1+portforward.k8s.io' }],
    ['WebSocket port forward, channel form', 'portforward', 'GET', { ...ws, 'sec-websocket-protocol': 'v4.channel.k8s.io' }, { transport: 'websocket', protocol: 'v4.channel.k8s.io' }],
  ])('%s', (_name, kind, method, headers, expected) => {
    expect(planUpgrade(kind as 'exec', method, headers)).toEqual(expected);
  });

  it.each([
    ['no shared SPDY protocol → 403 listing ours', 'exec', 'POST', { ...spdy, 'x-stream-protocol-version': 'v9.channel.k8s.io' }, 403],
    ['exec protocols at a port-forward URL → 403', 'portforward', 'POST', { ...spdy, 'x-stream-protocol-version': crictlOffers }, 403],
    ['no upgrade headers → 400', 'exec', 'POST', { 'x-stream-protocol-version': 'v4.channel.k8s.io' }, 400],
    ['another upgrade → 400', 'exec', 'POST', { connection: 'Upgrade', upgrade: 'h2c' }, 400],
    ['no shared WebSocket protocol → 403', 'exec', 'GET', { ...ws, 'sec-websocket-protocol': 'v4.base64.channel.k8s.io' }, 403],
    ['a WebSocket upgrade by POST → 400', 'exec', 'POST', { ...ws, 'sec-websocket-protocol': 'v5.channel.k8s.io' }, 400],
  ])('%s', (_name, kind, method, headers, status) => {
    const plan = planUpgrade(kind as 'exec', method, headers);
    expect(plan).toMatchObject({ status });
  });

  it('a 403 for SPDY lists what we support, as X-Stream-Protocol-Version headers', () => {
    const plan = planUpgrade('exec', 'POST', { ...spdy, 'x-stream-protocol-version': 'v9.channel.k8s.io' });
    expect(plan).toMatchObject({ headers: expect.arrayContaining([['X-Stream-Protocol-Version', 'v5.channel.k8s.io']]) });
    expect('message' in plan && plan.message).toContain('unable to negotiate protocol');
  });
});
