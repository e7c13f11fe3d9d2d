import type { AuditPage, NodeConfig, NodeView, RegisteredNode } from '@meshgate/contracts';
import { ALLOW_ALL, client, createNode, eventCount, PASSWORD, putPolicy, setupTenant, startServer, tagOwners, TenantSession, TestServer } from './support/server';
import { SseClient, sseUrl } from './support/sse';

jest.setTimeout(30_000);

const POLICY_A = { ...ALLOW_ALL, tagOwners: tagOwners('web') };

describe('tenant isolation', () => {
  let server: TestServer;
  let api: ReturnType<typeof client>;
  let a: TenantSession;
  let b: TenantSession;
  let nodeA: RegisteredNode;
  let nodeA2: RegisteredNode;
  let nodeB: RegisteredNode;
  let keyB: { id: string; key: string };

  beforeAll(async () => {
    server = await startServer();
    api = client(server);
    [a, b] = await Promise.all([setupTenant(server.baseUrl, 'tenant-a'), setupTenant(server.baseUrl, 'tenant-b')]);
    // Tags are declared and owned before they are put on nodes (issue 12).
    expect((await putPolicy(server.baseUrl, a.token, POLICY_A)).status).toBe(200);
    expect((await putPolicy(server.baseUrl, b.token, { tagOwners: tagOwners('web'), acls: [{ action: 'accept', src: ['tag:web'], dst: ['tag:web'] }] })).status).toBe(200);
    nodeA = await createNode(server.baseUrl, a.token, { name: 'shared-name', tags: ['web'] });
    nodeA2 = await createNode(server.baseUrl, a.token, { name: 'a-two', tags: ['web'] });
    nodeB = await createNode(server.baseUrl, b.token, { name: 'shared-name', tags: ['web'], endpoint: '192.0.2.77:51820' });
    keyB = (await api('POST', '/api/v1/enrollment-keys', { token: b.token, body: { tags: ['web'] } })).body;
  });

  afterAll(async () => {
    await server.dispose();
  });

  it('a token of tenant A gets 404 for every route on tenant B\u2019s node and key, and changes nothing', async () => {
    const before = eventCount(server.databasePath);
    const routes: [string, string][] = [
      ['GET', `/api/v1/nodes/${nodeB.id}`],
      ['DELETE', `/api/v1/nodes/${nodeB.id}`],
      ['GET', `/api/v1/nodes/${nodeB.id}/config`],
      ['DELETE', `/api/v1/enrollment-keys/${keyB.id}`],
    ];
    for (const [method, path] of routes) {
      const reply = await api(method, path, { token: a.token });
      expect([method, path, reply.status]).toEqual([method, path, 404]);
      // Same answer as for an id that does not exist at all.
      expect(reply.body.message).toMatch(/not found/);
    }
    expect(eventCount(server.databasePath)).toBe(before);
    expect((await api<NodeView>('GET', `/api/v1/nodes/${nodeB.id}`, { token: b.token })).status).toBe(200);
    const key = await api('POST', '/api/v1/nodes', { token: keyB.key, body: { name: 'enrolled-b', publicKey: nodeA2.publicKey } });
    expect(key.status).toBe(201); // B's key still unused, and a key unique per tenant may repeat across tenants
  });

  it('lists, policy, audit, keys and members of A show nothing of B', async () => {
    const nodes = await api<NodeView[]>('GET', '/api/v1/nodes', { token: a.token });
    expect(nodes.body.map((n) => n.id).sort()).toEqual([nodeA.id, nodeA2.id].sort());
    const policyA = await api('GET', '/api/v1/policies', { token: a.token });
    const policyB = await api('GET', '/api/v1/policies', { token: b.token });
    expect(policyA.body.policy).toEqual(POLICY_A);
    expect(policyB.body.policy).not.toEqual(POLICY_A);
    const audit = await api<AuditPage>('GET', '/api/v1/audit?limit=500', { token: a.token });
    const text = JSON.stringify(audit.body);
    for (const secret of [nodeB.id, nodeB.publicKey, b.tenantId, b.userId, keyB.id, b.email]) expect(text).not.toContain(secret);
    expect(text).toContain(nodeA.id);
    // Filtering by B's actor or paging with a cursor does not reach B's entries either.
    expect((await api<AuditPage>('GET', `/api/v1/audit?actor=${b.userId}`, { token: a.token })).body.items).toEqual([]);
    const bAudit = await api<AuditPage>('GET', '/api/v1/audit?limit=500', { token: b.token });
    expect(JSON.stringify(bAudit.body)).not.toContain(nodeA.id);
    expect((await api('GET', '/api/v1/enrollment-keys', { token: a.token })).body).toEqual([]);
    const members = await api('GET', '/api/v1/tenants/current/members', { token: a.token });
    expect(members.body.map((m: { email: string }) => m.email)).toEqual([a.email]);
  });

  it('configs never cross tenants, even with an allow-all policy and equal names and tags', async () => {
    const config = await api<NodeConfig>('GET', `/api/v1/nodes/${nodeA.id}/config`, { token: nodeA.nodeToken });
    expect(config.body.peers.map((p) => p.publicKey)).toEqual([nodeA2.publicKey]);
    const configB = await api<NodeConfig>('GET', `/api/v1/nodes/${nodeB.id}/config`, { token: nodeB.nodeToken });
    expect(configB.body.peers.map((p) => p.publicKey)).not.toContain(nodeA.publicKey);
  });

  it('a user cannot log in to a tenant it is not a member of', async () => {
    const reply = await api('POST', '/api/v1/auth/login', { body: { email: a.email, password: PASSWORD, tenantId: b.tenantId } });
    expect(reply.status).toBe(401);
  });

  it('the node token of node X cannot heartbeat, read the config of, or stream node Y (same tenant or another)', async () => {
    const before = eventCount(server.databasePath);
    for (const other of [nodeA2, nodeB]) {
      const beat = await api('POST', `/api/v1/nodes/${other.id}/heartbeat`, { token: nodeA.nodeToken, body: {} });
      expect(beat.status).toBe(403);
      expect((await api('GET', `/api/v1/nodes/${other.id}/config`, { token: nodeA.nodeToken })).status).toBe(403);
      const stream = await SseClient.connect(sseUrl(server.baseUrl, other.id), nodeA.nodeToken);
      expect(stream.status).toBe(403);
      expect(stream.frames).toEqual([]);
      // Nor anything tenant-scoped.
      expect((await api('GET', `/api/v1/nodes/${other.id}`, { token: nodeA.nodeToken })).status).toBe(403);
      expect((await api('GET', '/api/v1/nodes', { token: nodeA.nodeToken })).status).toBe(403);
    }
    expect(eventCount(server.databasePath)).toBe(before);
    const statuses = (await api<NodeView[]>('GET', '/api/v1/nodes', { token: a.token })).body.map((n) => n.status);
    expect(statuses.every((s) => s === 'pending')).toBe(true);
  });
});
