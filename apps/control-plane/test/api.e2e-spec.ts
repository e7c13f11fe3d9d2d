import type { AuditPage, NodeConfig, NodeView, RegisteredNode } from '@meshgate/contracts';
import {
  ALLOW_ALL, addMember, client, createNode, eventCount, eventually, putPolicy, request, setupTenant, sleep, startServer,
  tagOwners, TenantSession, TestServer, uniqueEmail, wgKey,
} from './support/server';
import { SseClient, sseUrl } from './support/sse';

jest.setTimeout(30_000);

const TAGS = tagOwners('ci', 'web', 'feed-web', 'feed-db', 'feed-ops');
const keysOf = (peers: { publicKey: string }[]) => peers.map((p) => p.publicKey).sort();

describe('control plane API (one server)', () => {
  let server: TestServer;
  let api: ReturnType<typeof client>;
  let owner: TenantSession;
  let member: string;
  let auditor: string;
  const streams: SseClient[] = [];
  const open = async (node: RegisteredNode, lastEventId?: string | number) => {
    const s = await SseClient.connect(sseUrl(server.baseUrl, node.id), node.nodeToken, lastEventId);
    streams.push(s);
    return s;
  };

  beforeAll(async () => {
    server = await startServer();
    api = client(server);
    owner = await setupTenant(server.baseUrl, 'api-co');
    [member, auditor] = await Promise.all([addMember(server.baseUrl, owner, 'member'), addMember(server.baseUrl, owner, 'auditor')]);
    // Tags must be declared and owned (tagOwners) before anyone may put them on a node or an enrollment key.
    expect((await putPolicy(server.baseUrl, owner.token, { tagOwners: TAGS, acls: [] })).status).toBe(200);
  });

  afterAll(async () => {
    jest.useRealTimers();
    await Promise.all(streams.map((s) => s.close()));
    await server.dispose();
  });

  describe('enrollment keys', () => {
    const enroll = (key: string, tags?: string[]) =>
      api<RegisteredNode>('POST', '/api/v1/nodes', { token: key, body: { name: `enrolled-${Math.random().toString(36).slice(2, 8)}`, publicKey: wgKey(), ...(tags ? { tags } : {}) } });

    it('a single-use key enrols one node with the key\u2019s tags, then answers 401', async () => {
      const created = await api('POST', '/api/v1/enrollment-keys', { token: owner.token, body: { tags: ['ci', 'web'] } });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({ id: expect.any(String), key: expect.stringMatching(/^mgk\./), reusable: false, expiresAt: null, tags: ['tag:ci', 'tag:web'], ephemeral: false });
      expect(created.body.key.split('.')[1]).toBe(created.body.id);
      const first = await enroll(created.body.key);
      expect(first.status).toBe(201);
      expect(first.body.tags).toEqual(['tag:ci', 'tag:web']); // bare names are answered in tag: syntax
      expect((await api<NodeView>('GET', `/api/v1/nodes/${first.body.id}`, { token: owner.token })).body.tags).toEqual(['tag:ci', 'tag:web']);
      // The enrolled node's token works for its own node.
      expect((await api('POST', `/api/v1/nodes/${first.body.id}/heartbeat`, { token: first.body.nodeToken, body: {} })).status).toBe(202);
      const events = eventCount(server.databasePath);
      expect((await enroll(created.body.key)).status).toBe(401);
      expect(eventCount(server.databasePath)).toBe(events);
      // The key is listed (without its secret) as used.
      const listed = await api('GET', '/api/v1/enrollment-keys', { token: owner.token });
      const entry = listed.body.find((k: { id: string }) => k.id === created.body.id);
      expect(entry).toMatchObject({ uses: 1, revoked: false });
      expect(JSON.stringify(listed.body)).not.toContain(created.body.key.split('.')[2]);
    });

    it('a reusable key enrols several nodes; a node cannot claim tags the key does not grant', async () => {
      const created = await api('POST', '/api/v1/enrollment-keys', { token: owner.token, body: { reusable: true, tags: ['ci'] } });
      expect(created.status).toBe(201);
      expect((await enroll(created.body.key)).status).toBe(201);
      expect((await enroll(created.body.key, ['ci'])).status).toBe(201);
      expect((await enroll(created.body.key, ['admin'])).status).toBe(403);
    });

    it('a revoked key answers 401', async () => {
      const created = await api('POST', '/api/v1/enrollment-keys', { token: owner.token, body: { reusable: true } });
      expect((await api('DELETE', `/api/v1/enrollment-keys/${created.body.id}`, { token: owner.token })).status).toBe(204);
      expect((await enroll(created.body.key)).status).toBe(401);
    });

    it('an expired key answers 401 (clock moved past expiresAt)', async () => {
      const created = await api('POST', '/api/v1/enrollment-keys', { token: owner.token, body: { reusable: true, expiresInSeconds: 60 } });
      expect(created.status).toBe(201);
      expect(Date.parse(created.body.expiresAt) - Date.now()).toBeGreaterThan(55_000);
      expect((await enroll(created.body.key)).status).toBe(201);
      // Only Date is faked: the server in this process reads the moved clock, timers and I/O run for real.
      jest.useFakeTimers({
        doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
        now: Date.now() + 61_000,
      });
      try {
        expect((await enroll(created.body.key)).status).toBe(401);
      } finally {
        jest.useRealTimers();
      }
    });

    it('a garbage or forged key answers 401; an enrollment key cannot be used on other routes', async () => {
      const created = await api('POST', '/api/v1/enrollment-keys', { token: owner.token, body: { reusable: true } });
      const [prefix, id] = created.body.key.split('.');
      expect((await enroll(`${prefix}.${id}.${'A'.repeat(43)}`)).status).toBe(401);
      expect((await enroll('mgk.not-a-key')).status).toBe(401);
      expect((await api('GET', '/api/v1/nodes', { token: created.body.key })).status).toBe(403);
    });
  });

  describe('config feed', () => {
    let w1: RegisteredNode;
    let d1: RegisteredNode;
    let x1: RegisteredNode;

    beforeAll(async () => {
      const policy = await api('GET', '/api/v1/policies', { token: owner.token });
      const put = await putPolicy(server.baseUrl, owner.token, { tagOwners: TAGS, acls: [{ action: 'accept', src: ['tag:feed-web'], dst: ['tag:feed-db'] }] }, policy.body.version);
      expect(put.status).toBe(200);
      w1 = await createNode(server.baseUrl, owner.token, { name: 'feed-w1', tags: ['feed-web'] });
      d1 = await createNode(server.baseUrl, owner.token, { name: 'feed-d1', tags: ['feed-db'], endpoint: '203.0.113.1:51820' });
      x1 = await createNode(server.baseUrl, owner.token, { name: 'feed-x1', tags: ['feed-ops'] });
    });

    it('opens with the full config, with id = version', async () => {
      const config = (await api<NodeConfig>('GET', `/api/v1/nodes/${w1.id}/config`, { token: w1.nodeToken })).body;
      const s = await open(w1);
      const first = await s.waitFor(() => true);
      expect(first.event).toBe('config');
      expect(first.id).toBe(String(config.version));
      expect(first.data).toEqual(config);
      expect(keysOf(first.data.peers)).toEqual([d1.publicKey]);
    });

    it('Last-Event-ID equal to the current version gets no initial config; a stale or garbage one gets the full config', async () => {
      const { version } = (await api<NodeConfig>('GET', `/api/v1/nodes/${w1.id}/config`, { token: w1.nodeToken })).body;
      expect(version).toBeGreaterThan(1);
      const current = await open(w1, version);
      await current.waitForComment((c) => c.includes('up to date'));
      await sleep(100);
      expect(current.frames).toEqual([]);
      const stale = await open(w1, version - 1);
      expect((await stale.waitFor(() => true)).event).toBe('config');
      expect(stale.frames[0].data.version).toBe(version);
      const garbage = await open(w1, 'abc');
      expect((await garbage.waitFor(() => true)).event).toBe('config');
      await Promise.all([current.close(), stale.close(), garbage.close()]);
    });

    it('a change patches only the nodes whose config changed, on every open connection, with baseVersion/peersUpserted/peersRemoved', async () => {
      const [w1a, w1b, d1s, x1s] = await Promise.all([open(w1), open(w1), open(d1), open(x1)]);
      const [w1Full, , d1Full, x1Full] = await Promise.all([w1a, w1b, d1s, x1s].map((s) => s.waitFor((f) => f.event === 'config')));
      expect(keysOf(d1Full.data.peers)).toEqual([w1.publicKey]);
      expect(x1Full.data.peers).toEqual([]);

      // A new db node: only w1 (web → db) gains a peer. d1 (db) and x1 (ops) are not affected.
      const d2 = await createNode(server.baseUrl, owner.token, { name: 'feed-d2', tags: ['feed-db'] });
      const [pa, pb] = await Promise.all([w1a, w1b].map((s) => s.waitFor((f) => f.event === 'patch', 1000)));
      expect(pa.data).toEqual(pb.data);
      expect(pa.data).toEqual({
        version: pa.data.version, baseVersion: w1Full.data.version,
        peersUpserted: [{ publicKey: d2.publicKey, endpoint: null, allowedIps: [`${d2.address.split('/')[0]}/32`], persistentKeepalive: expect.any(Number), group: expect.any(String), name: 'feed-d2' }],
        peersRemoved: [],
      });
      expect(pa.data.version).toBeGreaterThan(w1Full.data.version);
      expect(pa.id).toBe(String(pa.data.version));

      // d1's endpoint changes (heartbeat): w1 gets a patch upserting d1 with the new endpoint; d2, x1 nothing.
      expect((await api('POST', `/api/v1/nodes/${d1.id}/heartbeat`, { token: d1.nodeToken, body: { endpoint: '203.0.113.9:4000' } })).status).toBe(202);
      const moved = await w1a.waitFor((f) => f.event === 'patch' && f.data.baseVersion === pa.data.version, 1000);
      expect(moved.data.peersUpserted).toEqual([expect.objectContaining({ publicKey: d1.publicKey, endpoint: '203.0.113.9:4000' })]);
      expect(moved.data.peersRemoved).toEqual([]);
      await w1b.waitFor((f) => f.event === 'patch' && f.data.version === moved.data.version, 1000);

      // Removing d2: w1 gets peersRemoved.
      expect((await api('DELETE', `/api/v1/nodes/${d2.id}`, { token: owner.token })).status).toBe(204);
      const gone = await w1a.waitFor((f) => f.event === 'patch' && f.data.peersRemoved.length > 0, 1000);
      expect(gone.data).toMatchObject({ baseVersion: moved.data.version, peersUpserted: [], peersRemoved: [d2.publicKey] });

      await sleep(200);
      expect(d1s.frames.map((f) => f.event)).toEqual(['config']);
      expect(x1s.frames.map((f) => f.event)).toEqual(['config']);
      expect((await api<NodeConfig>('GET', `/api/v1/nodes/${x1.id}/config`, { token: x1.nodeToken })).body.version).toBe(x1Full.data.version);
      expect((await api<NodeConfig>('GET', `/api/v1/nodes/${d1.id}/config`, { token: d1.nodeToken })).body.version).toBe(d1Full.data.version);
      // Applying the patches to the initial config gives what GET returns.
      const { applyPatch } = await import('@meshgate/contracts');
      let config = w1Full.data as NodeConfig;
      for (const f of w1a.frames.filter((x) => x.event === 'patch')) config = applyPatch(config, f.data);
      expect(config).toEqual((await api('GET', `/api/v1/nodes/${w1.id}/config`, { token: w1.nodeToken })).body);
      await Promise.all([w1a, w1b, d1s, x1s].map((s) => s.close()));
    });

    it('the stream needs a node token for that node', async () => {
      const noAuth = await fetch(sseUrl(server.baseUrl, w1.id));
      expect(noAuth.status).toBe(401);
      await noAuth.text();
      expect((await SseClient.connect(sseUrl(server.baseUrl, w1.id), owner.token)).status).toBe(403);
    });
  });

  describe('policy versions and roles', () => {
    it('If-Match with a stale version → 412 and nothing appended; a malformed one → 400', async () => {
      const current = await api('GET', '/api/v1/policies', { token: owner.token });
      expect(current.headers.get('etag')).toBe(`"${current.body.version}"`);
      const events = eventCount(server.databasePath);
      expect((await putPolicy(server.baseUrl, owner.token, ALLOW_ALL, current.body.version - 1)).status).toBe(412);
      expect((await putPolicy(server.baseUrl, owner.token, ALLOW_ALL, current.body.version + 5)).status).toBe(412);
      const bad = await api('PUT', '/api/v1/policies', { token: owner.token, body: ALLOW_ALL, headers: { 'if-match': 'W/"abc"' } });
      expect(bad.status).toBe(400);
      expect(eventCount(server.databasePath)).toBe(events);
      const ok = await putPolicy(server.baseUrl, owner.token, current.body.policy, current.body.version);
      expect(ok.status).toBe(200);
      expect(ok.body.version).toBe(current.body.version + 1);
    });

    it('a member can add nodes but cannot change the policy or read the audit log', async () => {
      const events = eventCount(server.databasePath);
      expect((await putPolicy(server.baseUrl, member, ALLOW_ALL)).status).toBe(403);
      expect((await api('GET', '/api/v1/audit', { token: member })).status).toBe(403);
      expect((await api('POST', '/api/v1/enrollment-keys', { token: member, body: {} })).status).toBe(403);
      expect(eventCount(server.databasePath)).toBe(events);
      expect((await api('GET', '/api/v1/policies', { token: member })).status).toBe(200);
      const node = await createNode(server.baseUrl, member, { name: 'member-node' });
      // Removing is for owners and admins.
      expect((await api('DELETE', `/api/v1/nodes/${node.id}`, { token: member })).status).toBe(403);
    });

    it('an auditor can read everything and change nothing', async () => {
      const node = await createNode(server.baseUrl, owner.token, { name: 'audited-node' });
      for (const path of ['/api/v1/nodes', `/api/v1/nodes/${node.id}`, `/api/v1/nodes/${node.id}/config`, '/api/v1/policies', '/api/v1/audit', '/api/v1/tenants/current/members']) {
        expect([path, (await api('GET', path, { token: auditor })).status]).toEqual([path, 200]);
      }
      const events = eventCount(server.databasePath);
      const writes: [string, string, unknown][] = [
        ['POST', '/api/v1/nodes', { name: 'auditor-node', publicKey: wgKey() }],
        ['DELETE', `/api/v1/nodes/${node.id}`, undefined],
        ['PUT', '/api/v1/policies', ALLOW_ALL],
        ['POST', '/api/v1/enrollment-keys', {}],
        ['POST', '/api/v1/tenants/current/members', { email: uniqueEmail(), role: 'member' }],
        ['POST', `/api/v1/nodes/${node.id}/heartbeat`, {}],
      ];
      for (const [method, path, body] of writes) {
        expect([method, path, (await api(method, path, { token: auditor, body })).status]).toEqual([method, path, 403]);
      }
      expect(eventCount(server.databasePath)).toBe(events);
    });
  });

  describe('audit log', () => {
    it('pages newest first with cursor and limit, and filters by type and actor', async () => {
      const all = await api<AuditPage>('GET', '/api/v1/audit?limit=500', { token: auditor });
      expect(all.status).toBe(200);
      expect(all.body.nextCursor).toBeNull();
      const positions = all.body.items.map((i) => i.position);
      expect(positions.length).toBeGreaterThan(10);
      expect([...positions].sort((x, y) => y - x)).toEqual(positions);
      expect(all.body.items[0]).toEqual({
        position: expect.any(Number), at: expect.any(String), actor: { kind: expect.any(String), id: expect.any(String) },
        type: expect.any(String), subject: expect.any(String), details: expect.any(Object),
      });
      expect(JSON.stringify(all.body)).not.toMatch(/tokenHash|secretHash|passwordHash/);
      expect(all.body.items.some((i) => i.type === 'NodeHeartbeatRecorded')).toBe(false);

      const paged: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { status: number; body: AuditPage } = await api('GET', `/api/v1/audit?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { token: owner.token });
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(3);
        paged.push(...page.body.items.map((i) => i.position));
        cursor = page.body.nextCursor;
        pages++;
      } while (cursor);
      expect(paged).toEqual(positions);
      expect(pages).toBe(Math.ceil(positions.length / 3));

      const registered = await api<AuditPage>('GET', '/api/v1/audit?type=NodeRegistered&limit=500', { token: owner.token });
      expect(registered.body.items.length).toBeGreaterThan(3);
      expect(registered.body.items.every((i) => i.type === 'NodeRegistered' && i.subject.startsWith('node:'))).toBe(true);
      expect(registered.body.items.map((i) => i.position)).toEqual(positions.filter((p) => all.body.items.find((i) => i.position === p)!.type === 'NodeRegistered'));

      const byOwner = await api<AuditPage>('GET', `/api/v1/audit?actor=${owner.userId}&limit=500`, { token: owner.token });
      expect(byOwner.body.items.length).toBeGreaterThan(0);
      expect(byOwner.body.items.every((i) => i.actor.id === owner.userId && i.actor.kind === 'user')).toBe(true);

      const since = all.body.items[2].at;
      const recent = await api<AuditPage>('GET', `/api/v1/audit?since=${encodeURIComponent(since)}&limit=500`, { token: owner.token });
      expect(recent.body.items.every((i) => i.at >= since)).toBe(true);
      expect(recent.body.items.length).toBeGreaterThanOrEqual(3);
      expect((await api<AuditPage>('GET', '/api/v1/audit?type=NoSuchEvent', { token: owner.token })).body).toEqual({ items: [], nextCursor: null });
    });
  });

  describe('operations endpoints', () => {
    it('the metrics listener exposes the control plane\u2019s metrics in Prometheus text', async () => {
      const node = await createNode(server.baseUrl, owner.token, { name: 'metrics-node' });
      expect((await api('POST', `/api/v1/nodes/${node.id}/heartbeat`, { token: node.nodeToken, body: {} })).status).toBe(202);
      const stream = await open(node);
      await stream.waitFor((f) => f.event === 'config');
      const scrape = () => request(server.metricsUrl, 'GET', '/metrics');
      const metrics = await scrape();
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      const value = (pattern: RegExp) => {
        const match = pattern.exec(metrics.text);
        if (!match) throw new Error(`no ${pattern} in /metrics`);
        return Number(match[1]);
      };
      expect(value(/^meshgate_events_appended_total\{type="NodeRegistered"\} (\d+)/m)).toBeGreaterThan(0);
      expect(value(/^meshgate_heartbeats_total (\d+)/m)).toBeGreaterThan(0);
      expect(value(/^meshgate_nodes\{status="online"\} (\d+)/m)).toBeGreaterThan(0);
      expect(value(/^meshgate_sse_streams_open (\d+)/m)).toBeGreaterThanOrEqual(1);
      expect(value(/^meshgate_sse_messages_sent_total\{event="config"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
      expect(metrics.text).toMatch(/^meshgate_http_request_duration_seconds_bucket\{.*route="\/api\/v1\/nodes\/:id\/heartbeat".*\} \d+/m);
      const openBefore = value(/^meshgate_sse_streams_open (\d+)/m);
      await stream.close();
      await eventually(async () => new RegExp(`^meshgate_sse_streams_open ${openBefore - 1}$`, 'm').test((await scrape()).text), 2000, 'the stream gauge to drop');
    });

    it('/health answers 200 when the database is reachable', async () => {
      const health = await api('GET', '/health');
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({ status: 'ok', database: 'ok', storage: 'ok' });
      expect(health.body.freeBytes).toBeGreaterThan(0);
    });

    it('/docs serves Swagger UI and /docs-json the OpenAPI document', async () => {
      const ui = await api('GET', '/docs');
      expect(ui.status).toBe(200);
      expect(ui.headers.get('content-type')).toMatch(/text\/html/);
      expect(ui.text).toMatch(/swagger-ui/i);
      const doc = await api('GET', '/docs-json');
      expect(doc.status).toBe(200);
      expect(doc.body.openapi).toMatch(/^3\./);
      for (const path of ['/api/v1/auth/register', '/api/v1/auth/login', '/api/v1/nodes', '/api/v1/nodes/{id}', '/api/v1/nodes/{id}/config',
        '/api/v1/nodes/{id}/heartbeat', '/api/v1/nodes/{id}/config/stream', '/api/v1/policies', '/api/v1/audit', '/api/v1/enrollment-keys']) {
        expect(Object.keys(doc.body.paths)).toContain(path);
      }
    });

    it('wrong credentials give the same 401 whether or not the email exists', async () => {
      const unknown = await api('POST', '/api/v1/auth/login', { body: { email: uniqueEmail('nobody'), password: 'wrong password!' } });
      const wrong = await api('POST', '/api/v1/auth/login', { body: { email: owner.email, password: 'wrong password!' } });
      expect(unknown.status).toBe(401);
      expect(wrong.status).toBe(401);
      expect(unknown.body).toEqual(wrong.body);
      expect((await api('POST', '/api/v1/auth/register', { body: { email: owner.email, password: 'another password' } })).status).toBe(409);
    });
  });
});
