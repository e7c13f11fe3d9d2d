import type { AuditPage, NodeView } from '@meshgate/contracts';
import { client, createNode, eventsOfType, sleep, setupTenant, startServer, TestServer, uniqueEmail } from './support/server';

jest.setTimeout(30_000);

describe('offline sweeper (HEARTBEAT_INTERVAL_SECONDS=1, SWEEP_INTERVAL_MS=200)', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({ HEARTBEAT_INTERVAL_SECONDS: '1', OFFLINE_AFTER_MISSED_HEARTBEATS: '2', SWEEP_INTERVAL_MS: '200' });
  });
  afterAll(async () => {
    await server.dispose();
  });

  it('marks a silent node offline with a NodeWentOffline event, and leaves a node that keeps beating online', async () => {
    const api = client(server);
    const owner = await setupTenant(server.baseUrl, 'sweep-co');
    const silent = await createNode(server.baseUrl, owner.token, { name: 'silent' });
    const chatty = await createNode(server.baseUrl, owner.token, { name: 'chatty' });
    const beat = (node: { id: string; nodeToken: string }) => api('POST', `/api/v1/nodes/${node.id}/heartbeat`, { token: node.nodeToken, body: {} });
    expect((await beat(silent)).status).toBe(202);
    expect((await beat(chatty)).status).toBe(202);
    const status = async (id: string) => (await api<NodeView>('GET', `/api/v1/nodes/${id}`, { token: owner.token })).body.status;
    expect(await status(silent.id)).toBe('online');

    const started = Date.now();
    let silentStatus = 'online';
    while (silentStatus === 'online' && Date.now() - started < 5000) {
      await sleep(250);
      expect((await beat(chatty)).status).toBe(202);
      silentStatus = await status(silent.id);
    }
    const elapsed = Date.now() - started;
    expect(silentStatus).toBe('offline');
    expect(elapsed).toBeGreaterThanOrEqual(1500); // 2 intervals of 1 s since its last heartbeat
    expect(elapsed).toBeLessThan(4000);
    expect(await status(chatty.id)).toBe('online');

    const offline = eventsOfType(server.databasePath, 'NodeWentOffline');
    expect(offline.map((e) => e.stream_id)).toEqual([`node-${silent.id}`]);
    expect(JSON.parse(offline[0].metadata).actor).toEqual({ kind: 'system', id: 'offline-sweeper' });
    const audit = await api<AuditPage>('GET', '/api/v1/audit?type=NodeWentOffline', { token: owner.token });
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0].subject).toBe(`node:${silent.id}`);

    // A heartbeat brings it back.
    expect((await beat(silent)).status).toBe(202);
    expect(await status(silent.id)).toBe('online');
  });
});

describe('rate limiting of login and register (AUTH_RATE_LIMIT=3)', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({ AUTH_RATE_LIMIT: '3' });
  });
  afterAll(async () => {
    await server.dispose();
  });

  it('answers 429 once a client exceeds the limit', async () => {
    const api = client(server);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await api('POST', '/api/v1/auth/login', { body: { email: uniqueEmail('nobody'), password: 'wrong password' } })).status);
    }
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses.slice(3)).toEqual([429, 429]);
    // Register has its own budget (throttled before the body is even validated).
    const registers: number[] = [];
    for (let i = 0; i < 4; i++) registers.push((await api('POST', '/api/v1/auth/register', { body: { email: 'not-an-email' } })).status);
    expect(registers).toEqual([400, 400, 400, 429]);
    const limited = await api('POST', '/api/v1/auth/register', { body: { email: uniqueEmail(), password: 'long enough password' } });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ statusCode: 429 });
    // Other routes are not throttled.
    expect((await api('GET', '/health')).status).toBe(200);
  });
});
