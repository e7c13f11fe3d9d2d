import Database from 'better-sqlite3';
import type { RegisteredNode } from '@meshgate/contracts';
import { MAX_BODY_DEPTH } from '../src/common/body-guard';
import {
  client, createNode, eventCount, PASSWORD, putPolicy, Reply, RequestOptions, setupTenant, startServer, tagOwners, TenantSession, TestServer,
  uniqueEmail, wgKey,
} from './support/server';

jest.setTimeout(60_000);

/**
 * Issue 10, input validation: inputs that passed validation or broke it (500) are refused with a 400 naming the
 * field, append nothing, and leave another tenant's requests fired at the same moment unaffected.
 */
describe('hardening: bad input is refused at the edge', () => {
  let server: TestServer;
  let api: ReturnType<typeof client>;
  let attacker: TenantSession;
  let attackerNode: RegisteredNode;
  let neighbour: TenantSession;
  let neighbourNodes: RegisteredNode[];
  let counter = 0;

  /** Every route that takes a body, with a body it accepts. */
  interface Route { label: string; method: string; path: () => string; token: () => string | undefined; valid: () => Record<string, unknown> }
  const routes: Route[] = [
    { label: 'register', method: 'POST', path: () => '/api/v1/auth/register', token: () => undefined, valid: () => ({ email: uniqueEmail('r'), password: PASSWORD }) },
    { label: 'login', method: 'POST', path: () => '/api/v1/auth/login', token: () => undefined, valid: () => ({ email: attacker.email, password: PASSWORD }) },
    { label: 'create tenant', method: 'POST', path: () => '/api/v1/auth/tenants', token: () => attacker.userToken, valid: () => ({ name: 'acme' }) },
    { label: 'add member', method: 'POST', path: () => '/api/v1/tenants/current/members', token: () => attacker.token, valid: () => ({ email: uniqueEmail('m'), role: 'member' }) },
    { label: 'register node', method: 'POST', path: () => '/api/v1/nodes', token: () => attacker.token, valid: () => ({ name: `n-${++counter}`, publicKey: wgKey() }) },
    { label: 'approve routes', method: 'PUT', path: () => `/api/v1/nodes/${attackerNode.id}/routes`, token: () => attacker.token, valid: () => ({ approved: [] }) },
    { label: 'heartbeat', method: 'POST', path: () => `/api/v1/nodes/${attackerNode.id}/heartbeat`, token: () => attackerNode.nodeToken, valid: () => ({ rxBytes: 1 }) },
    { label: 'enrollment key', method: 'POST', path: () => '/api/v1/enrollment-keys', token: () => attacker.token, valid: () => ({ reusable: true }) },
    { label: 'put policy', method: 'PUT', path: () => '/api/v1/policies', token: () => attacker.token, valid: () => ({ acls: [] }) },
    { label: 'preview policy', method: 'POST', path: () => '/api/v1/policies/preview', token: () => attacker.token, valid: () => ({ acls: [] }) },
  ];
  const route = (label: string): Route => routes.find((r) => r.label === label)!;
  const DTO_ROUTES = routes.filter((r) => !r.label.includes('policy'));

  interface Attempt { name: string; route: Route; options: RequestOptions; path?: string; field: string }
  const send = (a: Attempt) => api(a.route.method, a.path ?? a.route.path(), { token: a.route.token(), ...a.options });

  /** Highest position in the log, and the events after one (read-only). */
  const sql = <T>(query: string, ...params: unknown[]): T[] => {
    const db = new Database(server.databasePath, { readonly: true, fileMustExist: true });
    try {
      return db.prepare(query).all(...params) as T[];
    } finally {
      db.close();
    }
  };
  const headPosition = () => sql<{ p: number | null }>('SELECT MAX(position) AS p FROM events')[0].p ?? 0;

  /**
   * Fires the bad requests and, at the same moment, valid ones from the neighbour tenant (a heartbeat from each of its
   * nodes, two registrations, an enrollment key); checks every bad one got a 400 naming its field, every valid one
   * succeeded, and that every event appended meanwhile is the neighbour's.
   */
  async function refusedBesideNeighbours(attempts: Attempt[], expectMessage: (a: Attempt) => RegExp | string = (a) => a.field): Promise<void> {
    const before = eventCount(server.databasePath);
    const from = headPosition();
    const good: Array<Promise<Reply>> = [
      ...neighbourNodes.map((n) => api('POST', `/api/v1/nodes/${n.id}/heartbeat`, { token: n.nodeToken, body: { rxBytes: ++counter, txBytes: counter } })),
      api('POST', '/api/v1/auth/register', { body: { email: uniqueEmail('neighbour'), password: PASSWORD } }),
      api('POST', '/api/v1/auth/register', { body: { email: uniqueEmail('neighbour'), password: PASSWORD } }),
      api('POST', '/api/v1/enrollment-keys', { token: neighbour.token, body: { tags: ['ci'] } }),
    ];
    const [bad, goodReplies] = await Promise.all([Promise.all(attempts.map(send)), Promise.all(good)]);

    expect(bad.map((reply, i) => ({ name: attempts[i].name, status: reply.status })))
      .toEqual(attempts.map((a) => ({ name: a.name, status: 400 })));
    bad.forEach((reply, i) => {
      const message = JSON.stringify(reply.body.message);
      const expected = expectMessage(attempts[i]);
      if (typeof expected === 'string') expect({ name: attempts[i].name, message }).toEqual({ name: attempts[i].name, message: expect.stringContaining(expected) });
      else expect({ name: attempts[i].name, message }).toEqual({ name: attempts[i].name, message: expect.stringMatching(expected) });
    });
    expect(goodReplies.map((r) => r.status)).toEqual([...neighbourNodes.map(() => 202), 201, 201, 201]);

    const registered = new Set(goodReplies.filter((r) => r.body?.email?.startsWith('neighbour')).map((r) => `user-${r.body.id}`));
    const appended = sql<{ tenant_id: string | null; stream_id: string; type: string }>(
      'SELECT tenant_id, stream_id, type FROM events JOIN streams ON streams.ref = events.stream_ref WHERE position > ? ORDER BY position', from,
    );
    expect(appended.filter((e) => e.tenant_id !== neighbour.tenantId && !registered.has(e.stream_id))).toEqual([]);
    expect(eventCount(server.databasePath)).toBe(before + appended.length);
    expect(appended.length).toBeGreaterThanOrEqual(goodReplies.length);
  }

  beforeAll(async () => {
    server = await startServer();
    api = client(server);
    [attacker, neighbour] = await Promise.all([setupTenant(server.baseUrl, 'attacker'), setupTenant(server.baseUrl, 'neighbour')]);
    attackerNode = await createNode(server.baseUrl, attacker.token, { name: 'attacker-node' });
    // The neighbour's enrollment keys carry tag:ci: declared and owned first (issue 12).
    expect((await putPolicy(server.baseUrl, neighbour.token, { tagOwners: tagOwners('ci'), acls: [] })).status).toBe(200);
    neighbourNodes = await Promise.all([1, 2, 3].map((i) => createNode(server.baseUrl, neighbour.token, { name: `neighbour-${i}` })));
  });

  afterAll(async () => {
    await server.dispose();
  });

  it('every valid body above is accepted (so each refusal below is the defect, not the route)', async () => {
    const replies = await Promise.all(routes.map((r) => api(r.method, r.path(), { token: r.token(), body: r.valid() })));
    expect(replies.map((r, i) => ({ route: routes[i].label, ok: r.status >= 200 && r.status < 300 })))
      .toEqual(routes.map((r) => ({ route: r.label, ok: true })));
  });

  it('1. null in an optional field, anywhere, is refused naming the field (not skipped as if absent)', async () => {
    const peer = { publicKey: wgKey(), rxBytes: 0, txBytes: 0 };
    const nulls: Array<[string, Record<string, unknown>, string]> = [
      ['login', { tenantId: null }, 'tenantId'],
      ...['endpoint', 'listenPort', 'tags', 'advertiseRoutes', 'exitNode'].map((f): [string, Record<string, unknown>, string] => ['register node', { [f]: null }, f]),
      ...['endpoint', 'rxBytes', 'txBytes', 'peers'].map((f): [string, Record<string, unknown>, string] => ['heartbeat', { [f]: null }, f]),
      ['heartbeat', { peers: [{ ...peer, lastHandshakeAt: null }] }, 'peers.0.lastHandshakeAt'],
      ...['reusable', 'expiresInSeconds', 'tags'].map((f): [string, Record<string, unknown>, string] => ['enrollment key', { [f]: null }, f]),
    ];
    await refusedBesideNeighbours(nulls.map(([label, fields, field]) => ({
      name: `${label}: ${field} null`, route: route(label), field, options: { body: { ...route(label).valid(), ...fields } },
    })));
  });

  it('3. dates the validator used to accept but new Date() cannot read the same way are refused', async () => {
    const dates = ['2020-W01', '2020-W01-1', '2020-001', '2021-02-29', '2024-04-31', '2024-01-31T09:00:00', '2024-01-31T09:00:00+0100'];
    const audit: Route = { label: 'audit', method: 'GET', path: () => '/api/v1/audit', token: () => attacker.token, valid: () => ({}) };
    await refusedBesideNeighbours([
      ...dates.flatMap((date) => ['since', 'until'].map((field): Attempt => ({
        name: `audit ${field}=${date}`, route: audit, path: `/api/v1/audit?${field}=${encodeURIComponent(date)}`, field, options: {},
      }))),
      ...dates.map((date): Attempt => ({
        name: `heartbeat lastHandshakeAt ${date}`, route: route('heartbeat'), field: 'peers.0.lastHandshakeAt',
        options: { body: { peers: [{ publicKey: wgKey(), rxBytes: 0, txBytes: 0, lastHandshakeAt: date }] } },
      })),
    ]);
    const since = await api('GET', `/api/v1/audit?since=${encodeURIComponent('2020-01-06T00:00:00+01:00')}&until=2999-12-31&limit=1`, { token: attacker.token });
    expect({ status: since.status, items: since.body.items?.length }).toEqual({ status: 200, items: 1 });
  });

  it(`4. a body nested deeper than ${MAX_BODY_DEPTH} levels is refused before validation, on every route, JSON or HuJSON`, async () => {
    const deep = '['.repeat(1500) + ']'.repeat(1500); // 3 KB
    const fieldOf: Record<string, string> = {
      register: 'email', login: 'email', 'create tenant': 'name', 'add member': 'email', 'register node': 'tags',
      'approve routes': 'approved', heartbeat: 'peers', 'enrollment key': 'tags', 'put policy': 'acls', 'preview policy': 'acls',
    };
    const withDeep = (r: Route, field: string) => JSON.stringify({ ...r.valid(), [field]: 'DEEP' }).replace('"DEEP"', deep);
    await refusedBesideNeighbours([
      ...routes.map((r): Attempt => ({ name: `${r.label}: ${fieldOf[r.label]}`, route: r, field: fieldOf[r.label], options: { raw: withDeep(r, fieldOf[r.label]) } })),
      ...['put policy', 'preview policy'].map((label): Attempt => ({
        name: `${label} as HuJSON`, route: route(label), field: 'hosts',
        options: { raw: `// deep\n{"acls": [], "hosts": ${'{"a":'.repeat(1500)}"10.0.0.1"${'}'.repeat(1500)},}`, headers: { 'content-type': 'application/hujson' } },
      })),
    ], (a) => `${a.field} nests deeper than ${MAX_BODY_DEPTH} levels`);
  });

  it('5. a lone surrogate in an email, or in any other string, is refused naming the field', async () => {
    const lone = (s: string) => `${s}\ud800`;
    const attempts: Array<[string, Record<string, unknown>, string]> = [
      ['register', { email: `${lone('a')}@example.com` }, 'email'],
      ['register', { password: lone('long enough password') }, 'password'],
      ['login', { email: `${lone('a')}@example.com` }, 'email'],
      ['add member', { email: `\udc00b@example.com` }, 'email'],
      ['create tenant', { name: lone('acme') }, 'name'],
      ['register node', { name: lone('node') }, 'name'],
      ['heartbeat', { endpoint: lone('198.51.100.1:5') }, 'endpoint'],
      ['enrollment key', { tags: [lone('ci')] }, 'tags.0'],
      ['put policy', { hosts: { [lone('db')]: '10.0.0.1' } }, 'hosts'],
      ['preview policy', { groups: { 'group:a': [lone('n1')] } }, 'groups.group:a.0'],
    ];
    await refusedBesideNeighbours(attempts.map(([label, fields, field]) => ({
      // JSON.stringify writes a lone surrogate as the escape \ud800: the body itself is valid UTF-8.
      name: `${label}: ${field}`, route: route(label), field, options: { body: { ...route(label).valid(), ...fields } },
    })), (a) => new RegExp(`${a.field.replace(/[.:]/g, '\\$&')} (must be|has a key that is not) well-formed Unicode`));
  });

  it('6. unknown fields named like Object.prototype members are refused, in bodies, nested bodies and the audit query', async () => {
    const builtins = ['prototype', 'toString', 'valueOf', 'hasOwnProperty', 'constructor'];
    const audit: Route = { label: 'audit', method: 'GET', path: () => '/api/v1/audit', token: () => attacker.token, valid: () => ({}) };
    await refusedBesideNeighbours([
      ...DTO_ROUTES.flatMap((r) => builtins.map((key): Attempt => ({
        // As raw text: an object literal would not make `constructor` an own key the same way everywhere.
        name: `${r.label}: ${key}`, route: r, field: `property ${key} should not exist`,
        options: { raw: JSON.stringify(r.valid()).replace(/^\{/, `{"${key}":1,`) },
      }))),
      ...builtins.map((key): Attempt => ({
        name: `heartbeat peer: ${key}`, route: route('heartbeat'), field: `peers.0.property ${key} should not exist`,
        options: { raw: `{"peers":[{"${key}":1,"publicKey":"${wgKey()}","rxBytes":0,"txBytes":0}]}` },
      })),
      ...['__proto__', 'toString', 'hasOwnProperty', 'constructor', 'valueOf', 'prototype'].map((key): Attempt => ({
        name: `audit ?${key}=1`, route: audit, path: `/api/v1/audit?${key}=1`, field: `property ${key} should not exist`, options: {},
      })),
    ]);
  });
});
