/**
 * GET /api/v1/topology end to end: three nodes under a policy (one a subnet router), heartbeats with handshakes, and
 * what the read model answers — nodes, peerings with their reach and routes, the live state of each end — filtered,
 * paged, refused on bad input, and invisible across tenants. Real HTTP on an ephemeral port, real SQLite.
 */
import type { RegisteredNode, TopologyEdgeView, TopologyPage } from '@meshgate/contracts';
import {
  addMember, client, countEvents, createNode, putPolicy, setupTenant, startServer, tagOwners, TenantSession, TestServer,
} from './support/server';

jest.setTimeout(60_000);

const ROUTE = '10.77.0.0/24';
const policy = (webToDb: boolean) => ({
  tagOwners: tagOwners('web', 'db'),
  routes: { [ROUTE]: ['r1'] },
  acls: [
    ...(webToDb ? [{ action: 'accept', src: ['tag:web'], dst: ['tag:db:5432'], proto: 'tcp' }] : []),
    { action: 'accept', src: ['tag:web'], dst: [`${ROUTE}:*`] },
  ],
});

describe('GET /api/v1/topology', () => {
  let server: TestServer;
  let api: ReturnType<typeof client>;
  let owner: TenantSession;
  let other: TenantSession;
  let auditorToken: string;
  let web: RegisteredNode;
  let db: RegisteredNode;
  let router: RegisteredNode;
  const handshakeAt = new Date(Date.now() - 10_000).toISOString();

  const topology = async (query = '', token = owner.token): Promise<TopologyPage> => {
    const reply = await api<TopologyPage>('GET', `/api/v1/topology${query}`, { token });
    expect(reply.status).toBe(200);
    return reply.body;
  };
  const edge = (page: TopologyPage, x: RegisteredNode, y: RegisteredNode): TopologyEdgeView | undefined =>
    page.edges.find((e) => e.id === [x.id, y.id].sort().join('~'));
  const endOf = (e: TopologyEdgeView, node: RegisteredNode) => (e.a.nodeId === node.id ? e.a : e.b);

  beforeAll(async () => {
    server = await startServer();
    api = client(server);
    owner = await setupTenant(server.baseUrl, 'acme');
    other = await setupTenant(server.baseUrl, 'globex');
    auditorToken = await addMember(server.baseUrl, owner, 'auditor');
    expect((await putPolicy(server.baseUrl, owner.token, policy(true))).status).toBe(200);
    web = await createNode(server.baseUrl, owner.token, { name: 'web-1', tags: ['tag:web'], endpoint: '198.51.100.1:51820' });
    db = await createNode(server.baseUrl, owner.token, { name: 'db-1', tags: ['tag:db'], endpoint: '198.51.100.2:51820' });
    router = await createNode(server.baseUrl, owner.token, { name: 'r1' });
    const heartbeat = async (node: RegisteredNode, body: unknown) =>
      expect((await api('POST', `/api/v1/nodes/${node.id}/heartbeat`, { token: node.nodeToken, body })).status).toBe(202);
    await heartbeat(web, {
      endpoint: '203.0.113.1:51820',
      peers: [
        { publicKey: db.publicKey, lastHandshakeAt: handshakeAt, rxBytes: 1000, txBytes: 2000 },
        { publicKey: router.publicKey, rxBytes: 0, txBytes: 0 },
      ],
    });
    await heartbeat(db, { peers: [{ publicKey: web.publicKey, lastHandshakeAt: handshakeAt, rxBytes: 2000, txBytes: 1000 }] });
  });

  afterAll(async () => {
    await server?.dispose();
  });

  it('answers the nodes, their peerings with reach and routes, and the live state of each end', async () => {
    const page = await topology('', auditorToken);
    expect(page.nodes.map((n) => n.name)).toEqual(['db-1', 'r1', 'web-1']);
    expect(page.nodes.find((n) => n.id === web.id)).toEqual({
      id: web.id, name: 'web-1', address: web.address, status: 'online', endpoint: '203.0.113.1:51820', tags: ['tag:web'],
      owner: owner.userId, lastSeenAt: expect.any(String), keyExpired: false,
    });
    expect(page.nodes.find((n) => n.id === router.id)).toMatchObject({ status: 'pending', endpoint: null, tags: [], lastSeenAt: null });
    expect(page.nextCursor).toBeNull();
    // db-1 and r1 are not peers: nothing is allowed between them and db-1 uses no route.
    expect(page.edges).toHaveLength(2);
    expect(edge(page, db, router)).toBeUndefined();

    const webDb = edge(page, web, db)!;
    expect(webDb.up).toBe(true);
    expect(endOf(webDb, web)).toEqual({
      nodeId: web.id, name: 'web-1', reach: 'tcp:5432', routesVia: [],
      live: { handshakeEstablished: true, lastHandshakeAt: handshakeAt, rxBytes: 1000, txBytes: 2000, countersRecordedAt: expect.any(String) },
    });
    expect(endOf(webDb, db)).toMatchObject({ nodeId: db.id, name: 'db-1', reach: 'nothing', routesVia: [],
      live: { handshakeEstablished: true, lastHandshakeAt: handshakeAt, rxBytes: 2000, txBytes: 1000 } });

    const webRouter = edge(page, web, router)!;
    expect(webRouter.up).toBe(false);
    expect(endOf(webRouter, web)).toMatchObject({
      routesVia: [ROUTE], live: { handshakeEstablished: false, lastHandshakeAt: null, rxBytes: 0, txBytes: 0 },
    });
    expect(endOf(webRouter, router)).toMatchObject({ name: 'r1', routesVia: [], live: null });
  });

  it('filters by tag (bare or prefixed) and by node (id or name), each with all its peerings', async () => {
    const byTag = await topology('?tag=web');
    expect(byTag.nodes.map((n) => n.name)).toEqual(['web-1']);
    expect(byTag.edges.map((e) => e.id).sort()).toEqual([[web.id, db.id].sort().join('~'), [web.id, router.id].sort().join('~')].sort());
    expect((await topology('?tag=tag:db')).nodes.map((n) => n.name)).toEqual(['db-1']);
    expect((await topology('?tag=nothing-has-it')).nodes).toEqual([]);

    const byName = await topology('?node=db-1');
    expect(byName.nodes.map((n) => n.id)).toEqual([db.id]);
    expect(byName.edges.map((e) => e.id)).toEqual([[web.id, db.id].sort().join('~')]);
    expect((await topology(`?node=${router.id}`)).edges.map((e) => e.id)).toEqual([[web.id, router.id].sort().join('~')]);
    expect((await topology('?node=db-1&tag=web')).nodes).toEqual([]);
  });

  it('pages by name with a cursor', async () => {
    const first = await topology('?limit=2');
    expect(first.nodes.map((n) => n.name)).toEqual(['db-1', 'r1']);
    expect(first.nextCursor).toBe('r1');
    // Every peering of the page's nodes, including those with nodes of other pages.
    expect(first.edges).toHaveLength(2);
    const second = await topology(`?limit=2&cursor=${first.nextCursor}`);
    expect(second.nodes.map((n) => n.name)).toEqual(['web-1']);
    expect(second.nextCursor).toBeNull();
    expect((await topology('?limit=1&cursor=web-1')).nodes).toEqual([]);
  });

  it('follows the policy: an edge goes when nothing is allowed across it any more', async () => {
    expect((await putPolicy(server.baseUrl, owner.token, policy(false))).status).toBe(200);
    const page = await topology();
    expect(edge(page, web, db)).toBeUndefined();
    expect(edge(page, web, router)).toBeDefined();
    expect((await putPolicy(server.baseUrl, owner.token, policy(true))).status).toBe(200);
    expect(edge(await topology(), web, db)).toBeDefined();
  });

  it('refuses bad queries with 400 naming the field, and appends nothing', async () => {
    const before = await countEvents(server);
    for (const [query, field] of [
      ['?limit=0', 'limit'], ['?limit=501', 'limit'], ['?limit=two', 'limit'], ['?tag=Not%20A%20Tag', 'tag'],
      ['?cursor=..%2Fetc', 'cursor'], ['?node=%20', 'node'], ['?colour=red', 'colour'], ['?limit=1&limit=2', 'limit'],
    ]) {
      const reply = await api('GET', `/api/v1/topology${query}`, { token: owner.token });
      expect({ query, status: reply.status }).toEqual({ query, status: 400 });
      expect(JSON.stringify(reply.body.message)).toContain(field);
    }
    expect(await countEvents(server)).toBe(before);
  });

  it('is the caller tenant\'s alone: another tenant\'s node is a 404, its mesh is empty; node tokens are refused', async () => {
    for (const ref of [web.id, 'web-1']) {
      const reply = await api('GET', `/api/v1/topology?node=${ref}`, { token: other.token });
      expect(reply.status).toBe(404);
    }
    expect(await topology('', other.token)).toEqual({ nodes: [], edges: [], nextCursor: null });
    expect((await api('GET', '/api/v1/topology', { token: web.nodeToken })).status).toBe(403);
    expect((await api('GET', '/api/v1/topology')).status).toBe(401);
  });
});
