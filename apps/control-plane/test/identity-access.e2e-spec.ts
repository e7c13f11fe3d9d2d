/**
 * Issue 12, automation and membership: API keys (shown once, stored hashed, tenant- and role-scoped, expiring,
 * revocable), changing a member's role (effective on their next request), login by tenant name, and registration
 * by invitation. Every refusal asserts its status, the field or rule it names, and that nothing was appended.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../src/config/app-config';
import {
  addMember, client, eventCount, eventsOfType, login, PASSWORD, setupTenant, startServer, TenantSession, TestServer, uniqueEmail, wgKey,
} from './support/server';

jest.setTimeout(60_000);

const subOf = (token: string): string => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sub;
const DAY_MS = 86_400_000;

/** Runs `work` and checks that it appended nothing to the log. */
async function appendsNothing<T>(server: TestServer, work: () => Promise<T>): Promise<T> {
  const before = eventCount(server.databasePath);
  const result = await work();
  expect(eventCount(server.databasePath)).toBe(before);
  return result;
}

describe('identity and access: automation and membership', () => {
  let server: TestServer;
  let api: ReturnType<typeof client>;
  let owner: TenantSession;
  let neighbour: TenantSession;

  beforeAll(async () => {
    // A manual clock: API key expiry is tested by moving it (PUT /api/v1/test-clock) instead of waiting days.
    server = await startServer({ SCHEDULER_CLOCK: 'manual' });
    api = client(server);
    [owner, neighbour] = await Promise.all([setupTenant(server.baseUrl, 'keys-co'), setupTenant(server.baseUrl, 'neighbour-co')]);
  });

  afterAll(async () => {
    await server.dispose();
  });

  describe('API keys', () => {
    it('shows the key once, stores only its hash, lists it without its secret, and lets it act with its role', async () => {
      const created = await api('POST', '/api/v1/api-keys', { token: owner.token, body: { description: 'ci deploys', role: 'admin' } });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/), key: expect.stringMatching(/^mga\.[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/),
        description: 'ci deploys', role: 'admin', expiresAt: expect.any(String),
      });
      const key: string = created.body.key;
      // Without expiresInDays a key lasts 90 days.
      const lifetime = new Date(created.body.expiresAt).getTime() - Date.now();
      expect(lifetime).toBeGreaterThan(89 * DAY_MS);
      expect(lifetime).toBeLessThanOrEqual(90 * DAY_MS);

      const [event] = eventsOfType(server.databasePath, 'ApiKeyCreated').filter((e) => JSON.parse(e.data).keyId === created.body.id);
      expect(event.stream_id).toBe(`api-key-${created.body.id}`);
      const data = JSON.parse(event.data);
      expect(data).toEqual({
        keyId: created.body.id, tenantId: owner.tenantId, description: 'ci deploys', role: 'admin', createdBy: owner.userId,
        expiresAt: created.body.expiresAt, secretHash: createHash('sha256').update(key.split('.')[2]).digest('hex'),
      });
      expect(event.data).not.toContain(key.split('.')[2]);

      const listed = await api('GET', '/api/v1/api-keys', { token: owner.token });
      expect(listed.status).toBe(200);
      const entry = listed.body.find((k: { id: string }) => k.id === created.body.id);
      expect(entry).toEqual({
        id: created.body.id, description: 'ci deploys', role: 'admin', createdBy: owner.userId, createdAt: expect.any(String),
        expiresAt: created.body.expiresAt, revoked: false,
      });
      expect(listed.text).not.toContain(key.split('.')[2]);
      expect(listed.text).not.toContain(data.secretHash);
      // The audit log shows the creation, without the hash.
      const audit = await api('GET', '/api/v1/audit', { token: owner.token });
      expect(audit.text).toContain('ApiKeyCreated');
      expect(audit.text).not.toContain(data.secretHash);

      // Used as a bearer token: the tenant's resources, with the key's role (an admin may create enrollment keys).
      const node = await api('POST', '/api/v1/nodes', { token: key, body: { name: 'by-api-key', publicKey: wgKey() } });
      expect(node.status).toBe(201);
      expect((await api('POST', '/api/v1/enrollment-keys', { token: key, body: {} })).status).toBe(201);
      const nodes = await api('GET', '/api/v1/nodes', { token: key });
      expect(nodes.body.map((n: { name: string }) => n.name)).toContain('by-api-key');
      // Its events name the key's creator as the actor.
      const [registered] = eventsOfType(server.databasePath, 'NodeRegistered').filter((e) => JSON.parse(e.data).nodeId === node.body.id);
      expect(JSON.parse(registered.metadata).actor).toEqual({ kind: 'user', id: owner.userId });
      // Another tenant's resources stay unknown to it.
      const foreign = await api('GET', '/api/v1/nodes', { token: neighbour.token });
      expect(foreign.status).toBe(200);
    });

    it('acts within its role only, and not on endpoints for users (tenants, memberships)', async () => {
      const auditorKey = (await api('POST', '/api/v1/api-keys', { token: owner.token, body: { description: 'reader', role: 'auditor' } })).body.key;
      expect((await api('GET', '/api/v1/nodes', { token: auditorKey })).status).toBe(200);
      const refused = await appendsNothing(server, () => Promise.all([
        api('POST', '/api/v1/nodes', { token: auditorKey, body: { name: 'auditor-node', publicKey: wgKey() } }),
        api('POST', '/api/v1/api-keys', { token: auditorKey, body: { description: 'escalate', role: 'auditor' } }),
        api('POST', '/api/v1/auth/tenants', { token: auditorKey, body: { name: 'via-key' } }),
        api('GET', '/api/v1/auth/tenants', { token: auditorKey }),
      ]));
      expect(refused.map((r) => r.status)).toEqual([403, 403, 403, 403]);
      expect(refused[0].body.message).toMatch(/auditor/);
      expect(refused[2].body.message).toMatch(/API key/);
    });

    it('refuses a role above the creator\u2019s, members and auditors, and bad input (4xx naming the field, nothing appended)', async () => {
      const admin = await addMember(server.baseUrl, owner, 'admin');
      const member = await addMember(server.baseUrl, owner, 'member');
      const cases: [string, unknown, number, RegExp][] = [
        [admin, { description: 'escalate', role: 'owner' }, 403, /admin cannot create an API key with the owner role/],
        [member, { description: 'x', role: 'member' }, 403, /member role cannot/],
        [owner.token, { role: 'admin' }, 400, /description/],
        [owner.token, { description: '', role: 'admin' }, 400, /description/],
        [owner.token, { description: 'x'.repeat(101), role: 'admin' }, 400, /description/],
        [owner.token, { description: 'x' }, 400, /role/],
        [owner.token, { description: 'x', role: 'superuser' }, 400, /role/],
        [owner.token, { description: 'x', role: 'admin', expiresInDays: 0 }, 400, /expiresInDays/],
        [owner.token, { description: 'x', role: 'admin', expiresInDays: 366 }, 400, /expiresInDays/],
        [owner.token, { description: 'x', role: 'admin', expiresInDays: 1.5 }, 400, /expiresInDays/],
        [owner.token, { description: 'x', role: 'admin', expiresInDays: null }, 400, /expiresInDays/],
        [owner.token, { description: 'x', role: 'admin', secret: 'mine' }, 400, /secret/],
      ];
      const replies = await appendsNothing(server, () => Promise.all(cases.map(([token, body]) => api('POST', '/api/v1/api-keys', { token, body }))));
      expect(replies.map((r) => r.status)).toEqual(cases.map(([, , status]) => status));
      replies.forEach((r, i) => expect(JSON.stringify(r.body.message)).toMatch(cases[i][3]));
      expect(replies[0].body.code).toBe('ROLE_NOT_GRANTABLE');
      // An admin may create admin keys and below.
      expect((await api('POST', '/api/v1/api-keys', { token: admin, body: { description: 'ok', role: 'admin', expiresInDays: 365 } })).status).toBe(201);
    });

    it('is revoked once; another tenant\u2019s or an unknown key is a 404, an owner key not an admin\u2019s to revoke', async () => {
      const created = (await api('POST', '/api/v1/api-keys', { token: owner.token, body: { description: 'short-lived', role: 'member' } })).body;
      const ownerKey = (await api('POST', '/api/v1/api-keys', { token: owner.token, body: { description: 'owner', role: 'owner' } })).body;
      const foreignKey = (await api('POST', '/api/v1/api-keys', { token: neighbour.token, body: { description: 'theirs', role: 'member' } })).body;
      const admin = await addMember(server.baseUrl, owner, 'admin');
      const refused = await appendsNothing(server, () => Promise.all([
        api('DELETE', `/api/v1/api-keys/${foreignKey.id}`, { token: owner.token }),
        api('DELETE', '/api/v1/api-keys/00000000-0000-4000-8000-000000000000', { token: owner.token }),
        api('DELETE', '/api/v1/api-keys/not-a-uuid', { token: owner.token }),
        api('DELETE', `/api/v1/api-keys/${ownerKey.id}`, { token: admin }),
        api('DELETE', `/api/v1/api-keys/${created.id}`, { token: created.key }), // a member key cannot manage keys
      ]));
      expect(refused.map((r) => r.status)).toEqual([404, 404, 400, 403, 403]);
      expect(refused[0].body).toEqual(refused[1].body);
      expect(refused[0].body.code).toBe('API_KEY_NOT_FOUND');
      expect(refused[3].body.message).toMatch(/admin cannot revoke an API key with the owner role/);
      // The neighbour's key still works.
      expect((await api('GET', '/api/v1/nodes', { token: foreignKey.key })).status).toBe(200);

      expect((await api('GET', '/api/v1/nodes', { token: created.key })).status).toBe(200);
      expect((await api('DELETE', `/api/v1/api-keys/${created.id}`, { token: owner.token })).status).toBe(204);
      expect(eventsOfType(server.databasePath, 'ApiKeyRevoked').map((e) => JSON.parse(e.data)))
        .toContainEqual({ keyId: created.id, tenantId: owner.tenantId });
      const after = await api('GET', '/api/v1/nodes', { token: created.key });
      expect(after.status).toBe(401);
      // Revoking again changes nothing.
      await appendsNothing(server, async () => expect((await api('DELETE', `/api/v1/api-keys/${created.id}`, { token: owner.token })).status).toBe(204));
      const listed = (await api('GET', '/api/v1/api-keys', { token: owner.token })).body;
      expect(listed.find((k: { id: string }) => k.id === created.id).revoked).toBe(true);
      expect(listed.map((k: { id: string }) => k.id)).not.toContain(foreignKey.id);
    });

    it('refuses forged, tampered and expired keys (401, nothing appended)', async () => {
      const created = (await api('POST', '/api/v1/api-keys', { token: owner.token, body: { description: 'one day', role: 'admin', expiresInDays: 1 } })).body;
      const [prefix, id, secret] = (created.key as string).split('.');
      const tampered = [
        `${prefix}.${id}.${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`,
        `${prefix}.00000000-0000-4000-8000-000000000000.${secret}`,
        `mgk.${id}.${secret}`,
        `${prefix}.${id}`,
      ];
      const replies = await appendsNothing(server, () => Promise.all(tampered.map((token) =>
        api('POST', '/api/v1/nodes', { token, body: { name: 'tampered', publicKey: wgKey() } }))));
      expect(replies.map((r) => r.status)).toEqual(tampered.map(() => 401));

      expect((await api('GET', '/api/v1/nodes', { token: created.key })).status).toBe(200);
      const moved = await api('PUT', '/api/v1/test-clock', { token: owner.token, body: { now: new Date(Date.now() + 2 * DAY_MS).toISOString() } });
      expect(moved.status).toBe(200);
      try {
        const expired = await appendsNothing(server, () => api('POST', '/api/v1/nodes', { token: created.key, body: { name: 'late', publicKey: wgKey() } }));
        expect(expired.status).toBe(401);
      } finally {
        await api('PUT', '/api/v1/test-clock', { token: owner.token, body: { now: new Date().toISOString() } });
      }
      expect((await api('GET', '/api/v1/nodes', { token: created.key })).status).toBe(200);
    });

    it('stops when its creator leaves the tenant or no longer holds a role that grants it', async () => {
      const email = uniqueEmail('keymaker');
      const registered = await api('POST', '/api/v1/auth/register', { body: { email, password: PASSWORD } });
      expect((await api('POST', '/api/v1/tenants/current/members', { token: owner.token, body: { email, role: 'owner' } })).status).toBe(202);
      const token = await login(server.baseUrl, email, owner.tenantId);
      const ownerKey = (await api('POST', '/api/v1/api-keys', { token, body: { description: 'owner key', role: 'owner' } })).body.key;
      const adminKey = (await api('POST', '/api/v1/api-keys', { token, body: { description: 'admin key', role: 'admin' } })).body.key;
      expect((await api('GET', '/api/v1/api-keys', { token: ownerKey })).status).toBe(200);

      // Demoted to admin: the owner key stops, the admin key goes on.
      const demoted = await api('PATCH', `/api/v1/tenants/current/members/${registered.body.id}`, { token: owner.token, body: { role: 'admin' } });
      expect(demoted.status).toBe(200);
      const stopped = await api('GET', '/api/v1/api-keys', { token: ownerKey });
      expect(stopped.status).toBe(401);
      expect(stopped.body.message).toMatch(/creator/);
      expect((await api('GET', '/api/v1/api-keys', { token: adminKey })).status).toBe(200);

      // Removed: every key of theirs stops.
      expect((await api('DELETE', `/api/v1/tenants/current/members/${registered.body.id}`, { token: owner.token })).status).toBe(204);
      expect((await api('GET', '/api/v1/nodes', { token: adminKey })).status).toBe(401);
    });
  });

  describe('changing a member\u2019s role', () => {
    it('takes effect on the member\u2019s next request: the old token is refused, a fresh login has the new role', async () => {
      const email = uniqueEmail('climber');
      const registered = await api('POST', '/api/v1/auth/register', { body: { email, password: PASSWORD } });
      expect((await api('POST', '/api/v1/tenants/current/members', { token: owner.token, body: { email, role: 'member' } })).status).toBe(202);
      const memberToken = await login(server.baseUrl, email, owner.tenantId);
      expect((await api('POST', '/api/v1/enrollment-keys', { token: memberToken, body: {} })).status).toBe(403);

      const promoted = await api('PATCH', `/api/v1/tenants/current/members/${registered.body.id}`, { token: owner.token, body: { role: 'admin' } });
      expect(promoted.status).toBe(200);
      expect(promoted.body).toEqual({ userId: registered.body.id, email, role: 'admin' });
      expect(eventsOfType(server.databasePath, 'MemberRoleChanged').map((e) => JSON.parse(e.data)))
        .toContainEqual({ tenantId: owner.tenantId, userId: registered.body.id, role: 'admin', previousRole: 'member' });
      const stale = await api('GET', '/api/v1/nodes', { token: memberToken });
      expect(stale.status).toBe(401);
      expect(stale.body.message).toMatch(/log in again/);
      const adminToken = await login(server.baseUrl, email, owner.tenantId);
      expect((await api('POST', '/api/v1/enrollment-keys', { token: adminToken, body: {} })).status).toBe(201);
      const members = await api('GET', '/api/v1/tenants/current/members', { token: owner.token });
      expect(members.body).toContainEqual({ userId: registered.body.id, email, role: 'admin' });

      // Demoted: the admin token is refused at once, before its expiry.
      expect((await api('PATCH', `/api/v1/tenants/current/members/${registered.body.id}`, { token: owner.token, body: { role: 'auditor' } })).status).toBe(200);
      expect((await api('POST', '/api/v1/enrollment-keys', { token: adminToken, body: {} })).status).toBe(401);
      const auditorToken = await login(server.baseUrl, email, owner.tenantId);
      expect((await api('GET', '/api/v1/nodes', { token: auditorToken })).status).toBe(200);
      expect((await api('POST', '/api/v1/nodes', { token: auditorToken, body: { name: 'nope', publicKey: wgKey() } })).status).toBe(403);
    });

    it('keeps the owner role for owners to give, never demotes the last owner, and refuses bad input (nothing appended)', async () => {
      const session = await setupTenant(server.baseUrl, 'roles-co');
      const adminToken = await addMember(server.baseUrl, session, 'admin');
      const memberToken = await addMember(server.baseUrl, session, 'member');
      const adminId = subOf(adminToken);
      const memberId = subOf(memberToken);
      const path = (userId: string) => `/api/v1/tenants/current/members/${userId}`;
      const cases: [string, string, unknown, number, RegExp][] = [
        [adminToken, path(memberId), { role: 'owner' }, 403, /admin cannot grant the owner role/],
        [adminToken, path(session.userId), { role: 'member' }, 403, /admin cannot change the role of a member with the owner role/],
        [memberToken, path(adminId), { role: 'member' }, 403, /member role cannot/],
        [session.token, path(session.userId), { role: 'admin' }, 409, /last owner/],
        [session.token, path(neighbour.userId), { role: 'admin' }, 404, /member not found/], // another tenant's user
        [session.token, path('00000000-0000-4000-8000-000000000000'), { role: 'admin' }, 404, /member not found/],
        [session.token, path('not-a-uuid'), { role: 'admin' }, 400, /uuid/],
        [session.token, path(memberId), { role: 'root' }, 400, /role/],
        [session.token, path(memberId), {}, 400, /role/],
        [session.token, path(memberId), { role: 'admin', email: 'x@example.com' }, 400, /email/],
      ];
      const replies = await appendsNothing(server, () => Promise.all(cases.map(([token, p, body]) => api('PATCH', p, { token, body }))));
      expect(replies.map((r) => r.status)).toEqual(cases.map(([, , , status]) => status));
      replies.forEach((r, i) => expect(JSON.stringify(r.body.message)).toMatch(cases[i][4]));
      expect(replies[3].body.code).toBe('LAST_OWNER');
      expect(replies[0].body.code).toBe('ROLE_NOT_GRANTABLE');
      // The tokens of everyone refused still work: nothing changed.
      expect((await api('GET', '/api/v1/nodes', { token: memberToken })).status).toBe(200);
      // The role already held: 200, nothing appended.
      const same = await appendsNothing(server, () => api('PATCH', path(memberId), { token: session.token, body: { role: 'member' } }));
      expect(same.status).toBe(200);

      // With a second owner, the first may step down.
      expect((await api('PATCH', path(adminId), { token: session.token, body: { role: 'owner' } })).status).toBe(200);
      expect((await api('PATCH', path(session.userId), { token: session.token, body: { role: 'admin' } })).status).toBe(200);
      expect((await api('GET', '/api/v1/nodes', { token: session.token })).status).toBe(401);
    });
  });

  describe('login by tenant name', () => {
    it('scopes the token to the tenant named; a name shared by two of the user\u2019s tenants asks for the id', async () => {
      const session = await setupTenant(server.baseUrl, 'named-co');
      const byName = await api('POST', '/api/v1/auth/login', { body: { email: session.email, password: PASSWORD, tenant: 'named-co' } });
      expect(byName.status).toBe(200);
      const claims = JSON.parse(Buffer.from(byName.body.accessToken.split('.')[1], 'base64url').toString());
      expect(claims).toMatchObject({ sub: session.userId, tid: session.tenantId, role: 'owner' });
      expect((await api('GET', '/api/v1/nodes', { token: byName.body.accessToken })).status).toBe(200);

      // Another user's tenant of the same name does not matter: names are matched among the user's own tenants.
      expect((await api('POST', '/api/v1/auth/tenants', { token: owner.userToken, body: { name: 'named-co' } })).status).toBe(201);
      expect((await api('POST', '/api/v1/auth/login', { body: { email: session.email, password: PASSWORD, tenant: 'named-co' } })).status).toBe(200);

      const second = await api('POST', '/api/v1/auth/tenants', { token: session.userToken, body: { name: 'named-co' } });
      const shared = await appendsNothing(server, () => api('POST', '/api/v1/auth/login', { body: { email: session.email, password: PASSWORD, tenant: 'named-co' } }));
      expect(shared.status).toBe(409);
      expect(shared.body.message).toMatch(/tenantId/);
      expect(shared.body.message).toContain(second.body.id);
      expect(shared.body.message).toContain(session.tenantId);
      expect((await api('POST', '/api/v1/auth/login', { body: { email: session.email, password: PASSWORD, tenantId: second.body.id } })).status).toBe(200);
    });

    it('answers an unknown name as a wrong password, and refuses bad input', async () => {
      const wrongPassword = await api('POST', '/api/v1/auth/login', { body: { email: owner.email, password: 'wrong password!', tenant: 'keys-co' } });
      const replies = await appendsNothing(server, () => Promise.all([
        api('POST', '/api/v1/auth/login', { body: { email: owner.email, password: PASSWORD, tenant: 'no-such-co' } }),
        api('POST', '/api/v1/auth/login', { body: { email: owner.email, password: PASSWORD, tenant: 'neighbour-co' } }), // not theirs
        api('POST', '/api/v1/auth/login', { body: { email: owner.email, password: PASSWORD, tenant: 'keys-co', tenantId: owner.tenantId } }),
        api('POST', '/api/v1/auth/login', { body: { email: owner.email, password: PASSWORD, tenant: '' } }),
        api('POST', '/api/v1/auth/login', { body: { email: owner.email, password: PASSWORD, tenant: 7 } }),
      ]));
      expect(replies.map((r) => r.status)).toEqual([401, 401, 400, 400, 400]);
      expect(replies[0].body).toEqual(wrongPassword.body);
      expect(replies[1].body).toEqual(wrongPassword.body);
      expect(JSON.stringify(replies[2].body.message)).toMatch(/tenant.*tenantId/);
      expect(JSON.stringify(replies[3].body.message)).toMatch(/tenant/);
      expect(JSON.stringify(replies[4].body.message)).toMatch(/tenant/);
    });
  });
});

