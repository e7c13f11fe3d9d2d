import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { NodeConfig, NodeView, PolicyPreviewView, RegisteredNode } from '@meshgate/contracts';
import { client, createNode, eventCount, eventsOfType, setupTenant, startServer, TenantSession, TestServer, wgKey } from './support/server';
import { SseClient, sseUrl } from './support/sse';

jest.setTimeout(60_000);

const TAGS = { 'tag:web': ['autogroup:owner'], 'tag:db': ['autogroup:owner'], 'tag:ops': ['autogroup:owner'] };

const HUJSON = `{
  // web reaches the database; nobody else does
  "groups": { "group:dba": ["dba@example.com"] },
  "tagOwners": { "tag:web": ["autogroup:owner"], "tag:db": ["autogroup:owner"], "tag:ops": ["autogroup:owner"] },
  "acls": [
    { "action": "accept", "src": ["tag:web"], "proto": "tcp", "dst": ["tag:db:5432"] },
    { "action": "accept", "src": ["tag:ops"], "dst": ["*:22"] },
  ],
  "ssh": [{ "action": "accept", "src": ["group:dba"], "dst": ["tag:db"], "users": ["root"] }],
  "tests": [{ "src": "tag:web", "accept": ["tag:db:5432"], "deny": ["tag:db:22"] }],
}`;

