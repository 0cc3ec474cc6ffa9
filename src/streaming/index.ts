/** The streaming server's public face: what src/shim.ts and src/cri need. */
export { StreamingServer, type StreamingServerOptions } from './server.js';
export type { StreamRequest, StdioOptions } from './requests.js';
