/**
 * Node keys end to end: the tenant's key expiry, rotation with the node token (patches to every peer over SSE), expiry
 * by the sweeper on the manual clock (SCHEDULER_CLOCK=manual, PUT /api/v1/test-clock), the per-node exemption, and
 * ephemeral nodes removed after EPHEMERAL_NODE_TTL_SECONDS of inactivity. Real HTTP, real SQLite, real SSE clients.
 */
import { randomUUID } from 'node:crypto';
import type { NodeConfig, NodeView, RegisteredNode } from '@meshgate/contracts';
import {
  addMember, ALLOW_ALL, client, countEvents, createNode, putPolicy, request, setupTenant, startServer, TenantSession, TestServer, wgKey,
} from './support/server';
import { SseClient, SseFrame, sseUrl } from './support/sse';

jest.setTimeout(60_000);

const DAY_MS = 24 * 3600 * 1000;
const TTL_SECONDS = 60;

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const isPatch = (f: SseFrame) => f.event === 'patch';
const keysOf = (config: NodeConfig) => config.peers.map((p) => p.publicKey).sort();

describe('node keys (expiry, rotation, ephemeral nodes)', () => {
  let server: TestServer;
  let api: ReturnType<typeof client>;
  let owner: TenantSession;
  let other: TenantSession;
  let memberToken: string;
  let a: RegisteredNode;
  let b: RegisteredNode;
  let c: RegisteredNode;
  const streams: SseClient[] = [];
  const open = async (node: RegisteredNode) => {
    const stream = await SseClient.connect(sseUrl(server.baseUrl, node.id), node.nodeToken);
    streams.push(stream);
    await stream.waitFor((f) => f.event === 'config');
    return stream;
  };
  const setClock = async (at: number) => {
    const reply = await api('PUT', '/api/v1/test-clock', { token: owner.token, body: { now: new Date(at).toISOString() } });
    expect(reply.status).toBe(200);
  };
  const nodeView = async (node: RegisteredNode): Promise<NodeView> => (await api('GET', `/api/v1/nodes/${node.id}`, { token: owner.token })).body;
  const configOf = async (node: RegisteredNode): Promise<NodeConfig> => (await api('GET', `/api/v1/nodes/${node.id}/config`, { token: owner.token })).body;
  /** A refusal: the status, the message naming `names`, and nothing appended. */
  const refused = async (status: number, names: string, send: () => Promise<{ status: number; body: any }>) => {
    const before = await countEvents(server);
    const reply = await send();
    expect(reply.status).toBe(status);
    expect(JSON.stringify(reply.body.message)).toContain(names);
    expect(await countEvents(server)).toBe(before);
    return reply;
  };

  beforeAll(async () => {
    server = await startServer({
      SCHEDULER_CLOCK: 'manual', SWEEP_INTERVAL_MS: '100', EPHEMERAL_NODE_TTL_SECONDS: String(TTL_SECONDS), HEARTBEAT_INTERVAL_SECONDS: '30',
    });
    api = client(server);
    owner = await setupTenant(server.baseUrl, 'keys');
    other = await setupTenant(server.baseUrl, 'other');
    memberToken = await addMember(server.baseUrl, owner, 'member');
    expect((await putPolicy(server.baseUrl, owner.token, ALLOW_ALL)).status).toBe(200);
    a = await createNode(server.baseUrl, owner.token, { name: 'a' });
    b = await createNode(server.baseUrl, owner.token, { name: 'b' });
    c = await createNode(server.baseUrl, owner.token, { name: 'c' });
  });

  afterAll(async () => {
    for (const s of streams) await s.close();
    await server?.dispose();
  });

  describe('tenant setting nodeKeyExpiryDays', () => {
    it('defaults to 180 days from registration, shown on the node and in its config', async () => {
      expect((await api('GET', '/api/v1/tenants/current/settings', { token: memberToken })).body).toEqual({ nodeKeyExpiryDays: 180, domain: 'keys.mesh' });
      const view = await nodeView(a);
      expect(view).toMatchObject({ keyExpired: false, keyExpiryDisabled: false, ephemeral: false });
      const config = await configOf(a);
      expect(config.key).toEqual({ issuedAt: expect.any(String), expiresAt: view.keyExpiresAt, expired: false });
      const registeredAt = new Date(view.keyExpiresAt!).getTime() - 180 * DAY_MS;
      expect(Math.abs(registeredAt - Date.now())).toBeLessThan(60_000);
    });

    it('an owner changes it; every node of the tenant gets its new expiry by a patch', async () => {
      const stream = await open(a);
      const before = (await nodeView(a)).keyExpiresAt!;
      const reply = await api('PATCH', '/api/v1/tenants/current', { token: owner.token, body: { nodeKeyExpiryDays: 30 } });
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ nodeKeyExpiryDays: 30, domain: 'keys.mesh' });
      const expected = new Date(new Date(before).getTime() - 150 * DAY_MS).toISOString();
      const patch = await stream.waitFor((f) => isPatch(f) && f.data.key !== undefined);
      expect(patch.data).toMatchObject({ key: { expiresAt: expected, expired: false }, peersUpserted: [], peersRemoved: [] });
      expect((await nodeView(a)).keyExpiresAt).toBe(expected);
      expect((await api('GET', '/api/v1/tenants/current/settings', { token: owner.token })).body).toEqual({ nodeKeyExpiryDays: 30, domain: 'keys.mesh' });
      // The same value again appends nothing.
      const count = await countEvents(server);
      expect((await api('PATCH', '/api/v1/tenants/current', { token: owner.token, body: { nodeKeyExpiryDays: 30 } })).status).toBe(200);
      expect(await countEvents(server)).toBe(count);
    });

    it('refuses bad input (400 naming the field), a member (403) and appends nothing', async () => {
      for (const body of [{ nodeKeyExpiryDays: 0 }, { nodeKeyExpiryDays: 3651 }, { nodeKeyExpiryDays: 1.5 }, { nodeKeyExpiryDays: '30' }, { nodeKeyExpiryDays: null }]) {
        await refused(400, 'nodeKeyExpiryDays', () => api('PATCH', '/api/v1/tenants/current', { token: owner.token, body }));
      }
      await refused(400, 'color', () => api('PATCH', '/api/v1/tenants/current', { token: owner.token, body: { color: 'red' } }));
      const forbidden = await refused(403, '', () => api('PATCH', '/api/v1/tenants/current', { token: memberToken, body: { nodeKeyExpiryDays: 5 } }));
      expect(forbidden.status).toBe(403);
    });
  });

  describe('rotation', () => {
    it('replaces the key in every peer\u2019s config by a patch, and the rotating node\u2019s own expiry', async () => {
      const streamA = streams[0];
      const streamB = await open(b);
      const fromB = streamB.frames.length;
      const fromA = streamA.frames.length;
      const oldKey = a.publicKey;
      const newKey = wgKey();
      const reply = await api('POST', `/api/v1/nodes/${a.id}/key`, { token: a.nodeToken, body: { publicKey: newKey } });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ publicKey: newKey, keyExpired: false });
      expect(new Date(reply.body.keyExpiresAt).getTime() - Date.now()).toBeGreaterThan(29 * DAY_MS);

      const atB = await streamB.waitFor(isPatch, 3000, fromB);
      expect(atB.data.peersRemoved).toEqual([oldKey]);
      expect(atB.data.peersUpserted.map((p: { publicKey: string }) => p.publicKey)).toEqual([newKey]);
      const atA = await streamA.waitFor(isPatch, 3000, fromA);
      expect(atA.data).toMatchObject({ peersUpserted: [], peersRemoved: [], key: { expiresAt: reply.body.keyExpiresAt, expired: false } });
      expect((await nodeView(a)).publicKey).toBe(newKey);
      expect(keysOf(await configOf(b))).toEqual([c.publicKey, newKey].sort());
      a = { ...a, publicKey: newKey };

      // Heartbeats name peers by their new key.
      const beat = await api('POST', `/api/v1/nodes/${b.id}/heartbeat`, {
        token: b.nodeToken, body: { peers: [{ publicKey: newKey, rxBytes: 1, txBytes: 1 }] },
      });
      expect(beat.status).toBe(202);
    });

    it('rotating to the key the node holds answers 200 and appends nothing', async () => {
      const count = await countEvents(server);
      const reply = await api('POST', `/api/v1/nodes/${a.id}/key`, { token: a.nodeToken, body: { publicKey: a.publicKey } });
      expect(reply.status).toBe(200);
      expect(await countEvents(server)).toBe(count);
    });

    it('refuses a key another node holds (409), bad input (400), another node\u2019s token (403), a user token', async () => {
      const taken = await refused(409, 'publicKey', () => api('POST', `/api/v1/nodes/${a.id}/key`, { token: a.nodeToken, body: { publicKey: b.publicKey } }));
      expect(taken.body.code).toBe('PUBLIC_KEY_TAKEN');
      for (const body of [{ publicKey: 'not-a-key' }, {}, { publicKey: 42 }]) {
        await refused(400, 'publicKey', () => api('POST', `/api/v1/nodes/${a.id}/key`, { token: a.nodeToken, body }));
      }
      await refused(400, 'extra', () => api('POST', `/api/v1/nodes/${a.id}/key`, { token: a.nodeToken, body: { publicKey: wgKey(), extra: 1 } }));
      await refused(400, 'id', () => api('POST', '/api/v1/nodes/not-a-uuid/key', { token: a.nodeToken, body: { publicKey: wgKey() } }));
      await refused(403, 'own node', () => api('POST', `/api/v1/nodes/${a.id}/key`, { token: b.nodeToken, body: { publicKey: wgKey() } }));
      const byUser = await api('POST', `/api/v1/nodes/${a.id}/key`, { token: owner.token, body: { publicKey: wgKey() } });
      expect([401, 403]).toContain(byUser.status);
    });

    it('a key held in another tenant is free here; another tenant\u2019s node token cannot rotate ours', async () => {
      const foreign = await createNode(server.baseUrl, other.token, { name: 'foreign' });
      await refused(403, 'own node', () => api('POST', `/api/v1/nodes/${a.id}/key`, { token: foreign.nodeToken, body: { publicKey: wgKey() } }));
      const reply = await api('POST', `/api/v1/nodes/${foreign.id}/key`, { token: foreign.nodeToken, body: { publicKey: c.publicKey } });
      expect(reply.status).toBe(200);
    });
  });

  describe('expiry by the sweeper', () => {
    it('PUT /nodes/:id/key-expiry: bad input 400, a member 403, another tenant\u2019s node 404, nothing appended', async () => {
      for (const body of [{}, { disabled: 'yes' }, { disabled: null }, { disabled: true, extra: 1 }]) {
        await refused(400, body.disabled === true ? 'extra' : 'disabled', () => api('PUT', `/api/v1/nodes/${b.id}/key-expiry`, { token: owner.token, body }));
      }
      await refused(403, '', () => api('PUT', `/api/v1/nodes/${b.id}/key-expiry`, { token: memberToken, body: { disabled: true } }));
      await refused(404, 'not found', () => api('PUT', `/api/v1/nodes/${b.id}/key-expiry`, { token: other.token, body: { disabled: true } }));
      await refused(404, 'not found', () => api('PUT', `/api/v1/nodes/${randomUUID()}/key-expiry`, { token: owner.token, body: { disabled: true } }));
    });

    it('an admin exempts b; when the clock passes the expiry, a and c leave every config and lose their peers', async () => {
      const exempt = await api('PUT', `/api/v1/nodes/${b.id}/key-expiry`, { token: owner.token, body: { disabled: true } });
      expect(exempt.status).toBe(200);
      expect(exempt.body).toMatchObject({ keyExpiryDisabled: true, keyExpiresAt: null, keyExpired: false });
      const [streamA, streamB] = [streams[0], streams[1]];
      await streamB.waitFor((f) => isPatch(f) && f.data.key?.expiresAt === null);
      const fromA = streamA.frames.length;
      const fromB = streamB.frames.length;

      await setClock(Date.now() + 31 * DAY_MS);
      await waitUntil(async () => (await nodeView(a)).keyExpired && (await nodeView(c)).keyExpired, 'a and c to expire');
      expect((await nodeView(b)).keyExpired).toBe(false);

      const atA = await streamA.waitFor((f) => isPatch(f) && f.data.key?.expired === true, 3000, fromA);
      expect(atA.data.peersRemoved.sort()).toEqual([b.publicKey, c.publicKey].sort());
      const atB = await streamB.waitFor((f) => isPatch(f) && f.data.peersRemoved.includes(a.publicKey), 3000, fromB);
      expect(atB.data.peersUpserted).toEqual([]);
      await waitUntil(async () => keysOf(await configOf(b)).length === 0, 'b to lose both peers');
      const ownConfig = await configOf(a);
      expect(ownConfig).toMatchObject({ peers: [], routes: [], firewall: [], qos: [], key: { expired: true } });
      expect(ownConfig.interface.address).toMatch(/^100\./);

      // The log says why, and who: the sweeper, on the clock it was given.
      const audit = await api('GET', '/api/v1/audit?type=NodeKeyExpired', { token: owner.token });
      expect(audit.body.items.map((e: { subject: string }) => e.subject).sort()).toEqual([`node:${a.id}`, `node:${c.id}`].sort());
      for (const entry of audit.body.items) {
        expect(entry.actor).toEqual({ kind: 'system', id: 'offline-sweeper' });
        expect(new Date(entry.details.at).getTime()).toBeGreaterThan(Date.now() + 30 * DAY_MS);
      }
    });

    it('an expired node comes back when it rotates; another comes back when an admin exempts it', async () => {
      await setClock(Date.now());
      const [streamA, streamB] = [streams[0], streams[1]];
      const fromA = streamA.frames.length;
      const fromB = streamB.frames.length;
      const newKey = wgKey();
      const reply = await api('POST', `/api/v1/nodes/${a.id}/key`, { token: a.nodeToken, body: { publicKey: newKey } });
      expect(reply.status).toBe(200);
      expect(reply.body.keyExpired).toBe(false);
      const atB = await streamB.waitFor((f) => isPatch(f) && f.data.peersUpserted.some((p: { publicKey: string }) => p.publicKey === newKey), 3000, fromB);
      expect(atB.data.peersRemoved).toEqual([]);
      const atA = await streamA.waitFor((f) => isPatch(f) && f.data.key?.expired === false, 3000, fromA);
      expect(atA.data.peersUpserted.map((p: { publicKey: string }) => p.publicKey)).toEqual([b.publicKey]);
      a = { ...a, publicKey: newKey };
      expect(keysOf(await configOf(a))).toEqual([b.publicKey]);

      const back = await api('PUT', `/api/v1/nodes/${c.id}/key-expiry`, { token: owner.token, body: { disabled: true } });
      expect(back.status).toBe(200);
      expect(back.body).toMatchObject({ keyExpired: false, keyExpiryDisabled: true });
      await waitUntil(async () => keysOf(await configOf(b)).join() === [a.publicKey, c.publicKey].sort().join(), 'c back at b');
      expect(keysOf(await configOf(c))).toEqual([a.publicKey, b.publicKey].sort());
    });
  });

  describe('ephemeral nodes', () => {
    it('an ephemeral key makes nodes that are removed once offline for the TTL; other nodes stay', async () => {
      await refused(400, 'ephemeral', () => api('POST', '/api/v1/enrollment-keys', { token: owner.token, body: { ephemeral: 'yes' } }));
      const key = await api('POST', '/api/v1/enrollment-keys', { token: owner.token, body: { ephemeral: true, reusable: true } });
      expect(key.status).toBe(201);
      expect(key.body.ephemeral).toBe(true);
      const listed = (await api('GET', '/api/v1/enrollment-keys', { token: owner.token })).body.find((k: { id: string }) => k.id === key.body.id);
      expect(listed.ephemeral).toBe(true);

      const t0 = Date.now();
      await setClock(t0);
      const registered = await request<RegisteredNode>(server.baseUrl, 'POST', '/api/v1/nodes', { token: key.body.key, body: { name: 'ci-runner', publicKey: wgKey() } });
      expect(registered.status).toBe(201);
      const e = registered.body;
      expect((await nodeView(e)).ephemeral).toBe(true);
      expect((await api('POST', `/api/v1/nodes/${e.id}/heartbeat`, { token: e.nodeToken, body: {} })).status).toBe(202);
      const streamE = await open(e);
      const streamB = streams[1];
      const fromB = streamB.frames.length;

      // Silent for 3 heartbeat intervals: offline (every node is, on this clock); then the TTL: removed.
      await setClock(t0 + 120_000);
      await waitUntil(async () => (await nodeView(e)).status === 'offline', 'the ephemeral node to go offline');
      await setClock(t0 + 120_000 + (TTL_SECONDS - 5) * 1000);
      await new Promise((r) => setTimeout(r, 400));
      expect((await api('GET', `/api/v1/nodes/${e.id}`, { token: owner.token })).status).toBe(200);
      await setClock(t0 + 120_000 + (TTL_SECONDS + 5) * 1000);
      await waitUntil(async () => (await api('GET', `/api/v1/nodes/${e.id}`, { token: owner.token })).status === 404, 'the ephemeral node to be removed');
      await streamB.waitFor((f) => isPatch(f) && f.data.peersRemoved.includes(e.publicKey), 3000, fromB);
      await streamE.waitForEnd(3000);
      // Its token died with it; the other nodes, inactive as long (b offline, a and c never seen), are still there.
      expect((await api('POST', `/api/v1/nodes/${e.id}/heartbeat`, { token: e.nodeToken, body: {} })).status).toBe(401);
      expect((await nodeView(b)).status).toBe('offline');
      for (const node of [a, c]) expect((await nodeView(node)).status).toBe('pending');
      await setClock(Date.now());
    });
  });

  it('an enrollment key expires on the clock the handlers and guards read (CLOCK), not the machine\u2019s', async () => {
    const t0 = Date.UTC(2026, 0, 5, 12);
    await setClock(t0);
    const key = await api('POST', '/api/v1/enrollment-keys', { token: owner.token, body: { reusable: true, expiresInSeconds: 3600 } });
    expect(key.status).toBe(201);
    expect(key.body.expiresAt).toBe(new Date(t0 + 3600_000).toISOString());
    const enroll = (name: string) => request(server.baseUrl, 'POST', '/api/v1/nodes', { token: key.body.key, body: { name, publicKey: wgKey() } });
    await setClock(t0 + 3540_000);
    expect((await enroll('before-expiry')).status).toBe(201);
    await setClock(t0 + 3660_000);
    const before = await countEvents(server);
    expect((await enroll('after-expiry')).status).toBe(401);
    expect(await countEvents(server)).toBe(before);
    await setClock(Date.now());
  });

  it('a restart replays the log into the same nodes and configs (the clock entered only through events)', async () => {
    const read = async () => ({
      nodes: (await api('GET', '/api/v1/nodes', { token: owner.token })).body,
      configs: await Promise.all([a, b, c].map(configOf)),
      settings: (await api('GET', '/api/v1/tenants/current/settings', { token: owner.token })).body,
    });
    const before = await read();
    for (const s of streams.splice(0)) await s.close();
    await server.restart();
    expect(await read()).toEqual(before);
  });
});

