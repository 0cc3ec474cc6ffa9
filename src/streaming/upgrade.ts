/**
 * What to do with a request to a streaming URL, decided from its headers alone (pure,
 * so it is tested with a table): upgrade to SPDY or WebSocket with which protocol,
 * or refuse with the HTTP error the kubelet's streaming library would answer.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { HttpError } from './http-replies.js';
import {
  headerList,
  negotiate,
  SPDY_PORT_FORWARD_PROTOCOLS,
  SPDY_REMOTE_COMMAND_PROTOCOLS,
  WS_PORT_FORWARD_PROTOCOLS,
  WS_REMOTE_COMMAND_PROTOCOLS,
} from './protocols.js';
import type { StreamKind } from './requests.js';

export type UpgradePlan = { transport: 'spdy' | 'websocket'; protocol: string };

export function isWebSocketUpgrade(headers: IncomingHttpHeaders): boolean {
  return headerList(headers.connection).some((v) => v.toLowerCase() === 'upgrade') && (headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/**
 * `protocol` is '' when the client offered none: legacy clients, served the oldest way
 * (v1 remote command; for port forward the only way there is).
 */
export function planUpgrade(kind: StreamKind, method: string, headers: IncomingHttpHeaders): UpgradePlan | HttpError {
  if (isWebSocketUpgrade(headers)) {
    if (method !== 'GET') return { status: 400, message: 'unable to upgrade: a WebSocket upgrade must be a GET' };
    const offers = headerList(headers['sec-websocket-protocol']);
    const supported = kind === 'portforward' ? WS_PORT_FORWARD_PROTOCOLS : WS_REMOTE_COMMAND_PROTOCOLS;
    const protocol = negotiate(offers, supported);
    if (offers.length && !protocol) {
      return { status: 403, message: `requested protocol(s) are not supported: [${offers.join(' ')}]; supports [${supported.join(' ')}]` };
    }
    return { transport: 'websocket', protocol: protocol ?? '' };
  }
  // SPDY: protocol negotiation comes first, then the upgrade headers (httpstream.Handshake, then the upgrader).
  const offers = headerList(headers['x-stream-protocol-version']);
  const supported = kind === 'portforward' ? SPDY_PORT_FORWARD_PROTOCOLS : SPDY_REMOTE_COMMAND_PROTOCOLS;
  const protocol = negotiate(offers, supported);
  if (offers.length && !protocol) {
    return {
      status: 403,
      message: `unable to upgrade: unable to negotiate protocol: client supports [${offers.join(' ')}], server accepts [${supported.join(' ')}]`,
      headers: supported.map((p) => ['X-Stream-Protocol-Version', p] as [string, string]),
    };
  }
  const connectionUpgrade = headerList(headers.connection).some((v) => v.toLowerCase() === 'upgrade');
  if (!connectionUpgrade || (headers.upgrade ?? '').toLowerCase() !== 'spdy/3.1') {
    return { status: 400, message: 'unable to upgrade: missing upgrade headers in request (want Connection: Upgrade, Upgrade: SPDY/3.1 or websocket)' };
  }
  return { transport: 'spdy', protocol: protocol ?? '' };
}
