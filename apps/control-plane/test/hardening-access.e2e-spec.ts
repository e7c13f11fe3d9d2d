/**
 * Issue 10, access and information leaks: revoked or changed memberships, /metrics off the public API, adding a
 * member that does not tell which emails are registered, and a test clock that does not exist unless asked for.
 * Every refusal asserts its status, that it appended nothing, and that another tenant's concurrent requests succeed.
 */
import { createHmac } from 'node:crypto';
import Database from 'better-sqlite3';
import type { LoginResponse } from '@meshgate/contracts';
import { ConfigError, loadConfig } from '../src/config/app-config';
import {
  addMember, client, createNode, eventCount, eventsOfType, JWT_SECRET, login, PASSWORD, request, setupTenant, startServer,
  TenantSession, TestServer, uniqueEmail, wgKey,
} from './support/server';

jest.setTimeout(60_000);

/** A JWT signed with the test server's secret, carrying whatever claims a forger would like. */
function signJwt(claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ ...claims, iat: now, exp: now + 600 })}`;
  return `${unsigned}.${createHmac('sha256', JWT_SECRET).update(unsigned).digest('base64url')}`;
}

/** Events of one tenant (tenant_id), read-only. */
function tenantEvents(databasePath: string, tenantId: string): number {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM events WHERE tenant_id = ?').get(tenantId) as { n: number }).n;
  } finally {
    db.close();
  }
}

/**
 * Runs `work` while the neighbour tenant registers nodes concurrently; checks that every neighbour request succeeded
 * and that, besides the neighbour's events, exactly `ownEvents` were appended (none for refused requests).
 */
async function besideNeighbour<T>(server: TestServer, neighbour: TenantSession, work: () => Promise<T>, ownEvents = 0): Promise<T> {
  const before = eventCount(server.databasePath);
  const neighbourBefore = tenantEvents(server.databasePath, neighbour.tenantId);
  const api = client(server);
  const [result, ...writes] = await Promise.all([
    work(),
    ...Array.from({ length: 8 }, (_, i) =>
      api('POST', '/api/v1/nodes', { token: neighbour.token, body: { name: `beside-${Date.now()}-${i}`, publicKey: wgKey() } })),
  ]);
  expect(writes.map((w) => w.status)).toEqual(writes.map(() => 201));
  const neighbourAppended = tenantEvents(server.databasePath, neighbour.tenantId) - neighbourBefore;
  expect(neighbourAppended).toBeGreaterThanOrEqual(writes.length);
  expect(eventCount(server.databasePath) - before - neighbourAppended).toBe(ownEvents);
  return result;
}

describe('hardening: access and information leaks', () => {
  let server: TestServer;
  let api: ReturnType<typeof client>;
  let owner: TenantSession;
  let neighbour: TenantSession;

  beforeAll(async () => {
    server = await startServer();
    api = client(server);
    [owner, neighbour] = await Promise.all([setupTenant(server.baseUrl, 'access-co'), setupTenant(server.baseUrl, 'neighbour-co')]);
  });

  afterAll(async () => {
    await server.dispose();
  });

  describe('revocation: a tenant-scoped token holds only while its membership does, with its role', () => {
    it('refuses validly signed tokens whose tenant or role the directory does not hold (401, nothing appended)', async () => {
      const member = await addMember(server.baseUrl, owner, 'member');
      const memberId = JSON.parse(Buffer.from(member.split('.')[1], 'base64url').toString()).sub as string;
      const forged = [
        signJwt({ sub: memberId, tid: owner.tenantId, role: 'owner' }), // promoted by the forger
        signJwt({ sub: memberId, tid: owner.tenantId, role: 'superuser' }), // no such role
        signJwt({ sub: memberId, tid: neighbour.tenantId, role: 'member' }), // not a member there
        signJwt({ sub: owner.userId, tid: neighbour.tenantId, role: 'owner' }), // an owner elsewhere
        signJwt({ sub: memberId, tid: owner.tenantId }), // a tenant without a role
      ];
      const replies = await besideNeighbour(server, neighbour, () => Promise.all(forged.flatMap((token) => [
        api('POST', '/api/v1/nodes', { token, body: { name: `forged-${Math.random().toString(36).slice(2, 8)}`, publicKey: wgKey() } }),
        api('PUT', '/api/v1/policies', { token, body: { acls: [] } }),
        api('GET', '/api/v1/nodes', { token }),
      ])));
      expect(replies.map((r) => r.status)).toEqual(replies.map(() => 401));
      // The genuine token of the same user still works.
      expect((await api('GET', '/api/v1/nodes', { token: member })).status).toBe(200);
    });

    it('a removed member\u2019s token is refused at once; their role changed, the old token is refused too', async () => {
      const email = uniqueEmail('leaver');
      const registered = await api('POST', '/api/v1/auth/register', { body: { email, password: PASSWORD } });
      expect((await api('POST', '/api/v1/tenants/current/members', { token: owner.token, body: { email, role: 'member' } })).status).toBe(202);
      const token = await login(server.baseUrl, email, owner.tenantId);
      expect((await api('GET', '/api/v1/nodes', { token })).status).toBe(200);

      const removed = await api('DELETE', `/api/v1/tenants/current/members/${registered.body.id}`, { token: owner.token });
      expect(removed.status).toBe(204);
      expect(eventsOfType(server.databasePath, 'MemberRemoved').map((e) => JSON.parse(e.data)))
        .toContainEqual({ tenantId: owner.tenantId, userId: registered.body.id });
      const replies = await besideNeighbour(server, neighbour, () => Promise.all([
        api('GET', '/api/v1/nodes', { token }),
        api('POST', '/api/v1/nodes', { token, body: { name: 'after-removal', publicKey: wgKey() } }),
        api('POST', '/api/v1/enrollment-keys', { token, body: {} }),
      ]));
      expect(replies.map((r) => r.status)).toEqual([401, 401, 401]);
      expect(replies[0].body.message).toMatch(/log in again/);
      const members = await api('GET', '/api/v1/tenants/current/members', { token: owner.token });
      expect(members.body.map((m: { email: string }) => m.email)).not.toContain(email);
      // Logging in for the tenant is refused as well: there is no membership to scope to.
      expect((await api('POST', '/api/v1/auth/login', { body: { email, password: PASSWORD, tenantId: owner.tenantId } })).status).toBe(401);

      // Added back as an admin: the old member-role token still does not work, a fresh login does.
      expect((await api('POST', '/api/v1/tenants/current/members', { token: owner.token, body: { email, role: 'admin' } })).status).toBe(202);
      const stale = await besideNeighbour(server, neighbour, () => api('GET', '/api/v1/nodes', { token }));
      expect(stale.status).toBe(401);
      const fresh = await login(server.baseUrl, email, owner.tenantId);
      expect((await api('GET', '/api/v1/nodes', { token: fresh })).status).toBe(200);
    });

    it('refuses removals the roles do not allow, the last owner, unknown users and bad ids (nothing appended)', async () => {
      const admin = await addMember(server.baseUrl, owner, 'admin');
      const member = await addMember(server.baseUrl, owner, 'member');
      const foreign = neighbour.userId;
      const cases: [string, string, number][] = [
        [admin, `/api/v1/tenants/current/members/${owner.userId}`, 403], // an admin cannot remove an owner
        [member, `/api/v1/tenants/current/members/${owner.userId}`, 403], // a member removes no one
        [owner.token, `/api/v1/tenants/current/members/${owner.userId}`, 409], // the last owner
        [owner.token, `/api/v1/tenants/current/members/${foreign}`, 404], // another tenant's user
        [owner.token, '/api/v1/tenants/current/members/not-a-uuid', 400],
      ];
      const replies = await besideNeighbour(server, neighbour, () => Promise.all(cases.map(([token, path]) => api('DELETE', path, { token }))));
      expect(replies.map((r) => r.status)).toEqual(cases.map(([, , status]) => status));
      expect(replies[2].body.code).toBe('LAST_OWNER');
      expect((await api('GET', '/api/v1/nodes', { token: owner.token })).status).toBe(200);
    });
  });

  describe('/metrics is not on the public API', () => {
    it('answers 404 on the API port, whatever the credentials (nothing appended)', async () => {
      const node = await createNode(server.baseUrl, owner.token);
      const replies = await besideNeighbour(server, neighbour, () => Promise.all([
        api('GET', '/metrics'),
        api('GET', '/metrics', { token: owner.token }),
        api('GET', '/metrics', { token: node.nodeToken }),
        api('GET', '/metrics?format=prometheus'),
      ]));
      expect(replies.map((r) => r.status)).toEqual([404, 404, 404, 404]);
      for (const reply of replies) expect(reply.text).not.toMatch(/meshgate_events_appended_total/);
    });

    it('serves the metrics on its own listener, on loopback by default', async () => {
      expect(new URL(server.metricsUrl).hostname).toBe('127.0.0.1');
      expect(new URL(server.metricsUrl).port).not.toBe(new URL(server.baseUrl).port);
      const metrics = await request(server.metricsUrl, 'GET', '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(metrics.text).toMatch(/^meshgate_events_appended_total\{type="NodeRegistered"\} \d+/m);
      expect((await request(server.metricsUrl, 'GET', '/api/v1/nodes', { token: owner.token })).status).toBe(404);
      expect((await request(server.metricsUrl, 'POST', '/metrics')).status).toBe(404);
    });

    it('wants METRICS_TOKEN as a bearer token when one is set', async () => {
      const token = 'metrics-token-0123456789-abcdefghijklmnop';
      const guarded = await startServer({ METRICS_TOKEN: token });
      try {
        const scrape = (authorization?: string) =>
          request(guarded.metricsUrl, 'GET', '/metrics', { headers: authorization ? { authorization } : {} });
        const refused = await Promise.all([scrape(), scrape(`Bearer ${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}`), scrape(`Bearer ${token}x`), scrape(`Basic ${token}`)]);
        expect(refused.map((r) => r.status)).toEqual([401, 401, 401, 401]);
        for (const reply of refused) expect(reply.text).toBe('');
        const ok = await scrape(`Bearer ${token}`);
        expect(ok.status).toBe(200);
        expect(ok.text).toMatch(/^meshgate_heartbeats_total/m);
        expect((await request(guarded.baseUrl, 'GET', '/metrics', { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
      } finally {
        await guarded.dispose();
      }
    });

    it('refuses a short METRICS_TOKEN or a malformed METRICS_HOST at boot, naming the variable', () => {
      const env = { DATABASE_PATH: `${server.dir}/config-check.sqlite`, JWT_SECRET };
      expect(() => loadConfig({ ...env, METRICS_TOKEN: 'short' })).toThrow(ConfigError);
      expect(() => loadConfig({ ...env, METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
      expect(() => loadConfig({ ...env, METRICS_HOST: 'not a host' })).toThrow(/METRICS_HOST/);
      expect(() => loadConfig({ ...env, METRICS_PORT: '70000' })).toThrow(/METRICS_PORT/);
    });
  });

  describe('adding a member does not tell which emails are registered', () => {
    it('answers the same for a registered and an unregistered email; the invited email joins on registering', async () => {
      const known = uniqueEmail('known');
      const unknown = uniqueEmail('unknown');
      expect((await api('POST', '/api/v1/auth/register', { body: { email: known, password: PASSWORD } })).status).toBe(201);

      const [forKnown, forUnknown] = await besideNeighbour(server, neighbour, () => Promise.all([
        api('POST', '/api/v1/tenants/current/members', { token: owner.token, body: { email: known, role: 'auditor' } }),
        api('POST', '/api/v1/tenants/current/members', { token: owner.token, body: { email: unknown, role: 'auditor' } }),
      ]), 2);
      const shape = (reply: typeof forKnown, email: string) => ({
        status: reply.status, body: { ...reply.body, email: reply.body.email === email ? 'EMAIL' : reply.body.email },
        contentType: reply.headers.get('content-type'),
      });
      expect(shape(forKnown, known)).toEqual(shape(forUnknown, unknown));
      expect(forKnown.status).toBe(202);
      expect(forKnown.body).toEqual({ email: known, role: 'auditor' });

      // The log holds the difference, the answer did not: a membership and an invitation.
      expect(eventsOfType(server.databasePath, 'MemberInvited').map((e) => JSON.parse(e.data)))
        .toContainEqual({ tenantId: owner.tenantId, email: unknown, role: 'auditor' });
      expect(eventsOfType(server.databasePath, 'MemberAdded').map((e) => JSON.parse(e.data).tenantId === owner.tenantId && JSON.parse(e.data).role))
        .toContain('auditor');

      // Again, both: the same refusal, and nothing appended.
      const again = await besideNeighbour(server, neighbour, () => Promise.all([known, unknown].map((email) =>
        api('POST', '/api/v1/tenants/current/members', { token: owner.token, body: { email, role: 'member' } }))));
      expect(again.map((r) => r.status)).toEqual([409, 409]);
      expect(again[0].body).toEqual(again[1].body);

      // The invited email registers: the same append makes it a member, with the invited role.
      const before = eventCount(server.databasePath);
      const registered = await api('POST', '/api/v1/auth/register', { body: { email: unknown.toUpperCase(), password: PASSWORD } });
      expect(registered.status).toBe(201);
      expect(eventCount(server.databasePath) - before).toBe(2);
      const accepted = eventsOfType(server.databasePath, 'InvitationAccepted');
      expect(JSON.parse(accepted[accepted.length - 1].data)).toEqual({ tenantId: owner.tenantId, email: unknown, userId: registered.body.id, role: 'auditor' });
      expect(accepted[accepted.length - 1].stream_id).toBe(`tenant-${owner.tenantId}`);
      const loggedIn = await api<LoginResponse>('POST', '/api/v1/auth/login', { body: { email: unknown, password: PASSWORD } });
      expect(loggedIn.body.tenants).toEqual([{ id: owner.tenantId, name: owner.tenantName, role: 'auditor' }]);
      const token = await login(server.baseUrl, unknown, owner.tenantId);
      expect((await api('GET', '/api/v1/audit?type=InvitationAccepted', { token })).status).toBe(200);
      const audit = await api('GET', '/api/v1/audit?type=InvitationAccepted', { token: owner.token });
      expect(audit.body.items.map((i: { details: { email: string } }) => i.details.email)).toContain(unknown);
      const members = await api('GET', '/api/v1/tenants/current/members', { token: owner.token });
      expect(members.body).toContainEqual({ userId: registered.body.id, email: unknown, role: 'auditor' });
    });

    it('keeps an admin from inviting owners, as for registered users (403, nothing appended)', async () => {
      const admin = await addMember(server.baseUrl, owner, 'admin');
      const replies = await besideNeighbour(server, neighbour, () => Promise.all([
        api('POST', '/api/v1/tenants/current/members', { token: admin, body: { email: uniqueEmail('nobody'), role: 'owner' } }),
        api('POST', '/api/v1/tenants/current/members', { token: admin, body: { email: owner.email, role: 'owner' } }),
      ]));
      expect(replies.map((r) => r.status)).toEqual([403, 403]);
      expect(replies[0].body).toEqual(replies[1].body);
    });
  });

  describe('the test clock does not exist unless SCHEDULER_CLOCK=manual', () => {
    it('answers 404 to every method, body and credential (nothing appended)', async () => {
      const path = '/api/v1/test-clock';
      const attempts: [string, Record<string, unknown>][] = [
        ['PUT', {}],
        ['PUT', { body: { now: '2030-01-01T00:00:00Z' } }],
        ['PUT', { body: { now: 'not a date' }, token: owner.token }],
        ['PUT', { body: { now: '2030-01-01T00:00:00Z' }, token: owner.token }],
        ['PUT', { body: { now: '2030-01-01T00:00:00Z' }, token: owner.userToken }],
        ['PUT', { raw: '{"now": ', token: owner.token }],
        ['PUT', { raw: '<now/>', headers: { 'content-type': 'application/xml' } }],
        ['PUT', { body: { now: '2030-01-01T00:00:00Z', padding: 'x'.repeat(3 * 1024 * 1024) } }],
        ['PUT', { body: { now: '2030-01-01T00:00:00Z' }, token: 'garbage' }],
        ['GET', { token: owner.token }],
        ['POST', { body: { now: '2030-01-01T00:00:00Z' }, token: owner.token }],
        ['DELETE', {}],
      ];
      const replies = await besideNeighbour(server, neighbour, () => Promise.all(attempts.map(([method, options]) => api(method, path, options))));
      expect(replies.map((r) => r.status)).toEqual(attempts.map(() => 404));
      // The same 404 as any route that does not exist.
      const unknown = await api('PUT', '/api/v1/no-such-route', { body: { now: '2030-01-01T00:00:00Z' } });
      for (const reply of replies) expect(reply.body).toEqual({ ...unknown.body, message: expect.stringContaining('/api/v1/test-clock') });
    });

    it('exists with the manual clock', async () => {
      const manual = await startServer({ SCHEDULER_CLOCK: 'manual' });
      try {
        const session = await setupTenant(manual.baseUrl, 'manual-clock');
        const reply = await request(manual.baseUrl, 'PUT', '/api/v1/test-clock', { token: session.token, body: { now: '2030-01-01T00:00:00Z' } });
        expect(reply.status).toBe(200);
        expect(reply.body).toEqual({ now: '2030-01-01T00:00:00.000Z' });
      } finally {
        await manual.dispose();
      }
    });
  });
});
