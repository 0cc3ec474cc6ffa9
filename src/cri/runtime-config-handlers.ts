/**
 * UpdateRuntimeConfig: the kubelet hands over the node's pod CIDR once it knows it
 * (`network_config.pod_cidr`, comma-separated for dual-stack). An empty value is
 * ignored, as the CRI says; a malformed one is INVALID_ARGUMENT naming the field.
 */
import { isIP } from 'node:net';
import type { NodeNetworkConfig } from '../runtime/node-network-config.js';
import { nowNs } from '../runtime/time.js';
import type { UnaryHandler } from './instrument.js';
import { invalid } from './pod-convert.js';
import type { UpdateRuntimeConfigRequest__Output, UpdateRuntimeConfigResponse } from './proto.js';

function cidr(value: string, field: string): string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(value);
  const family = m ? isIP(m[1]!) : 0;
  const bits = m ? Number(m[2]) : NaN;
  if (!family || bits > (family === 4 ? 32 : 128)) throw invalid(field, `is not a CIDR (such as 10.244.1.0/24): "${value}"`);
  return value;
}

/** `"10.244.1.0/24,fd00:10:244:1::/64"` → both; `""` → none. */
export function podCidrsFromCri(value: string, field: string): string[] {
  if (value === '') return [];
  return value.split(',').map((c, i) => cidr(c, `${field}[${i}]`));
}

export function runtimeConfigHandlers(node: NodeNetworkConfig): Record<string, UnaryHandler> {
  return {
    UpdateRuntimeConfig: async (req: UpdateRuntimeConfigRequest__Output): Promise<UpdateRuntimeConfigResponse> => {
      const field = 'runtime_config.network_config.pod_cidr';
      const cidrs = podCidrsFromCri(req.runtime_config?.network_config?.pod_cidr ?? '', field);
      if (cidrs.length) await node.setPodCidrs(cidrs, nowNs());
      return {};
    },
  };
}