describe('identity and access on PostgreSQL', () => {
  it('creates, uses and revokes API keys, changes roles and logs in by tenant name, restart included', async () => {
    const server = await startServer({}, { store: 'postgres' });
    try {
      const api = client(server);
      const owner = await setupTenant(server.baseUrl, 'pg-co');
      const memberToken = await addMember(server.baseUrl, owner, 'member');
      const created = await api('POST', '/api/v1/api-keys', { token: owner.token, body: { description: 'pg', role: 'admin' } });
      expect(created.status).toBe(201);
      expect((await api('POST', '/api/v1/nodes', { token: created.body.key, body: { name: 'pg-node', publicKey: wgKey() } })).status).toBe(201);
      const changed = await api('PATCH', `/api/v1/tenants/current/members/${subOf(memberToken)}`, { token: owner.token, body: { role: 'auditor' } });
      expect(changed.status).toBe(200);
      expect((await api('GET', '/api/v1/nodes', { token: memberToken })).status).toBe(401);

      // After a restart (views from the log, api_keys from its table) the same answers.
      await server.restart();
      expect((await api('GET', '/api/v1/nodes', { token: created.body.key })).status).toBe(200);
      expect((await api('GET', '/api/v1/nodes', { token: memberToken })).status).toBe(401);
      const members = await api('GET', '/api/v1/tenants/current/members', { token: owner.token });
      expect(members.body.find((m: { userId: string }) => m.userId === subOf(memberToken)).role).toBe('auditor');
      const byName = await api('POST', '/api/v1/auth/login', { body: { email: owner.email, password: PASSWORD, tenant: 'pg-co' } });
      expect(byName.status).toBe(200);

      expect((await api('DELETE', `/api/v1/api-keys/${created.body.id}`, { token: byName.body.accessToken })).status).toBe(204);
      expect((await api('GET', '/api/v1/nodes', { token: created.body.key })).status).toBe(401);
      const listed = await api('GET', '/api/v1/api-keys', { token: owner.token });
      expect(listed.body).toEqual([expect.objectContaining({ id: created.body.id, revoked: true })]);
    } finally {
      await server.dispose();
    }
  });
});

