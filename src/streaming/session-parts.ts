/**
 * What only a live streaming session needs: ws, our SPDY framing and the exec/attach/
 * port-forward plumbing. server.ts imports this module at the first upgrade, not at
 * start: a node that never runs `kubectl exec` keeps ~1 MB of heap it would never use.
 */
export { WebSocketServer } from 'ws';
export { SpdyConnection } from './spdy/connection.js';
export { serveSpdySession, serveWebSocketSession } from './sessions.js';
