/**
 * The agent's control-plane failover against a real control plane (HTTP on an ephemeral port, its own SQLite file).
 * The agent runs in this process with an in-memory WireGuard port: what is tested is its client and config stream,
 * which need neither root nor namespaces. Multi-replica failover on PostgreSQL is a control-plane e2e of its own.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALLOW_ALL, createNode, eventually, putPolicy, request, setupTenant, startServer, type TestServer } from '../../control-plane/test/support/server';
import { Agent } from '../src/agent';
import type { AgentConfig } from '../src/agent-config';
import { closedPortUrl } from '../src/control-plane/testing/local-servers';
import { createLogger } from '../src/logger';
import { MemoryWireGuard } from '../src/wireguard/testing/memory-wireguard';

jest.setTimeout(60_000);

/**
 * A stand-in for one replica's address: a TCP forwarder to the real control plane that can be killed (connections
 * cut, port refusing) and that keeps what the agent sent, to see its Last-Event-ID.
 */
class Front {
  readonly sent: string[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  url = '';

  constructor(target: URL) {
    this.server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.on('data', (chunk: Buffer) => this.sent.push(chunk.toString('latin1')));
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('no TCP address');
    this.url = `http://127.0.0.1:${address.port}`;
    return this;
  }

  /** The Last-Event-ID values of the config streams opened through this front. */
  lastEventIds(): string[] {
    return [...this.sent.join('').matchAll(/^last-event-id: *([^\r\n]*)\r?$/gim)].map((m) => m[1]);
  }

  /** How many requests whose request line matches `line` (e.g. /GET \S+\/config\/stream /) went through. */
  requests(line: RegExp): number {
    return [...this.sent.join('').matchAll(new RegExp(`${line.source}HTTP/1\\.1\r\n`, 'g'))].length;
  }

  kill(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('agent failover between control-plane URLs (real control plane, in-process agent)', () => {
  let server: TestServer;
  let ownerToken: string;
  let enrollmentKey: string;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    server = await startServer();
    const owner = await setupTenant(server.baseUrl, 'failover');
    ownerToken = owner.token;
    expect((await putPolicy(server.baseUrl, ownerToken, ALLOW_ALL)).status).toBe(200);
    const key = await request(server.baseUrl, 'POST', '/api/v1/enrollment-keys', { token: ownerToken, body: { reusable: true } });
    expect(key.status).toBe(201);
    enrollmentKey = key.body.key;
  });

  afterEach(async () => {
    // Always, even after a failed expectation: agents stopped, fronts killed, state dirs removed.
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  afterAll(async () => {
    await server?.dispose();
  });

  async function runAgent(name: string, controlPlaneUrls: string[]) {
    const stateDir = await mkdtemp(join(tmpdir(), 'mg-failover-e2e-'));
    cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
    const lines: string[] = [];
    const logs = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const wg = new MemoryWireGuard(`mgfo${process.pid % 10000}`);
    const config: AgentConfig = {
      controlPlaneUrls, controlPlaneCa: null, tenantId: null, authToken: enrollmentKey, interfaceName: wg.interfaceName, heartbeatInterval: 0.2,
      reconcileInterval: 30, nodeName: name, endpoint: null, listenPort: 51820, tags: [], advertiseRoutes: [], exitNode: null,
      stateDir, logLevel: 'debug', keyRotationMargin: 604800, metricsPort: null,
    };
    const agent = new Agent({ config, downOnExit: false, wireGuard: () => wg, logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }) });
    cleanups.push(() => agent.stop());
    await agent.start();
    const nodeId = agent.nodeId;
    if (nodeId === null) throw new Error('the agent did not register');
    const { nodeToken } = JSON.parse(await readFile(join(stateDir, 'node.json'), 'utf8')) as { nodeToken: string };
    return { agent, wg, nodeId, nodeToken, lines, logs };
  }

  const nodeView = async (id: string) => (await request(server.baseUrl, 'GET', `/api/v1/nodes/${id}`, { token: ownerToken })).body;

  it('registers, streams and heartbeats through the second URL when the first is a closed port', async () => {
    const dead = await closedPortUrl();
    // The second URL is the control plane's, through a front that shows which requests took it.
    const live = await new Front(new URL(server.baseUrl)).listen();
    cleanups.push(() => live.kill());
    const { wg, nodeId, nodeToken, lines, logs } = await runAgent('fo-one', [dead, live.url]);

    expect((await nodeView(nodeId)).name).toBe('fo-one');
    // A node that joins afterwards reaches the agent over the config stream (a patch).
    const other = await createNode(server.baseUrl, ownerToken, { name: 'fo-one-peer' });
    await eventually(() => wg.peerKeys().includes(other.publicKey), 10_000, 'the new peer live on the agent');
    await eventually(() => live.requests(/POST \/api\/v1\/nodes\/[^ ]+\/heartbeat /) >= 2, 10_000, 'heartbeats through the second URL');
    expect(live.requests(/POST \/api\/v1\/nodes /)).toBe(1);
    expect(live.requests(/GET \/api\/v1\/nodes\/[^ ]+\/config\/stream /)).toBe(1);
    // Every heartbeat reached the control plane: none failed for want of a connection after the failover.
    expect(logs().filter((l) => l.msg === 'heartbeat failed' && !/HTTP \d{3}/.test(String((l.err as { message?: string } | undefined)?.message)))).toEqual([]);

    const failovers = logs().filter((l) => l.msg === 'control plane unreachable, failing over to the next URL');
    expect(failovers).toEqual([expect.objectContaining({ level: 'warn', url: dead, next: live.url, request: 'register node', reason: 'ECONNREFUSED' })]);
    expect(logs().filter((l) => l.msg === 'config stream connected').map((l) => l.url)).toEqual([live.url]);
    const text = lines.join('\n');
    expect(text).not.toContain(enrollmentKey);
    expect(text).not.toContain(nodeToken);
  });

  it('resumes on the other URL with Last-Event-ID when its front dies, receiving only what it missed', async () => {
    const target = new URL(server.baseUrl);
    const a = await new Front(target).listen();
    const b = await new Front(target).listen();
    cleanups.push(() => a.kill(), () => b.kill());
    const { wg, logs } = await runAgent('fo-two', [a.url, b.url]);
    await eventually(() => logs().some((l) => l.msg === 'config live'), 10_000, 'the first config live');
    const held = logs().find((l) => l.msg === 'received config')!.version as number;
    expect(a.requests(/GET \/api\/v1\/nodes\/[^ ]+\/config\/stream /)).toBe(1);

    await a.kill();
    await eventually(() => b.lastEventIds().includes(String(held)), 10_000, `a stream through the second URL resuming from ${held}`);
    const peer = await createNode(server.baseUrl, ownerToken, { name: 'fo-two-peer' });
    await eventually(() => wg.peerKeys().includes(peer.publicKey), 10_000, 'the new peer live after the failover');

    // One full config in all (the first connect); after the failover only the patch with the new peer.
    expect(logs().filter((l) => l.msg === 'received config')).toHaveLength(1);
    expect(logs().filter((l) => l.msg === 'received patch').map((l) => l.upserted)).toEqual([1]);
    expect(logs().filter((l) => l.msg === 'control plane unreachable, failing over to the next URL').map((l) => l.url)).toContain(a.url);
    expect(logs().filter((l) => l.msg === 'config stream connected').map((l) => [l.url, l.lastEventId])).toEqual([[a.url, null], [b.url, held]]);
  });
});
