/**
 * The `--metrics-address` endpoint: plain HTTP, bound to exactly the address given,
 * `GET /metrics` answers the Prometheus text format, every other path is 404.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { splitHostPort } from '../host-port.js';
import type { Logger } from '../logger.js';
import type { ShimMetrics } from './shim-metrics.js';

export class MetricsServer {
  private readonly http: Server;
  private bound: string | undefined;

  constructor(
    private readonly address: string,
    private readonly metrics: ShimMetrics,
    private readonly logger: Logger,
  ) {
    this.http = createServer((req, res) => void this.serve(req, res));
  }

  /** The address actually bound (`127.0.0.1:41234` when the port asked was 0). */
  get boundAddress(): string | undefined {
    return this.bound;
  }

  async start(): Promise<void> {
    const { host, port } = splitHostPort(this.address);
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    const info = this.http.address() as AddressInfo;
    this.bound = `${info.family === 'IPv6' ? `[${info.address}]` : info.address}:${info.port}`;
    this.logger.info({ address: this.bound }, 'metrics server listening');
  }

  async stop(): Promise<void> {
    if (!this.http.listening) return;
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return reply(res, 404, 'not found: metrics are at /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return reply(res, 405, 'method not allowed\n');
    }
    try {
      const { contentType, body } = await this.metrics.render();
      res.writeHead(200, { 'Content-Type': contentType });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'cannot render metrics');
      reply(res, 500, 'cannot render metrics\n');
    }
  }
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}
