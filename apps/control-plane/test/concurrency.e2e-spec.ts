import type { NodeView, RegisteredNode } from '@meshgate/contracts';
import { client, createNode, eventCount, eventsOfType, HEARTBEAT_EVENTS, putPolicy, request, setupTenant, startServer, TenantSession, TestServer, wgKey } from './support/server';

jest.setTimeout(30_000);

describe('concurrency', () => {
  let server: TestServer;
  let api: ReturnType<typeof client>;
  let owner: TenantSession;
  let nodes: RegisteredNode[];

  beforeAll(async () => {
    server = await startServer();
    api = client(server);
    owner = await setupTenant(server.baseUrl, 'busy-co');
    nodes = [];
    for (let i = 0; i < 40; i++) nodes.push(await createNode(server.baseUrl, owner.token, { name: `busy-${i}` }));
  });

  afterAll(async () => {
    await server.dispose();
  });

  const beat = (node: RegisteredNode, i: number) =>
    api('POST', `/api/v1/nodes/${node.id}/heartbeat`, { token: node.nodeToken, body: { rxBytes: i, txBytes: i } });

  it('many concurrent heartbeats from many nodes all get 202 and are all in the log, group-committed', async () => {
    const before = eventsOfType(server.databasePath, HEARTBEAT_EVENTS).length;
    const batches = async () => {
      const text = (await request(server.metricsUrl, 'GET', '/metrics')).text;
      const sum = Number(/^meshgate_append_batch_requests_sum (\S+)/m.exec(text)?.[1]);
      const count = Number(/^meshgate_append_batch_requests_count (\S+)/m.exec(text)?.[1]);
      return { sum, count };
    };
    const metricsBefore = await batches();
    const rounds = 5;
    for (let round = 0; round < rounds; round++) {
      const replies = await Promise.all(nodes.map((n) => beat(n, round)));
      expect(replies.map((r) => r.status)).toEqual(nodes.map(() => 202));
    }
    const recorded = eventsOfType(server.databasePath, HEARTBEAT_EVENTS).slice(before);
    expect(recorded).toHaveLength(nodes.length * rounds);
    for (const node of nodes) expect(recorded.filter((e) => e.stream_id === `node-${node.id}`)).toHaveLength(rounds);
    const metricsAfter = await batches();
    const requests = metricsAfter.sum - metricsBefore.sum;
    const transactions = metricsAfter.count - metricsBefore.count;
    expect(requests).toBeGreaterThanOrEqual(nodes.length * rounds);
    expect(transactions).toBeLessThan(requests); // several requests shared a transaction
    const listed = await api<NodeView[]>('GET', '/api/v1/nodes', { token: owner.token });
    expect(listed.body.every((n) => n.status === 'online')).toBe(true);
  });

  it('concurrent heartbeats from the same node are all accepted and recorded', async () => {
    const node = nodes[0];
    const before = eventsOfType(server.databasePath, HEARTBEAT_EVENTS).length;
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => beat(node, 100 + i)));
    expect(replies.map((r) => r.status)).toEqual(replies.map(() => 202));
    expect(eventsOfType(server.databasePath, HEARTBEAT_EVENTS).length - before).toBe(8);
  });

  it('concurrent registrations of the same public key: exactly one 201, the rest 409', async () => {
    const publicKey = wgKey();
    const before = eventCount(server.databasePath);
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) =>
      api('POST', '/api/v1/nodes', { token: owner.token, body: { name: `same-key-${i}`, publicKey } })));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([201, ...Array(11).fill(409)]);
    expect(eventCount(server.databasePath)).toBe(before + 1);
    const listed = await api<NodeView[]>('GET', '/api/v1/nodes', { token: owner.token });
    expect(listed.body.filter((n) => n.publicKey === publicKey)).toHaveLength(1);
    // Addresses stay unique under concurrent registration too.
    const fresh = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      api<RegisteredNode>('POST', '/api/v1/nodes', { token: owner.token, body: { name: `parallel-${i}`, publicKey: wgKey() } })));
    expect(fresh.map((r) => r.status)).toEqual(fresh.map(() => 201));
    const all = (await api<NodeView[]>('GET', '/api/v1/nodes', { token: owner.token })).body;
    expect(new Set(all.map((n) => n.address)).size).toBe(all.length);
  });

  it('concurrent PUT /policies with the same If-Match: one wins, the others get 412 or 409, and retries lose no update', async () => {
    const { version } = (await api('GET', '/api/v1/policies', { token: owner.token })).body;
    const writers = 6;
    const policy = (i: number) => ({ tagOwners: { [`tag:writer-${i}`]: [] }, acls: [{ action: 'accept', src: [`tag:writer-${i}`], dst: ['*'] }] });
    const replies = await Promise.all(Array.from({ length: writers }, (_, i) => putPolicy(server.baseUrl, owner.token, policy(i), version)));
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 200).every((s) => s === 412 || s === 409)).toBe(true);
    const winner = statuses.indexOf(200);
    expect(replies[winner].body.version).toBe(version + 1);
    expect((await api('GET', '/api/v1/policies', { token: owner.token })).body).toMatchObject({ version: version + 1, policy: policy(winner) });

    // The losers re-read and retry: every update lands, one version each.
    await Promise.all(statuses.map(async (status, i) => {
      if (status === 200) return;
      for (let attempt = 0; attempt < 50; attempt++) {
        const current = (await api('GET', '/api/v1/policies', { token: owner.token })).body.version;
        const reply = await putPolicy(server.baseUrl, owner.token, policy(i), current);
        if (reply.status === 200) return;
        expect([409, 412]).toContain(reply.status);
      }
      throw new Error(`writer ${i} never got its update in`);
    }));
    expect((await api('GET', '/api/v1/policies', { token: owner.token })).body.version).toBe(version + writers);
    const updates = eventsOfType(server.databasePath, 'PolicyUpdated').map((e) => JSON.parse(e.data));
    const mine = updates.filter((d) => d.version > version);
    expect(mine.map((d) => d.version)).toEqual(Array.from({ length: writers }, (_, i) => version + 1 + i));
    expect(new Set(mine.map((d) => JSON.stringify(d.policy))).size).toBe(writers);
  });
});