describe('identity and access: registration', () => {
  it('is by invitation by default: the first user, then only invited emails, each invitation accepted once', async () => {
    const server = await startServer({ REGISTRATION: '' }); // unset: the default
    try {
      const api = client(server);
      const first = uniqueEmail('first');
      expect((await api('POST', '/api/v1/auth/register', { body: { email: first, password: PASSWORD } })).status).toBe(201);
      const userToken = await login(server.baseUrl, first);
      const tenant = (await api('POST', '/api/v1/auth/tenants', { token: userToken, body: { name: 'invite-co' } })).body;
      const token = await login(server.baseUrl, first, tenant.id);

      const stranger = uniqueEmail('stranger');
      const refused = await appendsNothing(server, () => api('POST', '/api/v1/auth/register', { body: { email: stranger, password: PASSWORD } }));
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('REGISTRATION_BY_INVITATION');
      expect(refused.body.message).toMatch(/invitation/);

      const invited = uniqueEmail('invited');
      expect((await api('POST', '/api/v1/tenants/current/members', { token, body: { email: invited, role: 'member' } })).status).toBe(202);
      const registered = await api('POST', '/api/v1/auth/register', { body: { email: invited.toUpperCase(), password: PASSWORD } });
      expect(registered.status).toBe(201);
      const accepted = eventsOfType(server.databasePath, 'InvitationAccepted').map((e) => JSON.parse(e.data));
      expect(accepted).toEqual([{ tenantId: tenant.id, email: invited, userId: registered.body.id, role: 'member' }]);
      expect((await api('POST', '/api/v1/auth/login', { body: { email: invited, password: PASSWORD, tenant: 'invite-co' } })).status).toBe(200);

      // Accepted once: the same email cannot register again, and the invitation is gone.
      const again = await appendsNothing(server, () => api('POST', '/api/v1/auth/register', { body: { email: invited, password: PASSWORD } }));
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('EMAIL_TAKEN');
      // Bad input is still a 400 naming the field.
      const bad = await appendsNothing(server, () => api('POST', '/api/v1/auth/register', { body: { email: 'not-an-email', password: PASSWORD } }));
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.body.message)).toMatch(/email/);
    } finally {
      await server.dispose();
    }
  });

  it('is open to anyone with REGISTRATION=open', async () => {
    const server = await startServer({ REGISTRATION: 'open' });
    try {
      const api = client(server);
      for (const prefix of ['one', 'two', 'three']) {
        expect((await api('POST', '/api/v1/auth/register', { body: { email: uniqueEmail(prefix), password: PASSWORD } })).status).toBe(201);
      }
    } finally {
      await server.dispose();
    }
  });

  it('fails fast naming REGISTRATION when it is neither open nor invite', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshgate-config-'));
    try {
      const env = { DATABASE_PATH: join(dir, 'meshgate.sqlite'), JWT_SECRET: 'x'.repeat(40) };
      expect(() => loadConfig({ ...env, REGISTRATION: 'closed' })).toThrow(ConfigError);
      expect(() => loadConfig({ ...env, REGISTRATION: 'closed' })).toThrow(/REGISTRATION must be open\|invite/);
      expect(loadConfig(env).registration).toBe('invite');
      expect(loadConfig({ ...env, REGISTRATION: 'open' }).registration).toBe('open');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
