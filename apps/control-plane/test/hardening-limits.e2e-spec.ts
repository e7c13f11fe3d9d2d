import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../src/config/app-config';
import {
  ALLOW_ALL, client, createNode, eventCount, JWT_SECRET, PASSWORD, putPolicy, Reply, request, setupTenant, sleep, startServer,
  TestServer, uniqueEmail, wgKey,
} from './support/server';
import { SseClient } from './support/sse';

jest.setTimeout(60_000);

type Node = { id: string; nodeToken: string; publicKey: string };

const beat = (server: TestServer, node: Node, body: unknown = {}) =>
  request(server.baseUrl, 'POST', `/api/v1/nodes/${node.id}/heartbeat`, { token: node.nodeToken, body });
const peerStats = (publicKey: string) => ({ publicKey, rxBytes: 1, txBytes: 2 });
const streamUrl = (server: TestServer, node: Node) => `${server.baseUrl}/api/v1/nodes/${node.id}/config/stream`;
const statuses = (replies: Reply[]) => replies.map((r) => r.status);

/** A tenant with an allow-all policy and `count` nodes, all peers of each other. */
async function mesh(server: TestServer, name: string, count: number) {
  const owner = await setupTenant(server.baseUrl, name);
  expect((await putPolicy(server.baseUrl, owner.token, ALLOW_ALL)).status).toBe(200);
  const nodes: Node[] = [];
  for (let i = 0; i < count; i++) nodes.push(await createNode(server.baseUrl, owner.token, { name: `${name}-${i}` }));
  return { owner, nodes };
}

/** Sends `head` and then nothing more (or `trickle` bytes, one every `everyMs`); resolves with ms until the server closed. */
function stalledRequest(server: TestServer, head: string, trickle?: { bytes: string; everyMs: number }): Promise<{ ms: number; answer: string }> {
  const { port } = new URL(server.baseUrl);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    const socket: Socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(head);
      if (trickle) {
        let i = 0;
        timer = setInterval(() => { if (!socket.destroyed) socket.write(trickle.bytes[i++ % trickle.bytes.length]); }, trickle.everyMs);
      }
    });
    socket.on('data', (chunk) => { answer += chunk.toString(); });
    socket.on('error', () => undefined); // a reset is a close too
    socket.on('close', () => { clearInterval(timer); resolve({ ms: performance.now() - started, answer }); });
    setTimeout(() => { socket.destroy(); reject(new Error('the server kept the stalled socket open')); }, 10_000).unref();
  });
}

describe('a heartbeat carries only the node\u2019s real peers', () => {
  let server: TestServer;
  beforeAll(async () => { server = await startServer(); });
  afterAll(async () => { await server.dispose(); });

  it('refuses foreign, duplicated and too many peers with 400 and appends nothing, while another tenant\u2019s heartbeats all succeed', async () => {
    const a = await mesh(server, 'peers-a', 3);
    const b = await mesh(server, 'peers-b', 4);
    const [n1, n2, n3] = a.nodes;
    // Its real peers are fine, and recorded.
    expect((await beat(server, n1, { peers: [peerStats(n2.publicKey), peerStats(n3.publicKey)] })).status).toBe(202);

    const twentyThousand = Array.from({ length: 20_000 }, () => peerStats(randomBytes(32).toString('base64')));
    const bad = [
      { peers: twentyThousand }, // the 1.9 MiB heartbeat
      { peers: [peerStats(n2.publicKey), peerStats(wgKey())] }, // one real, one unknown
      { peers: [peerStats(b.nodes[0].publicKey)] }, // another tenant's node
      { peers: [peerStats(n1.publicKey)] }, // itself
      { peers: [peerStats(n2.publicKey), peerStats(n2.publicKey), peerStats(n3.publicKey)] }, // more than it has
    ];
    const before = eventCount(server.databasePath);
    const [refused, neighbours] = await Promise.all([
      Promise.all(bad.map((body) => beat(server, n1, body))),
      Promise.all(b.nodes.map((n, i) => beat(server, n, { rxBytes: 1, peers: [peerStats(b.nodes[(i + 1) % b.nodes.length].publicKey)] }))),
    ]);
    expect(statuses(refused)).toEqual([400, 400, 400, 400, 400]);
    expect(refused.map((r) => r.body.code)).toEqual(['PEER_NOT_IN_CONFIG', 'PEER_NOT_IN_CONFIG', 'PEER_NOT_IN_CONFIG', 'PEER_NOT_IN_CONFIG', 'PEER_REPORTED_TWICE']);
    expect(refused[0].body.message).toMatch(/^peers\.0\.publicKey, .* and 19995 more: not a peer of this node/);
    expect(refused[1].body.message).toMatch(/^peers\.1\.publicKey: not a peer/);
    expect(statuses(neighbours)).toEqual([202, 202, 202, 202]);
    expect(eventCount(server.databasePath)).toBe(before + neighbours.length);
  });
});

