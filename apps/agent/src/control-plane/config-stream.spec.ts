import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConfigPatch, NodeConfig } from '../contracts';
import { createLogger } from '../logger';
import { Backoff } from './backoff';
import { ConfigStream } from './config-stream';
import { ControlPlaneClient } from './control-plane-client';

const config: NodeConfig = { version: 1, interface: { address: '100.64.0.2/10', listenPort: 51820 }, peers: [], routes: [], servedRoutes: [], firewall: [], qos: [] };
const patch: ConfigPatch = { version: 2, baseVersion: 1, peersUpserted: [], peersRemoved: [] };

describe('ConfigStream', () => {
  let server: Server;
  let baseUrl: string;
  let handle: (req: IncomingMessage, res: ServerResponse, n: number) => void;
  const requests: IncomingMessage[] = [];

  beforeEach(async () => {
    requests.length = 0;
    server = createServer((req, res) => {
      requests.push(req);
      handle(req, res, requests.length);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const quietLogger = (lines: string[] = []) => createLogger({ write: (l) => lines.push(l) });

  it('delivers config then patch, reconnecting with Last-Event-ID after the server drops it', async () => {
    handle = (req, res, n) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (n === 1) res.end(`: ping\n\nevent: config\nid: 1\ndata: ${JSON.stringify(config)}\n\n`);
      else res.write(`event: patch\nid: 2\ndata: ${JSON.stringify(patch)}\n\n`);
    };
    let version: number | null = null;
    const received: unknown[] = [];
    const done = new Promise<void>((resolve) => {
      const stream = new ConfigStream({
        client: new ControlPlaneClient(baseUrl),
        nodeId: 'node-1',
        nodeToken: 'secret-token',
        currentVersion: () => version,
        backoff: new Backoff(10, 20, 1),
        logger: quietLogger(),
        handlers: {
          onConfig: (c) => {
            received.push(c);
            version = c.version;
          },
          onPatch: (p) => {
            received.push(p);
            void stream.stop().then(resolve);
          },
        },
      });
      stream.start();
    });
    await done;
    expect(received).toEqual([config, patch]);
    expect(requests[0].url).toBe('/api/v1/nodes/node-1/config/stream');
    expect(requests[0].headers.authorization).toBe('Bearer secret-token');
    expect(requests[0].headers['last-event-id']).toBeUndefined();
    expect(requests[1].headers['last-event-id']).toBe('1');
  });

  it('says loudly when the node token is refused and keeps retrying without leaking the token', async () => {
    handle = (_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"message":"unauthorized"}');
    };
    const lines: string[] = [];
    const stream = new ConfigStream({
      client: new ControlPlaneClient(baseUrl),
      nodeId: 'node-1',
      nodeToken: 'secret-token',
      currentVersion: () => 5,
      unauthorizedRetryMs: 20,
      logger: quietLogger(lines),
      handlers: { onConfig: () => undefined, onPatch: () => undefined },
    });
    stream.start();
    while (requests.length < 2) await new Promise((r) => setTimeout(r, 10));
    await stream.stop();
    expect(lines.some((l) => JSON.parse(l).level === 'error' && /node token/.test(l))).toBe(true);
    expect(lines.join('\n')).not.toContain('secret-token');
  });

  it('reconnects a stream that goes silent', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': hello\n\n');
    };
    const stream = new ConfigStream({
      client: new ControlPlaneClient(baseUrl),
      nodeId: 'n', nodeToken: 't', currentVersion: () => null,
      idleTimeoutMs: 50, backoff: new Backoff(10, 20, 1),
      logger: quietLogger(),
      handlers: { onConfig: () => undefined, onPatch: () => undefined },
    });
    stream.start();
    while (requests.length < 3) await new Promise((r) => setTimeout(r, 10));
    await stream.stop();
  });
});