describe('node keys on PostgreSQL (the identities\u2019 unique index, the ephemeral column)', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({}, { store: 'postgres' });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('rotates, refuses a taken key with 409 and nothing appended, and enrolls ephemeral nodes', async () => {
    const api = client(server);
    const owner = await setupTenant(server.baseUrl, 'pg-keys');
    const key = await api('POST', '/api/v1/enrollment-keys', { token: owner.token, body: { ephemeral: true } });
    expect(key.status).toBe(201);
    const enrolled = await request<RegisteredNode>(server.baseUrl, 'POST', '/api/v1/nodes', { token: key.body.key, body: { name: 'eph', publicKey: wgKey() } });
    expect(enrolled.status).toBe(201);
    expect((await api('GET', `/api/v1/nodes/${enrolled.body.id}`, { token: owner.token })).body.ephemeral).toBe(true);

    const other = await createNode(server.baseUrl, owner.token, { name: 'other' });
    const newKey = wgKey();
    const rotated = await api('POST', `/api/v1/nodes/${enrolled.body.id}/key`, { token: enrolled.body.nodeToken, body: { publicKey: newKey } });
    expect(rotated.status).toBe(200);
    const before = await countEvents(server);
    const taken = await api('POST', `/api/v1/nodes/${other.id}/key`, { token: other.nodeToken, body: { publicKey: newKey } });
    expect(taken.status).toBe(409);
    expect(taken.body.message).toContain('publicKey');
    expect(await countEvents(server)).toBe(before);
    // The old key is free again: a new node may take it.
    expect((await api('POST', '/api/v1/nodes', { token: owner.token, body: { name: 'reuse', publicKey: enrolled.body.publicKey } })).status).toBe(201);
  });
});
