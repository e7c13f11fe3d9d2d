import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConfigPatch, NodeConfig } from '../contracts';
import { createLogger } from '../logger';
import { Backoff } from './backoff';
import { ConfigStream } from './config-stream';
import { ControlPlaneClient } from './control-plane-client';
import { closedPortUrl, sseFrame, startLocalServer, type LocalServer } from './testing/local-servers';

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
        client: new ControlPlaneClient([baseUrl]),
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
      client: new ControlPlaneClient([baseUrl]),
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
      client: new ControlPlaneClient([baseUrl]),
      nodeId: 'n', nodeToken: 't', currentVersion: () => null,
      idleTimeoutMs: 50, backoff: new Backoff(10, 20, 1),
      logger: quietLogger(),
      handlers: { onConfig: () => undefined, onPatch: () => undefined },
    });
    stream.start();
    while (requests.length < 3) await new Promise((r) => setTimeout(r, 10));
    await stream.stop();
  });

  it('reopens an open stream at once when another request lost the link (linkFailed), resuming with Last-Event-ID', async () => {
    handle = (_req, res, n) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (n === 1) res.write(`event: config\nid: 1\ndata: ${JSON.stringify(config)}\n\n`); // then silent, as over a dead NAT
    };
    let version: number | null = null;
    const stream = new ConfigStream({
      client: new ControlPlaneClient([baseUrl]),
      nodeId: 'n', nodeToken: 't', currentVersion: () => version,
      idleTimeoutMs: 60_000, backoff: new Backoff(10, 20, 1),
      logger: quietLogger(),
      handlers: { onConfig: (c) => { version = c.version; }, onPatch: () => undefined },
    });
    stream.linkFailed(); // nothing open yet: nothing to do
    stream.start();
    while (version === null) await new Promise((r) => setTimeout(r, 10));
    expect(requests).toHaveLength(1);
    stream.linkFailed();
    const deadline = Date.now() + 2_000; // far below the idle timeout
    while (requests.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await stream.stop();
    expect(requests).toHaveLength(2);
    expect(requests[1].headers['last-event-id']).toBe('1');
  });

  describe('with several control-plane URLs', () => {
    const replicas: LocalServer[] = [];
    afterEach(async () => {
      await Promise.all(replicas.splice(0).map((r) => r.kill()));
    });
    const replica = async (handle: Parameters<typeof startLocalServer>[0]) => {
      const r = await startLocalServer(handle);
      replicas.push(r);
      return r;
    };
    const sse = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });

    /** Runs a stream that stops once `until` says so; resolves with what the handlers received. */
    const follow = (client: ControlPlaneClient, until: (received: Array<NodeConfig | ConfigPatch>) => boolean, idleTimeoutMs?: number) => {
      let version: number | null = null;
      const received: Array<NodeConfig | ConfigPatch> = [];
      return new Promise<typeof received>((resolve) => {
        const check = () => {
          if (until(received)) void stream.stop().then(() => resolve(received));
        };
        const stream = new ConfigStream({
          client, nodeId: 'node-1', nodeToken: 'secret-token', currentVersion: () => version,
          backoff: new Backoff(10, 20, 1), idleTimeoutMs, logger: quietLogger(),
          handlers: {
            onConfig: (c) => { received.push(c); version = c.version; check(); },
            onPatch: (p) => { received.push(p); version = p.version; check(); },
          },
        });
        stream.start();
      });
    };

    it('resumes with Last-Event-ID on the other URL when its replica dies, getting only what it missed', async () => {
      const a = await replica((_req, res) => {
        sse(res);
        res.write(`: up to date\n\n${sseFrame('config', config)}`);
        // The replica dies after delivering version 1: the connection is cut and the port refuses.
        setTimeout(() => void a.kill(), 20);
      });
      const b = await replica((req, res) => {
        sse(res);
        // As the control plane does: from Last-Event-ID 1, only the patch that follows it.
        if (req.headers['last-event-id'] === '1') res.write(sseFrame('patch', patch));
        else res.write(sseFrame('config', { ...config, version: 2 }));
      });
      const lines: string[] = [];
      const client = new ControlPlaneClient([a.url, b.url], { logger: quietLogger(lines) });
      expect(await follow(client, (r) => r.length === 2)).toEqual([config, patch]);
      expect(a.requests.map((r) => r.headers['last-event-id'])).toEqual([undefined]);
      expect(b.requests.map((r) => r.headers['last-event-id'])).toEqual(['1']);
      expect(b.requests[0].headers.authorization).toBe('Bearer secret-token');
      const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.msg.startsWith('control plane unreachable'));
      expect(warnings).toEqual([expect.objectContaining({ level: 'warn', url: a.url, next: b.url })]);
      expect(lines.join('\n')).not.toContain('secret-token');
    });

    it('starts on the second URL when the first refuses connections', async () => {
      const dead = await closedPortUrl();
      const b = await replica((_req, res) => {
        sse(res);
        res.write(sseFrame('config', config));
      });
      expect(await follow(new ControlPlaneClient([dead, b.url]), (r) => r.length === 1)).toEqual([config]);
      expect(b.requests).toHaveLength(1);
    });

    it('moves on from a replica whose stream goes silent', async () => {
      const a = await replica((_req, res) => {
        sse(res);
        res.write(sseFrame('config', config));
      });
      const b = await replica((req, res) => {
        sse(res);
        if (req.headers['last-event-id'] === '1') res.write(sseFrame('patch', patch));
      });
      const client = new ControlPlaneClient([a.url, b.url]);
      expect(await follow(client, (r) => r.length === 2, 100)).toEqual([config, patch]);
      expect(b.requests.map((r) => r.headers['last-event-id'])).toEqual(['1']);
    });

    it('stays on a replica that refuses the node token (a 4xx is an answer, not an outage)', async () => {
      const a = await replica((_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}'));
      const b = await replica((_req, res) => {
        sse(res);
        res.write(sseFrame('config', config));
      });
      const client = new ControlPlaneClient([a.url, b.url]);
      const stream = new ConfigStream({
        client, nodeId: 'node-1', nodeToken: 't', currentVersion: () => null, backoff: new Backoff(10, 20, 1), logger: quietLogger(),
        handlers: { onConfig: () => undefined, onPatch: () => undefined },
      });
      stream.start();
      while (a.requests.length < 3) await new Promise((r) => setTimeout(r, 10));
      await stream.stop();
      expect(b.requests).toHaveLength(0);
    });
  });
});
