import type { RegisterNodeDto } from '../contracts';
import { createLogger } from '../logger';
import { connectionFailure, ControlPlaneClient, displayUrl, HttpError } from './control-plane-client';
import { closedPortUrl, startLocalServer, type LocalServer } from './testing/local-servers';

const registration: RegisterNodeDto = { name: 'n1', publicKey: 'k', listenPort: 51820 };
const registered = { id: 'node-1', name: 'n1', publicKey: 'k', address: '100.64.0.2', tags: [], nodeToken: 'node-secret' };

describe('ControlPlaneClient', () => {
  const servers: LocalServer[] = [];
  const serve = async (handle: Parameters<typeof startLocalServer>[0]) => {
    const server = await startLocalServer(handle);
    servers.push(server);
    return server;
  };
  /** A replica that works: registration and heartbeats answered. */
  const live = () => serve((req, res) => {
    if (req.url === '/api/v1/nodes') {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify(registered));
    } else {
      res.writeHead(202).end();
    }
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.kill()));
  });

  const logged = () => {
    const lines: string[] = [];
    return { lines, logger: createLogger({ write: (l) => lines.push(l) }), warnings: () => lines.map((l) => JSON.parse(l)).filter((l) => l.level === 'warn') };
  };

  it('sends requests to the first URL while it answers', async () => {
    const [a, b] = [await live(), await live()];
    const client = new ControlPlaneClient([a.url, b.url]);
    await client.register('enroll-secret', registration);
    await client.heartbeat('node-1', 'node-secret', {});
    expect(a.requests.map((r) => r.url)).toEqual(['/api/v1/nodes', '/api/v1/nodes/node-1/heartbeat']);
    expect(b.requests).toHaveLength(0);
  });

  it('fails over from a dead URL to a live one, stays there, and logs the URL without a token', async () => {
    const dead = await closedPortUrl();
    const b = await live();
    const log = logged();
    const client = new ControlPlaneClient([dead, b.url], { logger: log.logger });

    const err = await client.register('enroll-secret', registration).catch((e: unknown) => e);
    expect(connectionFailure(err)).toBe('ECONNREFUSED');
    expect(client.currentUrl).toBe(b.url);
    // The caller's retry (with its backoff) lands on the live replica; later requests stay there.
    expect(await client.register('enroll-secret', registration)).toEqual(registered);
    await client.heartbeat('node-1', 'node-secret', {});
    expect(b.requests.map((r) => r.url)).toEqual(['/api/v1/nodes', '/api/v1/nodes/node-1/heartbeat']);
    expect(b.requests[0].headers.authorization).toBe('Bearer enroll-secret');

    expect(log.warnings()).toEqual([expect.objectContaining({
      msg: 'control plane unreachable, failing over to the next URL', url: dead, next: b.url, request: 'register node', reason: 'ECONNREFUSED',
    })]);
    expect(log.lines.join('\n')).not.toMatch(/secret/);
  });

  it.each([502, 503, 504])('fails over on HTTP %i', async (status) => {
    const a = await serve((_req, res) => res.writeHead(status).end('bad gateway'));
    const b = await live();
    const client = new ControlPlaneClient([a.url, b.url]);
    await expect(client.heartbeat('node-1', 't', {})).rejects.toMatchObject({ status });
    await client.heartbeat('node-1', 't', {});
    expect([a.requests.length, b.requests.length]).toEqual([1, 1]);
  });

  it.each([401, 403, 404, 409, 500])('keeps the URL on HTTP %i (the answer is the control plane\'s, not an outage)', async (status) => {
    const a = await serve((_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end('{"message":"no"}'));
    const b = await live();
    const log = logged();
    const client = new ControlPlaneClient([a.url, b.url], { logger: log.logger });
    for (let i = 0; i < 2; i++) {
      const err = await client.register('t', registration).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HttpError);
      expect((err as HttpError).status).toBe(status);
    }
    expect([a.requests.length, b.requests.length, client.currentUrl]).toEqual([2, 0, a.url]);
    expect(log.warnings()).toEqual([]);
  });

  it('fails over when a replica resets the connection', async () => {
    const a = await serve((req) => req.socket.destroy());
    const b = await live();
    const client = new ControlPlaneClient([a.url, b.url]);
    const err = await client.heartbeat('node-1', 't', {}).catch((e: unknown) => e);
    expect(connectionFailure(err)).not.toBeNull();
    expect(client.currentUrl).toBe(b.url);
  });

  it('fails over when a replica accepts but never answers', async () => {
    const a = await serve(() => undefined);
    const b = await live();
    const client = new ControlPlaneClient([a.url, b.url], { requestTimeoutMs: 100 });
    const err = await client.heartbeat('node-1', 't', {}).catch((e: unknown) => e);
    expect(connectionFailure(err)).toBe('timeout');
    expect(client.currentUrl).toBe(b.url);
  });

  it('goes round the URLs, and requests failing together on one URL move past it only once', async () => {
    const [dead1, dead2] = [await closedPortUrl(), await closedPortUrl()];
    const c = await live();
    const client = new ControlPlaneClient([dead1, dead2, c.url]);
    await Promise.all([1, 2, 3].map(() => client.heartbeat('node-1', 't', {}).catch(() => undefined)));
    expect(client.currentUrl).toBe(dead2);
    await client.heartbeat('node-1', 't', {}).catch(() => undefined);
    expect(client.currentUrl).toBe(c.url);
    await c.kill();
    await client.heartbeat('node-1', 't', {}).catch(() => undefined);
    expect(client.currentUrl).toBe(dead1);
  });

  it('keeps a single URL and logs no failover', async () => {
    const dead = await closedPortUrl();
    const log = logged();
    const client = new ControlPlaneClient([dead], { logger: log.logger });
    await expect(client.heartbeat('node-1', 't', {})).rejects.toThrow();
    expect([client.currentUrl, log.warnings()]).toEqual([dead, []]);
  });

  it('does not count its caller\'s abort of the config stream as a failure', async () => {
    const a = await serve(() => undefined);
    const b = await live();
    const client = new ControlPlaneClient([a.url, b.url]);
    const aborting = new AbortController();
    const opening = client.openConfigStream('node-1', 't', null, aborting.signal);
    while (a.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    aborting.abort(new Error('stopping'));
    await expect(opening).rejects.toThrow('stopping');
    expect(client.currentUrl).toBe(a.url);
  });

  it('writes URLs into logs without credentials or query', () => {
    expect(displayUrl('https://user:pw@cp.example:8443/base/?token=x#f')).toBe('https://cp.example:8443/base');
  });
});