describe('policies: the Tailscale/headscale format, preview, routes and schedules', () => {
  let server: TestServer;
  let api: ReturnType<typeof client>;
  let owner: TenantSession;
  let web: RegisteredNode;
  let db: RegisteredNode;
  let ops: RegisteredNode;

  const config = async (node: RegisteredNode) => (await api<NodeConfig>('GET', `/api/v1/nodes/${node.id}/config`, { token: owner.token })).body;
  const put = (text: string, headers: Record<string, string> = {}) =>
    api('PUT', '/api/v1/policies', { token: owner.token, raw: text, headers: { 'content-type': 'application/hujson', ...headers } });

  beforeAll(async () => {
    // Monday 17:00 in Berlin, after the office window: a restart must not open it whatever the time of day here.
    server = await startServer({ SCHEDULER_CLOCK: 'manual', SCHEDULER_CLOCK_START: '2026-11-23T16:00:00Z' });
    api = client(server);
    owner = await setupTenant(server.baseUrl, 'policies');
    // Version 1 declares the tags (and who owns them): nobody may put an undeclared tag on a node.
    expect((await api('PUT', '/api/v1/policies', { token: owner.token, body: { tagOwners: TAGS, acls: [] } })).status).toBe(200);
    web = await createNode(server.baseUrl, owner.token, { name: 'web-1', tags: ['web'] });
    db = await createNode(server.baseUrl, owner.token, { name: 'db-1', tags: ['db'] });
    ops = await createNode(server.baseUrl, owner.token, { name: 'ops-1', tags: ['ops'] });
  });

  afterAll(async () => {
    await server.dispose();
  });

  it('takes a HuJSON document, warns about keys it does not enforce, and serves it back as JSON or as written', async () => {
    const reply = await put(HUJSON);
    expect(reply.status).toBe(200);
    expect(reply.body.version).toBe(2);
    expect(reply.body.warnings).toEqual([expect.stringMatching(/^ssh: accepted but not enforced/)]);
    const json = await api('GET', '/api/v1/policies', { token: owner.token });
    expect(json.body.policy.acls[0]).toEqual({ action: 'accept', src: ['tag:web'], proto: 'tcp', dst: ['tag:db:5432'] });
    const text = await api('GET', '/api/v1/policies', { token: owner.token, headers: { accept: 'application/hujson' } });
    expect(text.text).toBe(HUJSON);
    expect(text.headers.get('etag')).toBe('"2"');
  });

  it('turns it into per-node firewall rules naming the source groups, with ports', async () => {
    const [w, d, o] = await Promise.all([config(web), config(db), config(ops)]);
    const groupOf = (c: NodeConfig, node: RegisteredNode) => c.peers.find((p) => p.publicKey === node.publicKey)!.group!;
    expect(d.firewall).toEqual(expect.arrayContaining([
      { action: 'accept', srcGroups: [groupOf(d, web)], src: [], proto: 'tcp', ports: '5432' },
      { action: 'accept', srcGroups: [groupOf(d, ops)], src: [], proto: 'tcp', ports: '22' },
    ]));
    expect(d.firewall.some((r) => r.srcGroups.includes(groupOf(d, web)) && r.ports === '22')).toBe(false);
    // web and ops do not see each other except through ops' ssh rule (ops may reach web:22).
    expect(w.peers.map((p) => p.publicKey).sort()).toEqual([db.publicKey, ops.publicKey].sort());
    expect(o.firewall).toEqual(expect.arrayContaining([expect.objectContaining({ proto: 'tcp', ports: '22' })]));
  });

  it('refuses a document whose tests fail, listing each failure, and appends nothing', async () => {
    const before = eventCount(server.databasePath);
    const reply = await put(HUJSON.replace('"tag:db:5432"]', '"tag:db:5432", "tag:db:22"]'));
    expect(reply.status).toBe(400);
    expect(reply.body.message).toEqual([expect.stringMatching(/^tests\[0\]\.deny\[0\]: tag:web \(web-1\) should not reach tag:db:22 \(db-1\) on tcp:22/)]);
    expect(eventCount(server.databasePath)).toBe(before);
    expect((await api('GET', '/api/v1/policies', { token: owner.token })).body.version).toBe(2);
  });

  it('refuses an unknown key naming it, so a typo never opens or closes access', async () => {
    const reply = await put('{ "acls": [], "acl": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}] }');
    expect(reply.status).toBe(400);
    expect(reply.body.message).toEqual(['acl: unknown key']);
  });

  it('previews a candidate: pairs and ports gained and lost, the nodes whose config would change; stores nothing', async () => {
    const before = eventCount(server.databasePath);
    const candidate = HUJSON.replace('"dst": ["tag:db:5432"]', '"dst": ["tag:db:5432,6432"]').replace('{ "action": "accept", "src": ["tag:ops"], "dst": ["*:22"] },', '');
    const reply = await api<PolicyPreviewView>('POST', '/api/v1/policies/preview', { token: owner.token, raw: candidate, headers: { 'content-type': 'application/hujson' } });
    expect(reply.status).toBe(200);
    expect(reply.body.baseVersion).toBe(2);
    expect(reply.body.gained).toEqual([{ src: 'web-1', dst: 'db-1', reach: 'tcp:6432' }]);
    expect(reply.body.lost).toEqual(expect.arrayContaining([
      // No proto means TCP, UDP and ICMP, as in Tailscale; ICMP has no ports, so the rule opened it whole.
      { src: 'ops-1', dst: 'db-1', reach: 'icmp tcp:22 udp:22 ipv6-icmp' },
      { src: 'ops-1', dst: 'web-1', reach: 'icmp tcp:22 udp:22 ipv6-icmp' },
    ]));
    expect(reply.body.changedNodes.map((n) => n.name).sort()).toEqual(['db-1', 'ops-1', 'web-1']);
    expect(eventCount(server.databasePath)).toBe(before);
  });

  it('still takes a v1 document ({acls: [{action, src, dst}]}) with its old meaning', async () => {
    const reply = await api('PUT', '/api/v1/policies', { token: owner.token, body: { acls: [{ action: 'accept', src: ['*'], dst: ['*'] }] } });
    expect(reply.status).toBe(200);
    expect((await config(web)).peers).toHaveLength(2);
  });

  it('serves an advertised route once an admin approves it: the router forwards, users get the route via its address', async () => {
    const routerReply = await api<RegisteredNode>('POST', '/api/v1/nodes', {
      token: owner.token, body: { name: 'router-1', publicKey: wgKey(), advertiseRoutes: ['10.77.0.0/24'] },
    });
    expect(routerReply.status).toBe(201);
    const router = routerReply.body;
    expect((await config(router)).servedRoutes).toEqual([]);
    expect((await api('PUT', `/api/v1/nodes/${router.id}/routes`, { token: owner.token, body: { approved: ['10.99.0.0/24'] } })).status).toBe(400);

    const sse = await SseClient.connect(sseUrl(server.baseUrl, web.id), web.nodeToken);
    try {
      await sse.waitFor((f) => f.event === 'config', 5_000);
      const approved = await api<NodeView>('PUT', `/api/v1/nodes/${router.id}/routes`, { token: owner.token, body: { approved: ['10.77.0.0/24'] } });
      expect(approved.status).toBe(200);
      expect(approved.body.approvedRoutes).toEqual(['10.77.0.0/24']);
      const patch = await sse.waitFor((f) => f.event === 'patch' && (f.data as any).routes !== undefined, 5_000);
      expect((patch.data as any).routes).toEqual([{ destination: '10.77.0.0/24', via: router.address.split('/')[0] }]);
    } finally {
      await sse.close();
    }
    expect((await config(router)).servedRoutes).toEqual(['10.77.0.0/24']);
  });

  it('opens and closes schedule windows as events when the clock passes them, and configs follow', async () => {
    const policy = {
      schedules: { office: { timeZone: 'Europe/Berlin', days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' } },
      tagOwners: TAGS,
      acls: [{ action: 'accept', src: ['tag:web'], proto: 'tcp', dst: ['tag:db:5432'], schedule: 'office' }],
    };
    await api('PUT', '/api/v1/test-clock', { token: owner.token, body: { now: '2026-11-23T06:00:00Z' } }); // 07:00 Berlin
    expect((await api('PUT', '/api/v1/policies', { token: owner.token, body: policy })).status).toBe(200);
    expect((await config(db)).firewall).toEqual([]);
    await api('PUT', '/api/v1/test-clock', { token: owner.token, body: { now: '2026-11-23T08:30:00Z' } }); // 09:30 Berlin
    expect((await config(db)).firewall).toEqual([expect.objectContaining({ proto: 'tcp', ports: '5432' })]);
    await api('PUT', '/api/v1/test-clock', { token: owner.token, body: { now: '2026-11-23T16:00:00Z' } }); // 17:00 Berlin
    expect((await config(db)).firewall).toEqual([]);
    expect(eventsOfType(server.databasePath, 'ScheduleWindowOpened').map((e) => JSON.parse(e.data).at)).toEqual(['2026-11-23T08:30:00.000Z']);
    expect(eventsOfType(server.databasePath, 'ScheduleWindowClosed').map((e) => JSON.parse(e.data).at)).toEqual(['2026-11-23T16:00:00.000Z']);
  });

  it('rebuilds the same configs from the log after a restart and after a replay', async () => {
    const before = await Promise.all([web, db, ops].map(config));
    await server.restart();
    expect(await Promise.all([web, db, ops].map(config))).toEqual(before);
    await server.stop();
    execFileSync(process.execPath, [join(__dirname, '..', '..', '..', 'dist', 'apps', 'control-plane', 'replay.js')], { env: { ...process.env, ...server.env }, stdio: 'pipe' });
    await server.restart();
    expect(await Promise.all([web, db, ops].map(config))).toEqual(before);
  });

  it('answers 404 for the test clock when the scheduler runs on the system clock', async () => {
    const system = await startServer();
    try {
      const session = await setupTenant(system.baseUrl, 'system-clock');
      const reply = await client(system)('PUT', '/api/v1/test-clock', { token: session.token, body: { now: '2030-01-01T00:00:00Z' } });
      expect(reply.status).toBe(404);
    } finally {
      await system.dispose();
    }
  });
});
