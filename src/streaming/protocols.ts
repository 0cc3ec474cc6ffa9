/**
 * Stream protocol names and their negotiation, as the kubelet's streaming library
 * (k8s.io/apimachinery httpstream, wsstream) does it: the client lists what it speaks
 * in preference order and the server takes the first one it also speaks.
 */

/** Remote command over SPDY (`X-Stream-Protocol-Version`). v5 differs from v4 only over WebSocket. */
export const SPDY_REMOTE_COMMAND_PROTOCOLS = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v3.channel.k8s.io',
  'v2.channel.k8s.io',
  'channel.k8s.io',
] as const;

export const SPDY_PORT_FORWARD_PROTOCOLS = ['portforward.k8s.io'] as const;

/** Remote command over WebSocket (`Sec-WebSocket-Protocol`); v5 adds the close signal. */
export const WS_REMOTE_COMMAND_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'channel.k8s.io'] as const;

/**
 * Port forward over WebSocket: SPDY tunnelled in binary messages (kubectl ≥ 1.30 through
 * the API server), or the channel form with the 2-byte little-endian port prefix.
 */
export const WS_SPDY_TUNNEL_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';
export const WS_PORT_FORWARD_PROTOCOLS = [WS_SPDY_TUNNEL_PROTOCOL, 'v4.channel.k8s.io'] as const;

/** The first protocol the client offers that we speak; null when there is none. */
export function negotiate(clientOffers: readonly string[], supported: readonly string[]): string | null {
  for (const offer of clientOffers) if (supported.includes(offer)) return offer;
  return null;
}

/** 1 for `channel.k8s.io` (and a client that negotiated nothing), else the vN prefix. */
export function remoteCommandVersion(protocol: string): number {
  const m = /^v(\d+)\./.exec(protocol);
  return m ? Number(m[1]) : 1;
}

/** Header values that may repeat or be comma-joined, as Node hands them over. */
export function headerList(value: string | string[] | undefined): string[] {
  const all = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return all.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}
