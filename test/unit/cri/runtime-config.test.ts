import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import { podCidrsFromCri, runtimeConfigHandlers } from '../../../src/cri/runtime-config-handlers.js';
import type { CallContext } from '../../../src/cri/instrument.js';
import { createLogger } from '../../../src/logger.js';
import { NodeNetworkConfig } from '../../../src/runtime/node-network-config.js';

const FIELD = 'runtime_config.network_config.pod_cidr';

describe('podCidrsFromCri', () => {
  it.each([
    ['', []],
    ['10.244.1.0/24', ['10.244.1.0/24']],
    ['10.244.1.0/24,fd00:10:244:1::/64', ['10.244.1.0/24', 'fd00:10:244:1::/64']],
    ['0.0.0.0/0', ['0.0.0.0/0']],
  ])('%j → %j', (value, cidrs) => {
    expect(podCidrsFromCri(value, FIELD)).toEqual(cidrs);
  });

  it.each([
    ['10.244.1.0', `${FIELD}[0]`],
    ['10.244.1.0/33', `${FIELD}[0]`],
    ['fd00::/129', `${FIELD}[0]`],
    ['10.244.1.0/24,', `${FIELD}[1]`],
    ['10.244.1.0/24, fd00::/64', `${FIELD}[1]`],
    ['host/24', `${FIELD}[0]`],
    ['10.244.1.0/24\n', `${FIELD}[0]`],
  ])('refuses %j naming %s', (value, field) => {
    expect(() => podCidrsFromCri(value, FIELD)).toThrow(InvalidArgumentError);
    expect(() => podCidrsFromCri(value, FIELD)).toThrow(field);
  });
});

describe('UpdateRuntimeConfig and NodeNetworkConfig', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the pod CIDR across a restart, ignores an empty one, refuses a bad one and keeps the old', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cri-shim-rtc-'));
    const logger = createLogger('silent');
    const node = new NodeNetworkConfig(join(dir, 'state'), logger);
    await node.load();
    expect(node.podCidrs()).toEqual([]);
    const h = runtimeConfigHandlers(node);
    const ctx = {} as CallContext;
    const update = (pod_cidr: string) => h.UpdateRuntimeConfig!({ runtime_config: { network_config: { pod_cidr } } }, ctx);

    await expect(update('10.244.7.0/24')).resolves.toEqual({});
    expect(node.podCidrs()).toEqual(['10.244.7.0/24']);
    await update('');
    await expect(update('10.244.7.0/99')).rejects.toThrow(`${FIELD}[0]`);
    await expect(h.UpdateRuntimeConfig!({ runtime_config: null }, ctx)).resolves.toEqual({});
    expect(node.podCidrs()).toEqual(['10.244.7.0/24']);

    const again = new NodeNetworkConfig(join(dir, 'state'), logger);
    await again.load();
    expect(again.podCidrs()).toEqual(['10.244.7.0/24']);
    expect(JSON.parse(readFileSync(join(dir, 'state', 'node-network-config.json'), 'utf8')).podCidrs).toEqual(['10.244.7.0/24']);
  });
});