describe('heartbeats are rate-limited per node (HEARTBEAT_RATE_LIMIT=3 per 60 s interval)', () => {
  let server: TestServer;
  beforeAll(async () => { server = await startServer({ HEARTBEAT_RATE_LIMIT: '3', HEARTBEAT_INTERVAL_SECONDS: '60' }); });
  afterAll(async () => { await server.dispose(); });

  it('answers 429 with Retry-After beyond the budget and appends nothing, while other nodes and tenants are unaffected', async () => {
    const a = await mesh(server, 'beat-a', 2);
    const b = await mesh(server, 'beat-b', 2);
    const [chatty, quiet] = a.nodes;
    const first = await Promise.all([1, 2, 3].map(() => beat(server, chatty)));
    expect(statuses(first)).toEqual([202, 202, 202]);

    const before = eventCount(server.databasePath);
    const [limited, others] = await Promise.all([
      Promise.all([1, 2, 3].map(() => beat(server, chatty))),
      Promise.all([quiet, ...b.nodes].flatMap((n) => [1, 2, 3].map(() => beat(server, n)))),
    ]);
    expect(statuses(limited)).toEqual([429, 429, 429]);
    const retryAfter = Number(limited[0].headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited[0].body).toMatchObject({ statusCode: 429 });
    expect(statuses(others)).toEqual(others.map(() => 202));
    expect(eventCount(server.databasePath)).toBe(before + others.length);

    // Heartbeats have their own budget: the node's other writes, and its owner's, are not spent by them.
    expect((await request(server.baseUrl, 'POST', '/api/v1/enrollment-keys', { token: a.owner.token, body: {} })).status).toBe(201);
  });
});

