import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { register } from 'prom-client';
import { hashSecret, secretMatches } from '../auth/secrets';
import { APP_CONFIG, AppConfig } from '../config/app-config';

/**
 * Serves `GET /metrics` on its own listener (METRICS_HOST:METRICS_PORT, loopback by default), never on the public API
 * port: the counts span every tenant. With METRICS_TOKEN set it also wants that bearer token.
 */
@Injectable()
export class MetricsListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: Server | null = null;
  private readonly tokenHash: string | null;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.tokenHash = config.metricsToken === null ? null : hashSecret(config.metricsToken);
  }

  async onApplicationBootstrap(): Promise<void> {
    const server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.metricsPort, this.config.metricsHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Where it listens (its port is the bound one when METRICS_PORT is 0). */
  url(): string {
    const address = this.server?.address();
    if (!address || typeof address === 'string') throw new Error('the metrics listener is not listening');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    if (this.tokenHash !== null && !this.authorized(request.headers.authorization)) {
      response.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
      return;
    }
    try {
      const text = await register.metrics();
      response.writeHead(200, { 'content-type': register.contentType }).end(text);
    } catch {
      response.writeHead(500).end();
    }
  }

  /** Compared as hashes in constant time, so the time taken tells nothing about the token. */
  private authorized(header: string | undefined): boolean {
    return typeof header === 'string' && header.startsWith('Bearer ') && secretMatches(header.slice(7).trim(), this.tokenHash!);
  }
}
