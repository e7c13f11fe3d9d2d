import { createServer, Server } from 'node:http';
import type { AgentMetrics } from './agent-metrics';

/**
 * `GET /metrics` on 127.0.0.1 only: the figures (peer keys, handshake ages) are for a local scraper, never the
 * network. Anything else is a 404.
 */
export class MetricsServer {
  private server: Server | null = null;

  constructor(private readonly metrics: AgentMetrics, private readonly port: number) {}

  async start(): Promise<void> {
    const server = createServer((request, response) => {
      if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
        response.writeHead(404).end();
        return;
      }
      this.metrics.text().then(
        (text) => response.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(text),
        () => response.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  /** The bound port (the configured one, or the one picked for port 0). */
  get boundPort(): number {
    const address = this.server?.address();
    if (!address || typeof address === 'string') throw new Error('the metrics server is not listening');
    return address.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