describe('slow clients cannot hold a socket (REQUEST_TIMEOUT_MS=500, CONNECTION_TIMEOUT_MS=1000)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ REQUEST_TIMEOUT_MS: '500', CONNECTION_TIMEOUT_MS: '1000', SSE_PING_MS: '60000' });
  });
  afterAll(async () => { await server.dispose(); });

  const head = (length: number) =>
    `POST /api/v1/auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
  const body = () => JSON.stringify({ email: uniqueEmail(), password: PASSWORD });

  it('closes a socket that sent headers and half a body, then went silent, once the request timeout is up; nothing is appended', async () => {
    const before = eventCount(server.databasePath);
    const text = body();
    const { ms, answer } = await stalledRequest(server, head(text.length) + text.slice(0, text.length >> 1));
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(2_000);
    expect(eventCount(server.databasePath)).toBe(before);
  });

  it('closes one that trickles its body in, a byte every 100 ms (never idle), at the same deadline', async () => {
    const before = eventCount(server.databasePath);
    const text = body();
    const { ms, answer } = await stalledRequest(server, head(text.length), { bytes: text, everyMs: 100 });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(2_000);
    expect(eventCount(server.databasePath)).toBe(before);
  });

  it('closes one that never finishes its headers', async () => {
    const { ms } = await stalledRequest(server, 'POST /api/v1/auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(2_000);
  });

  it('keeps a config stream open past both timeouts: it still receives the next patch', async () => {
    const { owner, nodes: [node] } = await mesh(server, 'slow', 1);
    const stream = await SseClient.connect(streamUrl(server, node), node.nodeToken);
    try {
      expect(stream.status).toBe(200);
      await stream.waitFor((f) => f.event === 'config');
      await sleep(2_000); // idle past both timeouts: no pings for 60 s
      const joined = await createNode(server.baseUrl, owner.token, { name: 'slow-joiner' });
      const patch = await stream.waitFor((f) => f.event === 'patch');
      expect(patch.data.peersUpserted.map((p: { publicKey: string }) => p.publicKey)).toEqual([joined.publicKey]);
    } finally {
      await stream.close();
    }
  });
});

describe('config streams are capped (SSE_STREAMS_PER_NODE=2, SSE_STREAMS_TOTAL=3)', () => {
  let server: TestServer;
  beforeAll(async () => { server = await startServer({ SSE_STREAMS_PER_NODE: '2', SSE_STREAMS_TOTAL: '3' }); });
  afterAll(async () => { await server.dispose(); });

  it('answers 429 per node and 503 in total, with Retry-After, while the open streams keep receiving', async () => {
    const { owner, nodes: [n1, n2, n3] } = await mesh(server, 'streams', 3);
    const open: SseClient[] = [];
    try {
      open.push(await SseClient.connect(streamUrl(server, n1), n1.nodeToken), await SseClient.connect(streamUrl(server, n1), n1.nodeToken));
      const before = eventCount(server.databasePath);
      const third = await fetch(streamUrl(server, n1), { headers: { authorization: `Bearer ${n1.nodeToken}` } });
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await third.json()).toMatchObject({ statusCode: 429, message: 'this node already has 2 open config streams' });

      open.push(await SseClient.connect(streamUrl(server, n2), n2.nodeToken));
      const full = await fetch(streamUrl(server, n3), { headers: { authorization: `Bearer ${n3.nodeToken}` } });
      expect(full.status).toBe(503);
      expect(Number(full.headers.get('retry-after'))).toBeGreaterThan(0);
      await full.text();
      expect(eventCount(server.databasePath)).toBe(before);
      expect(open.map((s) => s.status)).toEqual([200, 200, 200]);

      // The open streams are unaffected: a join reaches all three.
      const joined = await createNode(server.baseUrl, owner.token, { name: 'streams-joiner' });
      for (const s of open) {
        await s.waitFor((f) => f.event === 'patch' && f.data.peersUpserted.some((p: { publicKey: string }) => p.publicKey === joined.publicKey));
      }

      // A closed stream frees its place.
      await open.shift()!.close();
      let again: SseClient | undefined;
      for (let i = 0; i < 40 && again?.status !== 200; i++) {
        again = await SseClient.connect(streamUrl(server, n3), n3.nodeToken);
        if (again.status !== 200) await sleep(50);
      }
      open.push(again!);
      expect(again!.status).toBe(200);
      await again!.waitFor((f) => f.event === 'config');
    } finally {
      await Promise.all(open.map((s) => s.close()));
    }
  });
});

describe('the client address behind a proxy (TRUST_PROXY) and per-account login limits', () => {
  const login = (server: TestServer, forwardedFor: string, email = uniqueEmail('nobody'), password = 'wrong password') =>
    request(server.baseUrl, 'POST', '/api/v1/auth/login', { body: { email, password }, headers: { 'x-forwarded-for': forwardedFor } });

  it('with TRUST_PROXY=true, two X-Forwarded-For clients have separate login buckets', async () => {
    const server = await startServer({ AUTH_RATE_LIMIT: '2', TRUST_PROXY: 'true' });
    try {
      const first = await Promise.all([1, 2, 3].map(() => login(server, '203.0.113.1')));
      expect(statuses(first).sort()).toEqual([401, 401, 429]);
      expect(Number(first.find((r) => r.status === 429)!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(statuses(await Promise.all([1, 2].map(() => login(server, '203.0.113.2'))))).toEqual([401, 401]);
    } finally {
      await server.dispose();
    }
  });

  it('with TRUST_PROXY off (the default), X-Forwarded-For is ignored: everyone behind the proxy shares one bucket', async () => {
    const server = await startServer({ AUTH_RATE_LIMIT: '2' });
    try {
      expect(statuses(await Promise.all([login(server, '203.0.113.1'), login(server, '203.0.113.1')]))).toEqual([401, 401]);
      expect((await login(server, '203.0.113.2')).status).toBe(429);
    } finally {
      await server.dispose();
    }
  });

  it('limits failed logins per account across addresses (LOGIN_FAILURE_LIMIT=3), while another account logs in', async () => {
    const server = await startServer({ TRUST_PROXY: 'loopback', LOGIN_FAILURE_LIMIT: '3' });
    try {
      const victim = uniqueEmail('victim');
      const other = uniqueEmail('other');
      for (const email of [victim, other]) {
        expect((await request(server.baseUrl, 'POST', '/api/v1/auth/register', { body: { email, password: PASSWORD } })).status).toBe(201);
      }
      const before = eventCount(server.databasePath);
      const guesses = await Promise.all(['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4'].map((ip) => login(server, ip, victim)));
      expect(statuses(guesses).sort()).toEqual([401, 401, 401, 429]);
      // Locked even with the right password, from a fresh address, with the email spelt differently.
      const right = await login(server, '198.51.100.5', victim.toUpperCase(), PASSWORD);
      expect(right.status).toBe(429);
      const retryAfter = Number(right.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(14 * 60);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
      // Another account from the same addresses: unaffected, and a success clears its count.
      expect((await login(server, '198.51.100.1', other)).status).toBe(401);
      expect((await login(server, '198.51.100.1', other, PASSWORD)).status).toBe(200);
      expect(eventCount(server.databasePath)).toBe(before);
    } finally {
      await server.dispose();
    }
  });

  it('validates TRUST_PROXY at boot, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshgate-config-'));
    try {
      const env = (TRUST_PROXY: string) => ({ DATABASE_PATH: join(dir, 'meshgate.sqlite'), JWT_SECRET, TRUST_PROXY });
      expect(loadConfig(env('')).trustProxy).toBe(false);
      expect(loadConfig(env('false')).trustProxy).toBe(false);
      expect(loadConfig(env('true')).trustProxy).toBe(true);
      expect(loadConfig(env('2')).trustProxy).toBe(2);
      expect(loadConfig(env('10.0.0.0/8, 192.0.2.7,::1,fd00::/8,loopback')).trustProxy)
        .toEqual(['10.0.0.0/8', '192.0.2.7', '::1', 'fd00::/8', 'loopback']);
      for (const bad of ['yes', '0', '10.0.0.0/33', '::1/129', 'proxy.example.com', '10.0.0.1,,10.0.0.2', '10.0.0.0/8/1']) {
        expect(() => loadConfig(env(bad))).toThrow(ConfigError);
        expect(() => loadConfig(env(bad))).toThrow(/TRUST_PROXY/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('writes are rate-limited per principal (WRITE_RATE_LIMIT=4 per minute)', () => {
  let server: TestServer;
  beforeAll(async () => { server = await startServer({ WRITE_RATE_LIMIT: '4' }); });
  afterAll(async () => { await server.dispose(); });

  it('answers 429 with Retry-After past the budget and appends nothing, while another principal is unaffected', async () => {
    const api = client(server);
    // Creating the tenant was each user's first write.
    const a = await setupTenant(server.baseUrl, 'writes-a');
    const b = await setupTenant(server.baseUrl, 'writes-b');
    const spent = await Promise.all([1, 2, 3].map(() => api('POST', '/api/v1/enrollment-keys', { token: a.token, body: {} })));
    expect(statuses(spent)).toEqual([201, 201, 201]);

    const before = eventCount(server.databasePath);
    const [limited, others] = await Promise.all([
      Promise.all([
        api('POST', '/api/v1/enrollment-keys', { token: a.token, body: {} }),
        api('PUT', '/api/v1/policies', { token: a.token, body: ALLOW_ALL }),
        api('POST', '/api/v1/nodes', { token: a.token, body: { name: 'over-budget', publicKey: wgKey() } }),
        api('POST', '/api/v1/auth/tenants', { token: a.userToken, body: { name: 'another' } }), // the same user, unscoped
      ]),
      Promise.all([
        api('POST', '/api/v1/enrollment-keys', { token: b.token, body: {} }),
        api('PUT', '/api/v1/policies', { token: b.token, body: ALLOW_ALL }),
        api('POST', '/api/v1/nodes', { token: b.token, body: { name: 'within-budget', publicKey: wgKey() } }),
      ]),
    ]);
    expect(statuses(limited)).toEqual([429, 429, 429, 429]);
    expect(Number(limited[0].headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited[0].headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(statuses(others)).toEqual([201, 200, 201]);
    expect(eventCount(server.databasePath)).toBe(before + 3);

    // Reads are not writes, and a node is a principal of its own: b's new node heartbeats and writes nothing else.
    expect((await api('GET', '/api/v1/enrollment-keys', { token: a.token })).status).toBe(200);
    const node = others[2].body as Node;
    expect((await beat(server, node)).status).toBe(202);
  });
});
