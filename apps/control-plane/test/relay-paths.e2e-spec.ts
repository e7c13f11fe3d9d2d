/**
 * Reaching every machine, on the control plane's side, on both stores: candidates learnt from heartbeats (the
 * address the server saw them at), relays named by the policy, relay paths opened and closed by the nodes (patches
 * to both sides and the relay, events in the audit), refusals that change nothing, and the tenant's mesh domain.
 * Real HTTP, real SSE, real SQLite and PostgreSQL. The agents' side runs in nat-traversal.e2e-spec.ts.
 */
import type { NodeConfig, RegisteredNode } from '@meshgate/contracts';
import { client, countEvents, createNode, putPolicy, setupTenant, startServer, StoreKind, TenantSession, TestServer, wgKey } from './support/server';
import { SseClient, SseFrame, sseUrl } from './support/sse';

jest.setTimeout(60_000);

const POLICY = { acls: [{ action: 'accept', src: ['home-a', 'home-b'], dst: ['home-a:*', 'home-b:*'] }], relays: ['relay-1'] };

describe.each<StoreKind>(['sqlite', 'postgres'])('relay paths and names (%s)', (store) => {
  let server: TestServer;
  let api: ReturnType<typeof client>;
  let owner: TenantSession;
  let relay: RegisteredNode;
  let a: RegisteredNode;
  let b: RegisteredNode;
  let loner: RegisteredNode;
  const streams: SseClient[] = [];
  const open = async (node: RegisteredNode) => {
    const stream = await SseClient.connect(sseUrl(server.baseUrl, node.id), node.nodeToken);
    streams.push(stream);
    return stream;
  };
  const configOf = async (node: RegisteredNode): Promise<NodeConfig> => (await api('GET', `/api/v1/nodes/${node.id}/config`, { token: owner.token })).body;
  const heartbeat = (node: RegisteredNode, body: Record<string, unknown> = {}) =>
    api('POST', `/api/v1/nodes/${node.id}/heartbeat`, { token: node.nodeToken, body });
  const relayPath = (node: RegisteredNode, peer: string) => api('POST', `/api/v1/nodes/${node.id}/relay-paths`, { token: node.nodeToken, body: { peer } });
  const refused = async (status: number, code: string, send: () => Promise<{ status: number; body: any }>) => {
    const before = await countEvents(server);
    const reply = await send();
    expect({ status: reply.status, text: JSON.stringify(reply.body) }).toEqual({ status, text: expect.stringContaining(code) });
    expect(await countEvents(server)).toBe(before);
  };

  beforeAll(async () => {
    server = await startServer({ HEARTBEAT_INTERVAL_SECONDS: '30' }, { store });
    api = client(server);
    owner = await setupTenant(server.baseUrl, 'Acme Homes');
    expect((await putPolicy(server.baseUrl, owner.token, POLICY)).status).toBe(200);
    relay = await createNode(server.baseUrl, owner.token, { name: 'relay-1', endpoint: '198.51.100.10:51820' });
    a = await createNode(server.baseUrl, owner.token, { name: 'home-a' });
    b = await createNode(server.baseUrl, owner.token, { name: 'home-b' });
    loner = await createNode(server.baseUrl, owner.token, { name: 'loner' });
  });

  afterAll(async () => {
    for (const s of streams) await s.close();
    await server?.dispose();
  });

  it('gives every node its names (default domain from the tenant name) and the groups it may reach', async () => {
    const config = await configOf(a);
    expect(config.dns).toEqual({ domain: 'acme-homes.mesh', name: 'home-a' });
    expect(config.peers.map((p) => p.name)).toEqual(['home-b']);
    // Its own class and its peer's (each node is a class of its own here: the policy names them one by one).
    expect(config.reachableGroups).toHaveLength(2);
    expect(config.reachableGroups).toContain(config.peers[0].group);
    expect((await configOf(loner)).reachableGroups).toEqual([]);
  });

  it('tells every node the relay reflector, and the relay its (empty) relay service', async () => {
    expect((await configOf(a)).reflectors).toEqual(['198.51.100.10:3478']);
    expect((await configOf(relay)).relay).toMatchObject({ reflectPort: 3478, forwards: [] });
    expect((await configOf(a)).relay).toBeUndefined();
  });

  it('learns candidates from heartbeats: what the node reports, and the address the server saw it at with its listen port', async () => {
    const stream = await open(b);
    await stream.waitFor((f: SseFrame) => f.event === 'config');
    expect((await heartbeat(a, { candidates: ['203.0.113.7:51820', '10.0.0.7:51820'] })).status).toBe(202);
    const patch = await stream.waitFor((f: SseFrame) => f.event === 'patch' && f.data.peersUpserted.some((p: { candidates?: string[] }) => p.candidates));
    expect(patch.data.peersUpserted[0]).toMatchObject({
      // The seen address first: none of the reported ones is on it (a reflexive address would be).
      publicKey: a.publicKey, endpoint: '127.0.0.1:51820', candidates: ['127.0.0.1:51820', '203.0.113.7:51820', '10.0.0.7:51820'],
    });
    const node = (await api('GET', `/api/v1/nodes/${a.id}`, { token: owner.token })).body;
    expect(node).toMatchObject({ candidates: ['203.0.113.7:51820', '10.0.0.7:51820'], seenFrom: '127.0.0.1' });
    // The same report again records nothing material (a compact heartbeat).
    const before = await countEvents(server);
    await heartbeat(a, { candidates: ['203.0.113.7:51820', '10.0.0.7:51820'] });
    expect(await countEvents(server)).toBe(before + 1);
    await refused(400, 'candidate', () => heartbeat(a, { candidates: ['not an endpoint'] }));
  });

  it('refuses a relay path to a stranger, to an unknown key, before the peer was seen, and bad input; nothing is appended', async () => {
    await refused(404, 'NOT_A_PEER', () => relayPath(a, loner.publicKey));
    await refused(404, 'NOT_A_PEER', () => relayPath(a, wgKey()));
    await refused(409, 'NODE_NOT_SEEN', () => relayPath(a, b.publicKey));
    await refused(400, 'peer', () => api('POST', `/api/v1/nodes/${a.id}/relay-paths`, { token: a.nodeToken, body: { peer: 'x' } }));
    await refused(403, '', () => api('POST', `/api/v1/nodes/${b.id}/relay-paths`, { token: a.nodeToken, body: { peer: a.publicKey } }));
  });

  it('opens a path once for the pair: both sides and the relay get it by a patch, the audit shows it, and closing frees it', async () => {
    expect((await heartbeat(b)).status).toBe(202);
    const [streamA, streamRelay] = [await open(a), await open(relay)];
    await Promise.all([streamA, streamRelay].map((s) => s.waitFor((f: SseFrame) => f.event === 'config')));
    const opened = await relayPath(a, b.publicKey);
    expect(opened.status).toBe(200);
    expect(opened.body).toEqual({ publicKey: b.publicKey, endpoint: expect.stringMatching(/^198\.51\.100\.10:4\d{4}$/) });
    const again = await relayPath(b, a.publicKey);
    expect(again.status).toBe(200);
    expect(again.body.endpoint).not.toBe(opened.body.endpoint);
    const forA = await streamA.waitFor((f: SseFrame) => f.event === 'patch' && f.data.relayPaths?.length === 1);
    expect(forA.data.relayPaths).toEqual([opened.body]);
    const forRelay = await streamRelay.waitFor((f: SseFrame) => f.event === 'patch' && f.data.relay?.forwards.length === 1);
    const ports = [opened.body.endpoint, again.body.endpoint].map((e: string) => Number(e.split(':')[1])).sort();
    expect(forRelay.data.relay.forwards).toEqual([{ ports, sources: ['127.0.0.1', '127.0.0.1'] }]);
    expect((await configOf(b)).relayPaths).toEqual([again.body]);

    const audit = (await api('GET', '/api/v1/audit?type=RelayPathOpened', { token: owner.token })).body.items;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: { kind: 'node', id: a.id }, details: { relayNodeId: relay.id, requestedBy: a.id } });

    const closed = await api('DELETE', `/api/v1/nodes/${b.id}/relay-paths?peer=${encodeURIComponent(a.publicKey)}`, { token: b.nodeToken });
    expect(closed.status).toBe(204);
    await streamA.waitFor((f: SseFrame) => f.event === 'patch' && f.data.relayPaths?.length === 0);
    expect((await configOf(relay)).relay!.forwards).toEqual([]);
    expect((await api('GET', '/api/v1/audit?type=RelayPathClosed', { token: owner.token })).body.items[0].details).toMatchObject({ reason: 'direct' });
    const before = await countEvents(server);
    expect((await api('DELETE', `/api/v1/nodes/${b.id}/relay-paths?peer=${encodeURIComponent(a.publicKey)}`, { token: b.nodeToken })).status).toBe(204);
    expect(await countEvents(server)).toBe(before);
  });

  it('has no relay to offer when the policy names none', async () => {
    expect((await putPolicy(server.baseUrl, owner.token, { acls: POLICY.acls })).status).toBe(200);
    await refused(409, 'NO_RELAY', () => relayPath(a, b.publicKey));
    expect((await configOf(a)).reflectors).toEqual([]);
    expect((await configOf(relay)).relay).toBeUndefined();
    expect((await putPolicy(server.baseUrl, owner.token, POLICY)).status).toBe(200);
  });

  it('names follow a rename at once: the node\'s own DNS name, and its peers lose it when the policy named it', async () => {
    const stream = await open(a);
    await stream.waitFor((f: SseFrame) => f.event === 'config');
    const rename = (node: RegisteredNode, name: string) => api('PUT', `/api/v1/nodes/${node.id}/name`, { token: owner.token, body: { name } });
    await refused(409, 'NODE_NAME_TAKEN', () => rename(b, 'home-a'));
    await refused(400, 'name', () => rename(b, 'Not A Name'));
    const renamed = await rename(b, 'home-c');
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('home-c');
    expect((await configOf(b)).dns!.name).toBe('home-c');
    // The policy names home-b, not home-c: home-a drops it (and with it, its name).
    await stream.waitFor((f: SseFrame) => f.event === 'patch' && f.data.peersRemoved.includes(b.publicKey));
    expect((await rename(b, 'home-b')).status).toBe(200);
    const back = await stream.waitFor((f: SseFrame) => f.event === 'patch' && f.data.peersUpserted.some((p: { publicKey: string }) => p.publicKey === b.publicKey));
    expect(back.data.peersUpserted.find((p: { publicKey: string }) => p.publicKey === b.publicKey).name).toBe('home-b');
    expect((await api('GET', '/api/v1/audit?type=NodeRenamed', { token: owner.token })).body.items[0].details).toMatchObject({ name: 'home-b', previousName: 'home-c' });
  });

  it('stops forwarding at once for a pair that no longer peers, and closes the path at the next decision', async () => {
    const spare = await createNode(server.baseUrl, owner.token, { name: 'home-d' });
    const policy = { ...POLICY, acls: [...POLICY.acls, { action: 'accept', src: ['home-a'], dst: ['home-d:*'] }] };
    expect((await putPolicy(server.baseUrl, owner.token, policy)).status).toBe(200);
    expect((await heartbeat(spare)).status).toBe(202);
    expect((await relayPath(a, spare.publicKey)).status).toBe(200);
    expect((await configOf(relay)).relay!.forwards).toHaveLength(1);
    const streamRelay = await open(relay);
    await streamRelay.waitFor((f: SseFrame) => f.event === 'config');
    expect((await api('DELETE', `/api/v1/nodes/${spare.id}`, { token: owner.token })).status).toBe(204);
    const patch = await streamRelay.waitFor((f: SseFrame) => f.event === 'patch' && f.data.relay?.forwards.length === 0);
    expect(patch.data.relay.reflectPort).toBe(3478);
    // The next decision on the relays stream records the close.
    expect((await relayPath(a, b.publicKey)).status).toBe(200);
    const closed = (await api('GET', '/api/v1/audit?type=RelayPathClosed', { token: owner.token })).body.items;
    expect(closed[0].details).toMatchObject({ reason: 'gone', nodes: [a.id, spare.id].sort() });
    expect((await api('DELETE', `/api/v1/nodes/${a.id}/relay-paths?peer=${encodeURIComponent(b.publicKey)}`, { token: a.nodeToken })).status).toBe(204);
    expect((await putPolicy(server.baseUrl, owner.token, POLICY)).status).toBe(200);
  });

  it('renames the mesh domain for every node, refusing a name that is not a DNS name', async () => {
    await refused(400, 'domain', () => api('PATCH', '/api/v1/tenants/current', { token: owner.token, body: { domain: 'Not A Domain' } }));
    const reply = await api('PATCH', '/api/v1/tenants/current', { token: owner.token, body: { domain: 'homes.example' } });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ nodeKeyExpiryDays: 180, domain: 'homes.example' });
    expect((await configOf(b)).dns).toEqual({ domain: 'homes.example', name: 'home-b' });
    expect((await api('GET', '/api/v1/tenants/current/settings', { token: owner.token })).body.domain).toBe('homes.example');
  });
});
