import { randomUUID } from 'node:crypto';
import type { RegisteredNode } from '@meshgate/contracts';
import { client, createNode, eventCount, JWT_SECRET, setupTenant, startServer, TenantSession, TestServer, wgKey } from './support/server';

jest.setTimeout(30_000);

const BODY_LIMIT = 2048;

type Auth = 'none' | 'user' | 'tenant' | 'node' | 'foreign-jwt';
interface Case {
  name: string;
  method: string;
  path: string | ((node: RegisteredNode) => string);
  auth: Auth;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  /** When the answer must be one exact status. */
  status?: number;
}

const validKey = wgKey();
const huge = (n: number) => 'x'.repeat(n);
const unknownId = randomUUID();

/** Cases every JSON-body endpoint must refuse: the body is not a JSON object at all. */
function shapeCases(method: string, path: Case['path'], auth: Auth, valid: Record<string, unknown>): Case[] {
  const label = `${method} ${typeof path === 'string' ? path : path({ id: ':id' } as RegisteredNode)}`;
  return [
    { name: `${label}: malformed JSON`, method, path, auth, raw: '{"name": ', status: 400 },
    { name: `${label}: empty body`, method, path, auth, raw: '', status: 400 },
    { name: `${label}: JSON array`, method, path, auth, raw: '[]', status: 400 },
    { name: `${label}: JSON string`, method, path, auth, raw: '"hello"', status: 400 },
    { name: `${label}: JSON null`, method, path, auth, raw: 'null', status: 400 },
    { name: `${label}: unknown field`, method, path, auth, body: { ...valid, isAdmin: true }, status: 400 },
    { name: `${label}: __proto__ field`, method, path, auth, raw: JSON.stringify(valid).replace(/^\{/, '{"__proto__":{"polluted":1},'), status: 400 },
    { name: `${label}: oversized body`, method, path, auth, body: { ...valid, padding: huge(BODY_LIMIT + 100) }, status: 413 },
    { name: `${label}: text/plain body`, method, path, auth, raw: JSON.stringify(valid), headers: { 'content-type': 'text/plain' }, status: 400 },
  ];
}

const cases: Case[] = [
  // POST /api/v1/auth/register
  ...shapeCases('POST', '/api/v1/auth/register', 'none', { email: 'x@example.com', password: 'long enough password' }),
  { name: 'register: missing email', method: 'POST', path: '/api/v1/auth/register', auth: 'none', body: { password: 'long enough password' }, status: 400 },
  { name: 'register: missing password', method: 'POST', path: '/api/v1/auth/register', auth: 'none', body: { email: 'x@example.com' }, status: 400 },
  { name: 'register: malformed email', method: 'POST', path: '/api/v1/auth/register', auth: 'none', body: { email: 'not-an-email', password: 'long enough password' }, status: 400 },
  { name: 'register: password of 9 characters', method: 'POST', path: '/api/v1/auth/register', auth: 'none', body: { email: 'y@example.com', password: '123456789' }, status: 400 },
  { name: 'register: password a number', method: 'POST', path: '/api/v1/auth/register', auth: 'none', body: { email: 'y@example.com', password: 12345678901 }, status: 400 },
  { name: 'register: email an array', method: 'POST', path: '/api/v1/auth/register', auth: 'none', body: { email: ['a@example.com'], password: 'long enough password' }, status: 400 },
  { name: 'register: email too long', method: 'POST', path: '/api/v1/auth/register', auth: 'none', body: { email: `${huge(250)}@example.com`, password: 'long enough password' }, status: 400 },
  // POST /api/v1/auth/login
  ...shapeCases('POST', '/api/v1/auth/login', 'none', { email: 'x@example.com', password: 'long enough password' }),
  { name: 'login: missing password', method: 'POST', path: '/api/v1/auth/login', auth: 'none', body: { email: 'x@example.com' }, status: 400 },
  { name: 'login: tenantId not a uuid', method: 'POST', path: '/api/v1/auth/login', auth: 'none', body: { email: 'x@example.com', password: 'long enough password', tenantId: 'acme' }, status: 400 },
  { name: 'login: password an object', method: 'POST', path: '/api/v1/auth/login', auth: 'none', body: { email: 'x@example.com', password: { $ne: null } }, status: 400 },
  // POST /api/v1/auth/tenants
  ...shapeCases('POST', '/api/v1/auth/tenants', 'user', { name: 'acme' }),
  { name: 'tenants: empty name', method: 'POST', path: '/api/v1/auth/tenants', auth: 'user', body: { name: '' }, status: 400 },
  { name: 'tenants: name too long', method: 'POST', path: '/api/v1/auth/tenants', auth: 'user', body: { name: huge(101) }, status: 400 },
  { name: 'tenants: name a number', method: 'POST', path: '/api/v1/auth/tenants', auth: 'user', body: { name: 5 }, status: 400 },
  { name: 'tenants: no credentials', method: 'POST', path: '/api/v1/auth/tenants', auth: 'none', body: { name: 'acme' }, status: 401 },
  { name: 'tenants: JWT signed with another secret', method: 'POST', path: '/api/v1/auth/tenants', auth: 'foreign-jwt', body: { name: 'acme' }, status: 401 },
  // POST /api/v1/tenants/current/members
  ...shapeCases('POST', '/api/v1/tenants/current/members', 'tenant', { email: 'x@example.com', role: 'member' }),
  { name: 'members: unknown role', method: 'POST', path: '/api/v1/tenants/current/members', auth: 'tenant', body: { email: 'x@example.com', role: 'god' }, status: 400 },
  { name: 'members: missing role', method: 'POST', path: '/api/v1/tenants/current/members', auth: 'tenant', body: { email: 'x@example.com' }, status: 400 },
  { name: 'members: malformed email', method: 'POST', path: '/api/v1/tenants/current/members', auth: 'tenant', body: { email: 'nope', role: 'member' }, status: 400 },
  // POST /api/v1/nodes
  ...shapeCases('POST', '/api/v1/nodes', 'tenant', { name: 'ok-node', publicKey: validKey }),
  ...([
    ['missing name', { publicKey: validKey }],
    ['missing publicKey', { name: 'n1' }],
    ['name with capitals', { name: 'Node1', publicKey: validKey }],
    ['name with a space', { name: 'node 1', publicKey: validKey }],
    ['name too long', { name: huge(64), publicKey: validKey }],
    ['name a number', { name: 7, publicKey: validKey }],
    ['publicKey too short', { name: 'n1', publicKey: validKey.slice(0, 40) + '=' }],
    ['publicKey without padding', { name: 'n1', publicKey: validKey.slice(0, 43) }],
    ['publicKey of 33 bytes', { name: 'n1', publicKey: Buffer.alloc(33, 7).toString('base64') }],
    ['publicKey of 31 bytes', { name: 'n1', publicKey: Buffer.alloc(31, 7).toString('base64') }],
    ['publicKey in base64url', { name: 'n1', publicKey: Buffer.alloc(32, 0xfb).toString('base64url') + '=' }],
    ['publicKey with non-canonical last character', { name: 'n1', publicKey: validKey.slice(0, 42) + 'B=' }],
    ['publicKey with surrounding spaces', { name: 'n1', publicKey: ` ${validKey} ` }],
    ['publicKey hex', { name: 'n1', publicKey: Buffer.alloc(32, 1).toString('hex') }],
    ['publicKey a number', { name: 'n1', publicKey: 12345 }],
    ['publicKey null', { name: 'n1', publicKey: null }],
    ['listenPort 0', { name: 'n1', publicKey: validKey, listenPort: 0 }],
    ['listenPort 70000', { name: 'n1', publicKey: validKey, listenPort: 70000 }],
    ['listenPort a string', { name: 'n1', publicKey: validKey, listenPort: '51820' }],
    ['listenPort fractional', { name: 'n1', publicKey: validKey, listenPort: 5182.5 }],
    ['endpoint without port', { name: 'n1', publicKey: validKey, endpoint: '198.51.100.1' }],
    ['endpoint with port 99999', { name: 'n1', publicKey: validKey, endpoint: '198.51.100.1:99999' }],
    ['endpoint with port 0', { name: 'n1', publicKey: validKey, endpoint: '198.51.100.1:0' }],
    ['endpoint a URL', { name: 'n1', publicKey: validKey, endpoint: 'http://198.51.100.1:80/' }],
    ['tags a string', { name: 'n1', publicKey: validKey, tags: 'web' }],
    ['tags with capitals', { name: 'n1', publicKey: validKey, tags: ['Web'] }],
    // `tag:web` and a bare `web` are both fine (issue 12); a prefix with no name or twice is not.
    ['tags with an empty name', { name: 'n1', publicKey: validKey, tags: ['tag:'] }],
    ['tags with a double prefix', { name: 'n1', publicKey: validKey, tags: ['tag:tag:web'] }],
    ['tags numbers', { name: 'n1', publicKey: validKey, tags: [1] }],
    ['tags nested', { name: 'n1', publicKey: validKey, tags: [['web']] }],
    ['too many tags', { name: 'n1', publicKey: validKey, tags: Array.from({ length: 33 }, (_, i) => `t${i}`) }],
    // Checked by the contracts' one IP helper, not a regex: shapes that only look like prefixes are refused at the door.
    ['advertised route without a length', { name: 'n1', publicKey: validKey, advertiseRoutes: ['10.1.0.0'] }],
    ['advertised route /33', { name: 'n1', publicKey: validKey, advertiseRoutes: ['10.1.0.0/33'] }],
    ['advertised route with an octet of 300', { name: 'n1', publicKey: validKey, advertiseRoutes: ['10.300.0.0/16'] }],
    ['advertised route /129', { name: 'n1', publicKey: validKey, advertiseRoutes: ['fd00::/129'] }],
    ['advertised route with two ::', { name: 'n1', publicKey: validKey, advertiseRoutes: ['fd00::1::/64'] }],
    ['advertised route of nine groups', { name: 'n1', publicKey: validKey, advertiseRoutes: ['1:2:3:4:5:6:7:8:9/64'] }],
  ] as [string, unknown][]).map(([name, body]): Case => ({ name: `nodes: ${name}`, method: 'POST', path: '/api/v1/nodes', auth: 'tenant', body, status: 400 })),
  { name: 'nodes: duplicate public key', method: 'POST', path: '/api/v1/nodes', auth: 'tenant', body: { name: 'dup', publicKey: 'DUPLICATE' }, status: 409 },
  { name: 'nodes: duplicate name', method: 'POST', path: '/api/v1/nodes', auth: 'tenant', body: { name: 'victim', publicKey: 'FRESH' }, status: 409 },
  { name: 'nodes: no credentials', method: 'POST', path: '/api/v1/nodes', auth: 'none', body: { name: 'n1', publicKey: validKey }, status: 401 },
  { name: 'nodes: node token', method: 'POST', path: '/api/v1/nodes', auth: 'node', body: { name: 'n1', publicKey: wgKey() }, status: 403 },
  { name: 'nodes: unscoped user token', method: 'POST', path: '/api/v1/nodes', auth: 'user', body: { name: 'n1', publicKey: wgKey() }, status: 403 },
  // ids
  ...(['GET', 'DELETE'] as const).flatMap((method): Case[] => [
    // `:id` is an id or a name (issue 12): a name no node has is a 404, a shape neither can have a 400.
    { name: `${method} /nodes/:id: neither a uuid nor a name`, method, path: '/api/v1/nodes/Not_A_Node', auth: 'tenant', status: 400 },
    { name: `${method} /nodes/:id: a fraction`, method, path: '/api/v1/nodes/1.5', auth: 'tenant', status: 400 },
    { name: `${method} /nodes/:id: an unknown name`, method, path: '/api/v1/nodes/no-such-node', auth: 'tenant', status: 404 },
    { name: `${method} /nodes/:id: sql-ish`, method, path: `/api/v1/nodes/${encodeURIComponent("1' OR '1'='1")}`, auth: 'tenant', status: 400 },
    { name: `${method} /nodes/:id: unknown uuid`, method, path: `/api/v1/nodes/${unknownId}`, auth: 'tenant', status: 404 },
    { name: `${method} /nodes/:id: nil uuid`, method, path: '/api/v1/nodes/00000000-0000-0000-0000-000000000000', auth: 'tenant', status: 400 },
  ]),
  { name: 'GET /nodes/:id/config: neither a uuid nor a name', method: 'GET', path: '/api/v1/nodes/ABC/config', auth: 'tenant', status: 400 },
  { name: 'GET /nodes/:id/config: an unknown name', method: 'GET', path: '/api/v1/nodes/abc/config', auth: 'tenant', status: 404 },
  { name: 'GET /nodes/:id/config: unknown uuid', method: 'GET', path: `/api/v1/nodes/${unknownId}/config`, auth: 'tenant', status: 404 },
  { name: 'GET /nodes/:id/config: other node with node token', method: 'GET', path: `/api/v1/nodes/${unknownId}/config`, auth: 'node', status: 403 },
  { name: 'GET /nodes/:id/config/stream: not a uuid', method: 'GET', path: '/api/v1/nodes/abc/config/stream', auth: 'node', status: 400 },
  { name: 'GET /nodes/:id/config/stream: unknown uuid', method: 'GET', path: `/api/v1/nodes/${unknownId}/config/stream`, auth: 'node', status: 403 },
  { name: 'GET /nodes/:id/config/stream: tenant token', method: 'GET', path: `/api/v1/nodes/${unknownId}/config/stream`, auth: 'tenant', status: 403 },
  { name: 'GET /nodes/:id/config/stream: no credentials', method: 'GET', path: `/api/v1/nodes/${unknownId}/config/stream`, auth: 'none', status: 401 },
  { name: 'GET /nodes/:id/config/stream: garbage node token', method: 'GET', path: (n) => `/api/v1/nodes/${n.id}/config/stream`, auth: 'none', headers: { authorization: 'Bearer mgn.x.y' }, status: 401 },
  // POST /api/v1/nodes/:id/heartbeat
  ...shapeCases('POST', (n) => `/api/v1/nodes/${n.id}/heartbeat`, 'node', { rxBytes: 1 }).filter((c) => !c.name.includes('empty body')),
  ...([
    ['rxBytes negative', { rxBytes: -1 }],
    ['rxBytes a string', { rxBytes: '1' }],
    ['rxBytes fractional', { rxBytes: 1.5 }],
    ['rxBytes beyond 2^53', { rxBytes: 1e300 }],
    ['peer txBytes beyond 2^53', { peers: [{ publicKey: validKey, rxBytes: 0, txBytes: 2 ** 60 }] }],
    ['txBytes a boolean', { txBytes: true }],
    ['endpoint malformed', { endpoint: 'nope' }],
    ['endpoint with port 65536', { endpoint: '198.51.100.1:65536' }],
    ['peers a string', { peers: 'x' }],
    ['peers with null', { peers: [null] }],
    ['peer with bad key', { peers: [{ publicKey: 'bad', rxBytes: 0, txBytes: 0 }] }],
    ['peer without counters', { peers: [{ publicKey: validKey }] }],
    ['peer with bad handshake time', { peers: [{ publicKey: validKey, rxBytes: 0, txBytes: 0, lastHandshakeAt: 'yesterday' }] }],
    ['peer with unknown field', { peers: [{ publicKey: validKey, rxBytes: 0, txBytes: 0, extra: 1 }] }],
  ] as [string, unknown][]).map(([name, body]): Case => ({ name: `heartbeat: ${name}`, method: 'POST', path: (n) => `/api/v1/nodes/${n.id}/heartbeat`, auth: 'node', body, status: 400 })),
  { name: 'heartbeat: not a uuid', method: 'POST', path: '/api/v1/nodes/abc/heartbeat', auth: 'node', body: {}, status: 400 },
  { name: 'heartbeat: another node', method: 'POST', path: `/api/v1/nodes/${unknownId}/heartbeat`, auth: 'node', body: {}, status: 403 },
  { name: 'heartbeat: tenant token', method: 'POST', path: (n) => `/api/v1/nodes/${n.id}/heartbeat`, auth: 'tenant', body: {}, status: 403 },
  { name: 'heartbeat: forged node token', method: 'POST', path: (n) => `/api/v1/nodes/${n.id}/heartbeat`, auth: 'none', headers: { authorization: `Bearer mgn.${unknownId}.${'A'.repeat(43)}` }, body: {}, status: 401 },
  { name: 'heartbeat: Basic auth', method: 'POST', path: (n) => `/api/v1/nodes/${n.id}/heartbeat`, auth: 'none', headers: { authorization: 'Basic dXNlcjpwYXNz' }, body: {}, status: 401 },
  { name: 'heartbeat: enormous bearer', method: 'POST', path: (n) => `/api/v1/nodes/${n.id}/heartbeat`, auth: 'none', headers: { authorization: `Bearer ${huge(8000)}` }, body: {}, status: 401 },
  // POST/DELETE /api/v1/enrollment-keys
  ...shapeCases('POST', '/api/v1/enrollment-keys', 'tenant', { reusable: true }),
  ...([
    ['reusable a string', { reusable: 'yes' }],
    ['expiresInSeconds below 60', { expiresInSeconds: 59 }],
    ['expiresInSeconds above a year', { expiresInSeconds: 366 * 24 * 3600 }],
    ['expiresInSeconds a string', { expiresInSeconds: '600' }],
    ['expiresInSeconds fractional', { expiresInSeconds: 600.5 }],
    ['tags a string', { tags: 'ci' }],
    ['tags with capitals', { tags: ['CI'] }],
  ] as [string, unknown][]).map(([name, body]): Case => ({ name: `enrollment-keys: ${name}`, method: 'POST', path: '/api/v1/enrollment-keys', auth: 'tenant', body, status: 400 })),
  { name: 'DELETE /enrollment-keys/:id: not a uuid', method: 'DELETE', path: '/api/v1/enrollment-keys/abc', auth: 'tenant', status: 400 },
  { name: 'DELETE /enrollment-keys/:id: unknown uuid', method: 'DELETE', path: `/api/v1/enrollment-keys/${unknownId}`, auth: 'tenant', status: 404 },
  // PUT /api/v1/policies
  // (text/plain is HuJSON for policies: valid text is a valid policy, so that shape case does not apply.)
  ...shapeCases('PUT', '/api/v1/policies', 'tenant', { acls: [] }).filter((c) => !/unknown field|__proto__|text\/plain/.test(c.name)),
  ...shapeCases('POST', '/api/v1/policies/preview', 'tenant', { acls: [] }).filter((c) => !/unknown field|__proto__|text\/plain/.test(c.name)),
  { name: 'policies: HuJSON syntax error', method: 'PUT', path: '/api/v1/policies', auth: 'tenant', raw: '{ "acls": [ // unterminated', headers: { 'content-type': 'application/hujson' }, status: 400 },
  { name: 'policies: HuJSON empty', method: 'PUT', path: '/api/v1/policies', auth: 'tenant', raw: '  ', headers: { 'content-type': 'application/hujson' }, status: 400 },
  { name: 'policies preview: invalid document', method: 'POST', path: '/api/v1/policies/preview', auth: 'tenant', body: { acls: [{ action: 'accept', src: ['*'], dst: ['*:99999'] }] }, status: 400 },
  ...([
    ['missing acls', {}],
    ['unknown top-level field', { acls: [], isAdmin: true }],
    ['__proto__ key', JSON.parse('{"acls":[],"__proto__":{"polluted":1}}')],
    ['acls a string', { acls: 'all' }],
    ['acls with null', { acls: [null] }],
    ['unknown action', { acls: [{ action: 'maybe', src: ['*'], dst: ['*'] }] }],
    ['missing dst', { acls: [{ action: 'accept', src: ['*'] }] }],
    ['src a string', { acls: [{ action: 'accept', src: '*', dst: ['*'] }] }],
    ['src a number', { acls: [{ action: 'accept', src: [1], dst: ['*'] }] }],
    ['empty tag', { acls: [{ action: 'accept', src: ['tag:'], dst: ['*'] }] }],
    ['bad selector', { acls: [{ action: 'accept', src: ['Bad Name!'], dst: ['*'] }] }],
    ['unknown rule field', { acls: [{ action: 'accept', src: ['*'], dst: ['*'], ports: '22' }] }],
    ['deeply nested junk', { acls: [{ action: 'accept', src: [[[['*']]]], dst: ['*'] }] }],
    ['port out of range', { acls: [{ action: 'accept', src: ['*'], dst: ['*:70000'] }] }],
    ['ports on icmp', { acls: [{ action: 'accept', src: ['*'], proto: 'icmp', dst: ['*:22'] }] }],
    ['unknown schedule', { acls: [{ action: 'accept', src: ['*'], dst: ['*:*'], schedule: 'nope' }] }],
    ['bad time zone', { schedules: { s: { timeZone: 'Mars/Olympus', days: ['mon'], start: '09:00', end: '17:00' } }, acls: [] }],
    ['qos rate zero', { acls: [], qos: [{ src: ['*'], dst: ['*'], rateMbit: 0 }] }],
    ['route not a prefix', { acls: [], routes: { 'not-a-prefix': ['tag:r'] } }],
    ['failing test', { acls: [], tests: [{ src: 'tag:web', accept: ['tag:db:5432'] }] }],
  ] as [string, unknown][]).map(([name, body]): Case => ({ name: `policies: ${name}`, method: 'PUT', path: '/api/v1/policies', auth: 'tenant', body, status: 400 })),
  { name: 'policies: If-Match not a version', method: 'PUT', path: '/api/v1/policies', auth: 'tenant', body: { acls: [] }, headers: { 'if-match': '*' }, status: 400 },
  { name: 'policies: If-Match negative', method: 'PUT', path: '/api/v1/policies', auth: 'tenant', body: { acls: [] }, headers: { 'if-match': '-1' }, status: 400 },
  { name: 'policies: If-Match enormous', method: 'PUT', path: '/api/v1/policies', auth: 'tenant', body: { acls: [] }, headers: { 'if-match': '9'.repeat(30) }, status: 400 },
  // GET /api/v1/audit
  ...([
    'limit=0', 'limit=501', 'limit=abc', 'limit=1.5', 'limit=-1', 'cursor=abc', 'cursor=-1', 'cursor=1e5', 'since=yesterday', 'until=2024-13-45',
    'type=Bad%20Type!', `actor=${huge(101)}`, 'foo=1', 'limit=1&limit=2', 'type=NodeRegistered&type=PolicyUpdated', 'cursor=1&cursor=2',
    'since=2024-01-01&since=2024-02-01',
  ]).map((query): Case => ({ name: `audit: ?${query.slice(0, 40)}`, method: 'GET', path: `/api/v1/audit?${query}`, auth: 'tenant', status: 400 })),
  // unknown routes and methods
  { name: 'unknown route', method: 'GET', path: '/api/v1/nope', auth: 'tenant', status: 404 },
  { name: 'PATCH /nodes', method: 'PATCH', path: '/api/v1/nodes', auth: 'tenant', body: {}, status: 404 },
];

describe('bad input: every endpoint answers 4xx (never 5xx) and appends nothing', () => {
  let server: TestServer;
  let owner: TenantSession;
  let node: RegisteredNode;
  const tokens: Partial<Record<Auth, string>> = {};

  beforeAll(async () => {
    server = await startServer({ BODY_LIMIT_BYTES: String(BODY_LIMIT) });
    owner = await setupTenant(server.baseUrl, 'bad-input-co');
    node = await createNode(server.baseUrl, owner.token, { name: 'victim' });
    tokens.user = owner.userToken;
    tokens.tenant = owner.token;
    tokens.node = node.nodeToken;
    const [header, payload] = owner.token.split('.');
    const { createHmac } = await import('node:crypto');
    tokens['foreign-jwt'] = `${header}.${payload}.${createHmac('sha256', JWT_SECRET.replace('e2e', 'xyz')).update(`${header}.${payload}`).digest('base64url')}`;
  });

  afterAll(async () => {
    await server.dispose();
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const api = client(server);
    const before = eventCount(server.databasePath);
    const headers: Record<string, string> = { ...c.headers };
    let raw = c.raw;
    let body = c.body;
    if (body && typeof body === 'object' && (body as { publicKey?: string }).publicKey === 'DUPLICATE') body = { ...body, publicKey: node.publicKey };
    if (body && typeof body === 'object' && (body as { publicKey?: string }).publicKey === 'FRESH') body = { ...body, publicKey: wgKey() };
    if (raw !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const reply = await api(c.method, typeof c.path === 'string' ? c.path : c.path(node), {
      token: c.auth === 'none' ? undefined : tokens[c.auth], body: raw === undefined ? body : undefined, raw, headers,
    });
    expect({ status: reply.status, body: reply.body }).toEqual({ status: c.status ?? expect.any(Number), body: expect.anything() });
    expect(reply.status).toBeGreaterThanOrEqual(400);
    expect(reply.status).toBeLessThan(500);
    // Errors are { statusCode, message, error }.
    if (typeof reply.body === 'object') expect(reply.body).toMatchObject({ statusCode: reply.status, message: expect.anything() });
    expect(eventCount(server.databasePath)).toBe(before);
  });

  it('names the offending field in the message', async () => {
    const api = client(server);
    const reply = await api('POST', '/api/v1/nodes', { token: owner.token, body: { name: 'n1', publicKey: 'bad' } });
    expect(JSON.stringify(reply.body.message)).toContain('publicKey');
    const unknown = await api('POST', '/api/v1/nodes', { token: owner.token, body: { name: 'n1', publicKey: wgKey(), isAdmin: true } });
    expect(JSON.stringify(unknown.body.message)).toContain('isAdmin');
    const route = await api('POST', '/api/v1/nodes', { token: owner.token, body: { name: 'n1', publicKey: wgKey(), advertiseRoutes: ['fd00::/129'] } });
    expect({ status: route.status, message: route.body.message })
      .toEqual({ status: 400, message: ['each advertised route must be an IPv4 or IPv6 prefix such as 10.1.0.0/24'] });
  });

  it('nothing was polluted and the server still works', async () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const api = client(server);
    expect((await api('POST', `/api/v1/nodes/${node.id}/heartbeat`, { token: node.nodeToken, body: { rxBytes: 5 } })).status).toBe(202);
    expect((await api('GET', '/health')).status).toBe(200);
  });
});
