import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeConfig, NodeView, RegisteredNode } from '@meshgate/contracts';
import {
  client, countEvents, createNode, login, PASSWORD, putPolicy, request, setupTenant, startServer, StoreKind, tagOwners,
  TenantSession, TestServer,
} from './support/server';
import { SseClient, sseUrl } from './support/sse';

jest.setTimeout(30_000);

const ROOT = join(__dirname, '..', '..', '..');
const REPLAY = join(ROOT, 'dist', 'apps', 'control-plane', 'replay.js');

/** `npm run replay -- --full` as a child process on the server's store (DATABASE_PATH, or DATABASE_URL). */
function runReplay(storeEnv: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, DATABASE_PATH: '', DATABASE_URL: '', ...storeEnv };
    const child = spawn(process.execPath, [REPLAY, '--full'], { env, cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const ip = (address: string) => address.split('/')[0];
/** Tags are declared and owned (tagOwners) before anyone may put them on a node. */
const TAGS = tagOwners('web', 'db');

describe.each<StoreKind>(['sqlite', 'postgres'])('the whole flow on %s: tenant, nodes, policy, heartbeats, live configs, restart and replay', (store) => {
  let server: TestServer;
  let api: ReturnType<typeof client>;
  let owner: TenantSession;
  let a: RegisteredNode;
  let b: RegisteredNode;
  const streams: SseClient[] = [];

  beforeAll(async () => {
    server = await startServer({}, { store });
    api = client(server);
  });

  afterAll(async () => {
    await Promise.all(streams.map((s) => s.close()));
    await server?.dispose();
  });

  it('registers a user, creates a tenant, and logs in scoped to it', async () => {
    // On the store this run names: DATABASE_URL overrides the SQLite file, which is then never created.
    expect(existsSync(server.databasePath)).toBe(store === 'sqlite');
    owner = await setupTenant(server.baseUrl, 'flow-co');
    const scoped = await api('POST', '/api/v1/auth/login', { body: { email: owner.email, password: PASSWORD, tenantId: owner.tenantId } });
    expect(scoped.status).toBe(200);
    expect(scoped.body.tenants).toEqual([{ id: owner.tenantId, name: 'flow-co', role: 'owner' }]);
    expect(typeof scoped.body.accessToken).toBe('string');
    expect(scoped.body.expiresIn).toBeGreaterThan(0);
    // The unscoped token can list memberships but not use tenant routes.
    expect((await api('GET', '/api/v1/auth/tenants', { token: owner.userToken })).body).toEqual([{ id: owner.tenantId, name: 'flow-co', role: 'owner' }]);
    expect((await api('GET', '/api/v1/nodes', { token: owner.userToken })).status).toBe(403);
  });

  it('registers two nodes with distinct overlay addresses; under a policy that declares their tags but allows nothing they are not peers', async () => {
    expect((await putPolicy(server.baseUrl, owner.token, { tagOwners: TAGS, acls: [] })).status).toBe(200);
    a = await createNode(server.baseUrl, owner.token, { name: 'alpha', endpoint: '198.51.100.1:51820', tags: ['web'] });
    b = await createNode(server.baseUrl, owner.token, { name: 'bravo', endpoint: '198.51.100.2:51820', tags: ['db'] });
    expect(a.nodeToken).toMatch(new RegExp(`^mgn\\.${a.id}\\.[A-Za-z0-9_-]{43}$`));
    expect(ip(a.address)).toMatch(/^100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.\d+\.\d+$/);
    expect(ip(a.address)).not.toBe(ip(b.address));
    expect(a.tags).toEqual(['tag:web']); // bare names are answered in tag: syntax
    const nodes = await api<NodeView[]>('GET', '/api/v1/nodes', { token: owner.token });
    expect(nodes.status).toBe(200);
    expect(nodes.body.map((n) => n.name).sort()).toEqual(['alpha', 'bravo']);
    expect(nodes.body.every((n) => n.status === 'pending' && n.lastSeenAt === null)).toBe(true);
    const policy = await api('GET', '/api/v1/policies', { token: owner.token });
    expect(policy.status).toBe(200);
    expect(policy.body.policy).toEqual({ tagOwners: TAGS, acls: [] });
    const config = await api<NodeConfig>('GET', `/api/v1/nodes/${a.id}/config`, { token: a.nodeToken });
    expect(config.status).toBe(200);
    expect(config.body.peers).toEqual([]);
    expect(config.body.interface.address.split('/')[0]).toBe(ip(a.address));
  });

  it('a policy allowing the two puts each in the other\u2019s config, and the change reaches an open SSE stream within 1 s', async () => {
    const stream = await SseClient.connect(sseUrl(server.baseUrl, a.id), a.nodeToken);
    streams.push(stream);
    expect(stream.status).toBe(200);
    expect(stream.contentType).toContain('text/event-stream');
    const initial = await stream.waitFor((f) => f.event === 'config');
    expect(initial.data.peers).toEqual([]);
    expect(initial.id).toBe(String(initial.data.version));

    const before = await api('GET', '/api/v1/policies', { token: owner.token });
    const started = performance.now();
    const put = await putPolicy(server.baseUrl, owner.token, { tagOwners: TAGS, acls: [{ action: 'accept', src: ['tag:web'], dst: ['tag:db'] }] }, before.body.version);
    expect(put.status).toBe(200);
    expect(put.body.version).toBe(before.body.version + 1);
    expect(put.headers.get('etag')).toBe(`"${put.body.version}"`);
    const patch = await stream.waitFor((f) => f.event === 'patch', 1000);
    expect(patch.receivedAt - started).toBeLessThan(1000);
    expect(patch.data.baseVersion).toBe(initial.data.version);
    expect(patch.data.version).toBeGreaterThan(initial.data.version);
    expect(patch.id).toBe(String(patch.data.version));
    expect(patch.data.peersUpserted.map((p: { publicKey: string }) => p.publicKey)).toEqual([b.publicKey]);
    expect(patch.data.peersRemoved).toEqual([]);

    const configA = await api<NodeConfig>('GET', `/api/v1/nodes/${a.id}/config`, { token: owner.token });
    const configB = await api<NodeConfig>('GET', `/api/v1/nodes/${b.id}/config`, { token: b.nodeToken });
    expect(configA.body.version).toBe(patch.data.version);
    expect(configA.body.peers).toEqual([
      { publicKey: b.publicKey, endpoint: '198.51.100.2:51820', allowedIps: [`${ip(b.address)}/32`], persistentKeepalive: expect.any(Number), group: expect.any(String), name: 'bravo' },
    ]);
    expect(configB.body.peers).toEqual([
      { publicKey: a.publicKey, endpoint: '198.51.100.1:51820', allowedIps: [`${ip(a.address)}/32`], persistentKeepalive: expect.any(Number), group: expect.any(String), name: 'alpha' },
    ]);
  });

  it('a heartbeat is accepted (202) and turns the node online', async () => {
    const beat = await api('POST', `/api/v1/nodes/${a.id}/heartbeat`, { token: a.nodeToken, body: { rxBytes: 10, txBytes: 20 } });
    expect(beat.status).toBe(202);
    const node = await api<NodeView>('GET', `/api/v1/nodes/${a.id}`, { token: owner.token });
    expect(node.body.status).toBe('online');
    expect(node.body.lastSeenAt).not.toBeNull();
    expect((await api<NodeView>('GET', `/api/v1/nodes/${b.id}`, { token: owner.token })).body.status).toBe('pending');
  });

  it('a node removal reaches its peers\u2019 streams within 1 s, and the removed node\u2019s token dies at once', async () => {
    const charlie = await createNode(server.baseUrl, owner.token, { name: 'charlie', tags: ['db'] });
    const stream = streams[0];
    const joined = await stream.waitFor((f) => f.event === 'patch' && f.data.peersUpserted.some((p: { publicKey: string }) => p.publicKey === charlie.publicKey));
    const charlieStream = await SseClient.connect(sseUrl(server.baseUrl, charlie.id), charlie.nodeToken);
    streams.push(charlieStream);
    await charlieStream.waitFor((f) => f.event === 'config');

    const started = performance.now();
    const removed = await api('DELETE', `/api/v1/nodes/${charlie.id}`, { token: owner.token });
    expect(removed.status).toBe(204);
    const patch = await stream.waitFor((f) => f.event === 'patch' && f.data.peersRemoved.includes(charlie.publicKey), 1000);
    expect(patch.receivedAt - started).toBeLessThan(1000);
    expect(patch.data.baseVersion).toBe(joined.data.version);
    expect(patch.data.peersUpserted).toEqual([]);
    // The removed node's own stream ends and its token no longer opens anything.
    await charlieStream.waitForEnd(1000);
    expect((await api('POST', `/api/v1/nodes/${charlie.id}/heartbeat`, { token: charlie.nodeToken, body: {} })).status).toBe(401);
    expect((await api('GET', `/api/v1/nodes/${charlie.id}/config`, { token: charlie.nodeToken })).status).toBe(401);
    expect((await SseClient.connect(sseUrl(server.baseUrl, charlie.id), charlie.nodeToken)).status).toBe(401);
    expect((await api('GET', `/api/v1/nodes/${charlie.id}`, { token: owner.token })).status).toBe(404);
    expect((await api('GET', `/api/v1/nodes/${a.id}/config`, { token: owner.token })).body.peers.map((p: { publicKey: string }) => p.publicKey)).toEqual([b.publicKey]);
  });

  const readModels = async () => {
    const audit: unknown[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: unknown[]; nextCursor: string | null } } =
        await api('GET', `/api/v1/audit?limit=500${cursor ? `&cursor=${cursor}` : ''}`, { token: owner.token });
      expect(page.status).toBe(200);
      audit.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    return {
      nodes: (await api('GET', '/api/v1/nodes', { token: owner.token })).body,
      nodeA: (await api('GET', `/api/v1/nodes/${a.id}`, { token: owner.token })).body,
      policies: (await api('GET', '/api/v1/policies', { token: owner.token })).body,
      audit,
      configA: (await api('GET', `/api/v1/nodes/${a.id}/config`, { token: owner.token })).body,
      configB: (await api('GET', `/api/v1/nodes/${b.id}/config`, { token: owner.token })).body,
      memberships: (await api('GET', '/api/v1/auth/tenants', { token: owner.userToken })).body,
    };
  };

  it('a restart (even with streams open) keeps every event and the same read models, and tokens stay valid', async () => {
    const events = await countEvents(server);
    const before = await readModels();
    expect(before.audit.length).toBeGreaterThan(5);
    const open = streams[0];
    await server.restart();
    await open.waitForEnd(2000);
    expect(await countEvents(server)).toBe(events);
    expect(await readModels()).toEqual(before);
    // Node tokens and JWTs survive (same secret, same log); a resumed stream is told it is up to date.
    const resumed = await SseClient.connect(sseUrl(server.baseUrl, a.id), a.nodeToken, before.configA.version);
    streams.push(resumed);
    await resumed.waitForComment((c) => c.includes('up to date'));
    expect(resumed.frames).toEqual([]);
    await resumed.close();
    expect((await api('POST', `/api/v1/nodes/${b.id}/heartbeat`, { token: b.nodeToken, body: {} })).status).toBe(202);
    expect(await login(server.baseUrl, owner.email, owner.tenantId)).toEqual(expect.any(String));
  });

  it('`npm run replay` rebuilds every read model from position 0 and finds them identical', async () => {
    expect(existsSync(REPLAY)).toBe(true);
    const events = await countEvents(server);
    await server.stop();
    const result = await runReplay(server.storeEnv);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`replayed ${events} events into the inline projections`));
    expect(result.stdout).toMatch(new RegExp(`replayed ${events} events into the views from position 0`));
    expect(result.stdout).toContain('hash chain intact');
    expect(result.stdout).toContain('read models identical');
    expect(await countEvents(server)).toBe(events);
    // The models replay rebuilt serve the same answers.
    await server.restart();
    const after = await request(server.baseUrl, 'GET', `/api/v1/nodes/${a.id}/config`, { token: a.nodeToken });
    expect(after.status).toBe(200);
    expect(after.body.peers.map((p: { publicKey: string }) => p.publicKey)).toEqual([b.publicKey]);
  });
});

