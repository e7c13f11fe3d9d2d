/**
 * Issue 12, single sign-on: OIDC login (authorization code with PKCE) against a real OpenID provider (npm
 * `oidc-provider`) on 127.0.0.1, driven by an HTTP client that carries cookies and follows every redirect as a browser
 * does: MeshGate's login → the provider's authorization endpoint → its interaction (login and consent, answered
 * through the provider's interaction API) → MeshGate's callback. MeshGate sits behind a forwarding proxy, as behind a
 * load balancer: OIDC_REDIRECT_URL is the proxy's address, known before the control plane starts on its ephemeral port.
 * Every refusal asserts its status, its message and that nothing was appended.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createServer, IncomingMessage, request as httpRequest, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Provider } from 'oidc-provider';
import type { Adapter, AdapterPayload, Configuration } from 'oidc-provider';
import { DirectoryReadModel } from '../src/auth/directory.read-model';
import { OIDC_STATE_COOKIE, openState, sealState } from '../src/auth/oidc/oidc-state.cookie';
import type { NodeConfig, RegisteredNode } from '@meshgate/contracts';
import { client, eventCount, eventsOfType, JWT_SECRET, PASSWORD, putPolicy, setupTenant, startServer, TestServer, wgKey } from './support/server';
import { SseClient, sseUrl } from './support/sse';

jest.setTimeout(60_000);

const CLIENT_ID = 'meshgate';
const CLIENT_SECRET = 'an-e2e-confidential-client-secret-0123456789';
const CALLBACK_PATH = '/api/v1/auth/oidc/callback';

// ---------------------------------------------------------------------------------------------------------------
// The OpenID provider

/** What the provider knows of a person: the test changes it between sign-ons (a group change at the IdP). */
interface Account { email: string; email_verified: boolean; groups: string[] }

/** oidc-provider's storage, in memory (its own quick-start adapter works too, but warns on every start). */
function memoryAdapter(): new (name: string) => Adapter {
  const store = new Map<string, AdapterPayload>();
  return class implements Adapter {
    constructor(private readonly name: string) {}
    private key(id: string) { return `${this.name}:${id}`; }
    async upsert(id: string, payload: AdapterPayload) { store.set(this.key(id), payload); }
    async find(id: string) { return store.get(this.key(id)); }
    async findByUserCode(userCode: string) { return [...store.values()].find((p) => p.userCode === userCode); }
    async findByUid(uid: string) { return [...store.entries()].find(([k, p]) => k.startsWith(`${this.name}:`) && p.uid === uid)?.[1]; }
    async consume(id: string) { const p = store.get(this.key(id)); if (p) p.consumed = Math.floor(Date.now() / 1000); }
    async destroy(id: string) { store.delete(this.key(id)); }
    async revokeByGrantId(grantId: string) { for (const [k, p] of store) if (p.grantId === grantId) store.delete(k); }
  };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString()))).on('error', reject);
  });
}

/**
 * oidc-provider with one confidential client (MeshGate's redirect URL, PKCE S256 required), scopes `email` and
 * `groups`, accounts from `accounts`, and an interaction endpoint of its own: GET /interaction/:uid says which prompt
 * is pending, POST /interaction/:uid answers it (`login=<account>`, or the consent to what was asked).
 */
async function startIdp(redirectUrl: string) {
  const http = createServer();
  const issuer = await listen(http);
  const accounts = new Map<string, Account>();
  const configuration: Configuration = {
    adapter: memoryAdapter(),
    clients: [{
      client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [redirectUrl],
      response_types: ['code'], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
    }],
    pkce: { required: () => true, methods: ['S256'] },
    scopes: ['openid', 'email', 'groups'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['e2e-idp-cookie-signing-key-0123456789'] },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    jwks: { keys: [{ ...(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }) as object), kid: 'e2e', use: 'sig', alg: 'RS256' } as never] },
    findAccount: async (_ctx, sub) => {
      const account = accounts.get(sub);
      return account && { accountId: sub, claims: async () => ({ sub, ...accounts.get(sub)! }) };
    },
  };
  const provider = new Provider(issuer, configuration);
  const failures: unknown[] = [];
  provider.on('server_error', (_ctx, error) => failures.push(error));
  const oidcCallback = provider.callback();
  const interact = async (req: IncomingMessage, res: ServerResponse) => {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ uid: details.uid, prompt: details.prompt.name }));
      return;
    }
    const form = await readForm(req);
    if (details.prompt.name === 'login') {
      await provider.interactionFinished(req, res, { login: { accountId: form.get('login') ?? '' } }, { mergeWithLastSubmission: false });
      return;
    }
    const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
    grant.addOIDCScope(String(details.params.scope));
    await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
  };
  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!req.url?.startsWith('/interaction/')) return void oidcCallback(req, res);
    interact(req, res).catch((error) => {
      failures.push(error);
      res.statusCode = 500;
      res.end(String(error));
    });
  });
  return { issuer, accounts, failures, close: () => close(http) };
}

// ---------------------------------------------------------------------------------------------------------------
// The browser

interface Hop { url: URL; status: number }
interface Landing { status: number; body: any; text: string; headers: Headers; hops: Hop[] }

/**
 * Cookies for 127.0.0.1 (as a browser keeps them: by host and path, not port) and a redirect-following loop with
 * fetch. At the provider's interaction page it signs in as `account` and consents. `beforeCallback` may change the
 * callback URL or the cookies before the provider's answer reaches MeshGate.
 */
class Browser {
  readonly cookies = new Map<string, { value: string; path: string }>();

  cookieHeader(url: URL): string {
    return [...this.cookies].filter(([, c]) => url.pathname.startsWith(c.path)).map(([n, c]) => `${n}=${c.value}`).join('; ');
  }

  private store(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const attr = new Map(attributes.map((a) => [a.split('=')[0].toLowerCase(), a.slice(a.indexOf('=') + 1)] as const));
      const expired = attr.get('max-age') === '0' || (attr.has('expires') && new Date(attr.get('expires')!).getTime() < Date.now());
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, { value, path: attr.get('path') ?? '/' });
    }
  }

  async fetch(url: URL, init: { method?: string; form?: URLSearchParams } = {}): Promise<Response> {
    const headers: Record<string, string> = { cookie: this.cookieHeader(url) };
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, { method: init.method ?? 'GET', headers, body: init.form?.toString(), redirect: 'manual' });
    this.store(response.headers.getSetCookie());
    return response;
  }

  async visit(start: string, account: string, beforeCallback?: (url: URL) => URL | void): Promise<Landing> {
    const hops: Hop[] = [];
    let url = new URL(start);
    for (let i = 0; i < 20; i++) {
      let response = await this.fetch(url);
      hops.push({ url, status: response.status });
      if (response.status === 200 && url.pathname.startsWith('/interaction/')) {
        const { prompt } = (await response.json()) as { prompt: string };
        response = await this.fetch(url, { method: 'POST', form: new URLSearchParams(prompt === 'login' ? { login: account } : {}) });
        hops.push({ url, status: response.status });
      }
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        url = new URL(location, url);
        if (url.pathname === CALLBACK_PATH && beforeCallback) url = beforeCallback(url) ?? url;
        continue;
      }
      const text = await response.text();
      const json = (response.headers.get('content-type') ?? '').includes('application/json') && text !== '';
      return { status: response.status, body: json ? JSON.parse(text) : text, text, headers: response.headers, hops };
    }
    throw new Error(`too many redirects: ${hops.map((h) => `${h.status} ${h.url}`).join(' → ')}`);
  }
}

/** A forwarding proxy in front of the control plane (whose port is known only once it has started). */
async function startFront(target: () => string) {
  const http = createServer((req, res) => {
    const url = new URL(req.url ?? '/', target());
    const upstream = httpRequest(url, { method: req.method, headers: { ...req.headers, host: url.host }, agent: false }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (error) => { res.statusCode = 502; res.end(String(error)); });
    req.pipe(upstream);
  });
  return { url: await listen(http), close: () => close(http) };
}

// ---------------------------------------------------------------------------------------------------------------

describe('single sign-on with an OpenID provider', () => {
  let front: Awaited<ReturnType<typeof startFront>>;
  let idp: Awaited<ReturnType<typeof startIdp>>;
  let server: TestServer;
  let api: ReturnType<typeof client>;
  let loginUrl: string;

  /** Runs `work` and checks that it appended nothing to the log. */
  async function appendsNothing<T>(work: () => Promise<T>): Promise<T> {
    const before = eventCount(server.databasePath);
    const result = await work();
    expect(eventCount(server.databasePath)).toBe(before);
    return result;
  }

  const signOn = (account: string, options: { query?: string; beforeCallback?: (url: URL, browser: Browser) => URL | void } = {}) => {
    const browser = new Browser();
    return browser.visit(`${loginUrl}${options.query ?? ''}`, account, options.beforeCallback && ((url) => options.beforeCallback!(url, browser)))
      .then((landing) => ({ ...landing, browser }));
  };

  const provisioned = (subject: string) =>
    eventsOfType(server.databasePath, 'UserProvisioned').map((e) => JSON.parse(e.data)).filter((d) => d.subject === subject);

  beforeAll(async () => {
    front = await startFront(() => server.baseUrl);
    idp = await startIdp(`${front.url}${CALLBACK_PATH}`);
    server = await startServer({
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: CLIENT_ID,
      OIDC_CLIENT_SECRET: CLIENT_SECRET,
      OIDC_ALLOWED_DOMAINS: 'example.com, corp.example.org',
      OIDC_REDIRECT_URL: `${front.url}${CALLBACK_PATH}`,
      OIDC_SCOPES: 'openid email groups',
    });
    api = client(server);
    loginUrl = `${front.url}/api/v1/auth/oidc/login`;
  });

  afterAll(async () => {
    await server?.dispose();
    await idp?.close();
    await front?.close();
  });

  afterEach(() => {
    expect(idp.failures).toEqual([]);
  });

  it('sends the browser to the provider with state, nonce and PKCE (S256), remembered in a signed HttpOnly SameSite=Lax cookie', async () => {
    const browser = new Browser();
    const response = await browser.fetch(new URL(loginUrl));
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(`${idp.issuer}/auth`);
    const q = location.searchParams;
    expect(Object.fromEntries(['client_id', 'response_type', 'redirect_uri', 'scope', 'code_challenge_method'].map((k) => [k, q.get(k)]))).toEqual({
      client_id: CLIENT_ID, response_type: 'code', redirect_uri: `${front.url}${CALLBACK_PATH}`, scope: 'openid email groups', code_challenge_method: 'S256',
    });
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const [setCookie] = response.headers.getSetCookie();
    expect(setCookie).toMatch(new RegExp(`^${OIDC_STATE_COOKIE}=[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}; Path=/api/v1/auth/oidc; Max-Age=600; HttpOnly; SameSite=Lax$`));
    const state = openState(JWT_SECRET, browser.cookies.get(OIDC_STATE_COOKIE)!.value, Math.floor(Date.now() / 1000));
    expect(state).toMatchObject({ state: q.get('state'), nonce: q.get('nonce'), codeVerifier: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    // The provider is given only the verifier's S256 challenge; the verifier is sent with the code, from the callback.
    expect(q.get('code_challenge')).toBe(createHash('sha256').update(state!.codeVerifier).digest('base64url'));
  });

  it('provisions a user at the first sign-on (UserProvisioned with the IdP subject) and answers a token that works', async () => {
    idp.accounts.set('alice-sub', { email: 'Alice@Example.com', email_verified: true, groups: ['engineering'] });
    const before = eventCount(server.databasePath);
    const landing = await signOn('alice-sub');
    expect(landing.status).toBe(200);
    expect(landing.body).toEqual({ accessToken: expect.any(String), expiresIn: 3600, tenants: [] });
    expect(landing.headers.get('cache-control')).toBe('no-store');
    // The login state cookie is spent: the callback cleared it (the provider's own cookies stay).
    expect(landing.hops.map((h) => h.url.pathname)).toContain(CALLBACK_PATH);
    expect(landing.browser.cookies.has(OIDC_STATE_COOKIE)).toBe(false);

    const [event] = provisioned('alice-sub');
    expect(event).toEqual({ userId: expect.any(String), email: 'alice@example.com', issuer: idp.issuer, subject: 'alice-sub' });
    expect(eventsOfType(server.databasePath, 'UserGroupsChanged').map((e) => JSON.parse(e.data)).filter((d) => d.userId === event.userId))
      .toEqual([{ userId: event.userId, groups: ['engineering'] }]);
    expect(eventCount(server.databasePath)).toBe(before + 2);
    expect(await server.app.get(DirectoryReadModel).groupsOf(event.userId)).toEqual(['engineering']);

    const tenants = await api('GET', '/api/v1/auth/tenants', { token: landing.body.accessToken });
    expect(tenants.status).toBe(200);
    expect(tenants.body).toEqual([]);
    // A single sign-on user has no password: a password login as them fails like any wrong password.
    const password = await api('POST', '/api/v1/auth/login', { body: { email: 'alice@example.com', password: PASSWORD } });
    expect(password.status).toBe(401);
  });

  it('refreshes the IdP groups at each sign-on: a change appends UserGroupsChanged, the same groups append nothing', async () => {
    idp.accounts.set('bob-sub', { email: 'bob@corp.example.org', email_verified: true, groups: ['engineering'] });
    expect((await signOn('bob-sub')).status).toBe(200);
    const [{ userId }] = provisioned('bob-sub');
    const groupEvents = () => eventsOfType(server.databasePath, 'UserGroupsChanged').map((e) => JSON.parse(e.data)).filter((d) => d.userId === userId);

    idp.accounts.set('bob-sub', { ...idp.accounts.get('bob-sub')!, groups: ['sre', 'engineering', 'ops', 'sre'] });
    const second = await signOn('bob-sub');
    expect(second.status).toBe(200);
    expect(provisioned('bob-sub')).toHaveLength(1);
    expect(groupEvents()).toEqual([{ userId, groups: ['engineering'] }, { userId, groups: ['engineering', 'ops', 'sre'] }]);
    expect(await server.app.get(DirectoryReadModel).groupsOf(userId)).toEqual(['engineering', 'ops', 'sre']);

    const unchanged = await appendsNothing(() => signOn('bob-sub'));
    expect(unchanged.status).toBe(200);

    // Leaving every group at the IdP empties them here too.
    idp.accounts.set('bob-sub', { ...idp.accounts.get('bob-sub')!, groups: [] });
    expect((await signOn('bob-sub')).status).toBe(200);
    expect(groupEvents().at(-1)).toEqual({ userId, groups: [] });
    expect(await server.app.get(DirectoryReadModel).groupsOf(userId)).toEqual([]);
  });

  it('accepts a pending invitation at the first sign-on, and scopes the token to the tenant asked for at login', async () => {
    const owner = await setupTenant(server.baseUrl, 'sso-co');
    const invited = await api('POST', '/api/v1/tenants/current/members', { token: owner.token, body: { email: 'carol@example.com', role: 'member' } });
    expect(invited.status).toBe(202);
    idp.accounts.set('carol-sub', { email: 'carol@example.com', email_verified: true, groups: [] });

    const landing = await signOn('carol-sub', { query: `?tenantId=${owner.tenantId}` });
    expect(landing.status).toBe(200);
    expect(landing.body.tenants).toEqual([{ id: owner.tenantId, name: 'sso-co', role: 'member' }]);
    const members = await api('GET', '/api/v1/tenants/current/members', { token: landing.body.accessToken });
    expect(members.status).toBe(200);
    expect(members.body.map((m: { email: string }) => m.email)).toContain('carol@example.com');

    const byName = await signOn('carol-sub', { query: '?tenant=sso-co' });
    expect(byName.status).toBe(200);
    expect((await api('GET', '/api/v1/tenants/current/members', { token: byName.body.accessToken })).status).toBe(200);
  });

  it('makes IdP groups usable in policy (idp:engineering): a group change at the IdP, at the next sign-on, changes who reaches the db', async () => {
    const owner = await setupTenant(server.baseUrl, 'idp-groups-co');
    for (const email of ['gina@example.com', 'hank@example.com']) {
      expect((await api('POST', '/api/v1/tenants/current/members', { token: owner.token, body: { email, role: 'member' } })).status).toBe(202);
    }
    idp.accounts.set('gina-sub', { email: 'gina@example.com', email_verified: true, groups: ['engineering', 'oncall'] });
    idp.accounts.set('hank-sub', { email: 'hank@example.com', email_verified: true, groups: ['sales'] });
    const tokenOf = async (account: string) => {
      const landing = await signOn(account, { query: `?tenantId=${owner.tenantId}` });
      expect(landing.status).toBe(200);
      return landing.body.accessToken as string;
    };
    const [gina, hank] = [await tokenOf('gina-sub'), await tokenOf('hank-sub')];
    const put = await putPolicy(server.baseUrl, owner.token, {
      groups: { 'group:eng': ['idp:engineering'] },
      tagOwners: { 'tag:db': ['autogroup:owner'] },
      acls: [{ action: 'accept', src: ['group:eng'], proto: 'tcp', dst: ['tag:db:5432'] }],
    });
    expect(put.status).toBe(200);

    const register = async (token: string, name: string, tags?: string[]) => {
      const reply = await api<RegisteredNode>('POST', '/api/v1/nodes', { token, body: { name, publicKey: wgKey(), ...(tags ? { tags } : {}) } });
      expect(reply.status).toBe(201);
      return reply.body;
    };
    const nodes = [await register(gina, 'gina-laptop'), await register(hank, 'hank-laptop'), await register(owner.token, 'db-1', ['tag:db'])];
    const [ginaLaptop, , db] = nodes;
    const nameOf = (publicKey: string) => nodes.find((n) => n.publicKey === publicKey)?.name ?? publicKey;
    const peers = async (name: string) => {
      const reply = await api<NodeConfig>('GET', `/api/v1/nodes/${name}/config`, { token: owner.token });
      expect(reply.status).toBe(200);
      return reply.body.peers.map((p) => nameOf(p.publicKey)).sort();
    };
    // gina is in `engineering` at the IdP, hank is not.
    expect(await peers('db-1')).toEqual(['gina-laptop']);
    expect(await peers('gina-laptop')).toEqual(['db-1']);
    expect(await peers('hank-laptop')).toEqual([]);

    const dbStream = await SseClient.connect(sseUrl(server.baseUrl, db.id), db.nodeToken);
    const ginaStream = await SseClient.connect(sseUrl(server.baseUrl, ginaLaptop.id), ginaLaptop.nodeToken);
    try {
      const dbConfig = await dbStream.waitFor((f) => f.event === 'config');
      const ginaConfig = await ginaStream.waitFor((f) => f.event === 'config');

      // The IdP drops gina from `engineering`; it takes effect when she signs on again (UserGroupsChanged).
      idp.accounts.set('gina-sub', { ...idp.accounts.get('gina-sub')!, groups: ['oncall'] });
      await tokenOf('gina-sub');
      const dropped = await dbStream.waitFor((f) => f.event === 'patch');
      expect(dropped.data).toMatchObject({ baseVersion: dbConfig.data.version, version: dbConfig.data.version + 1, peersUpserted: [], peersRemoved: [ginaLaptop.publicKey] });
      const lost = await ginaStream.waitFor((f) => f.event === 'patch');
      expect(lost.data).toMatchObject({ baseVersion: ginaConfig.data.version, peersUpserted: [], peersRemoved: [db.publicKey] });
      expect(await peers('db-1')).toEqual([]);
      expect(await peers('gina-laptop')).toEqual([]);

      // And back: hank joins `engineering` at the IdP, and his node gets the db at his next sign-on.
      idp.accounts.set('hank-sub', { ...idp.accounts.get('hank-sub')!, groups: ['engineering', 'sales'] });
      await tokenOf('hank-sub');
      const added = await dbStream.waitFor((f) => f.event === 'patch' && f.data.version === dropped.data.version + 1);
      expect(added.data.peersUpserted.map((p: { publicKey: string }) => nameOf(p.publicKey))).toEqual(['hank-laptop']);
      expect(await peers('db-1')).toEqual(['hank-laptop']);
      expect(await peers('hank-laptop')).toEqual(['db-1']);
    } finally {
      await dbStream.close();
      await ginaStream.close();
    }
  });

  it('refuses an email domain outside OIDC_ALLOWED_DOMAINS with 403, appending nothing', async () => {
    idp.accounts.set('mallory-sub', { email: 'mallory@evil.example.net', email_verified: true, groups: ['engineering'] });
    const landing = await appendsNothing(() => signOn('mallory-sub'));
    expect(landing.status).toBe(403);
    expect(landing.body.message).toBe('the email domain evil.example.net may not sign in here (OIDC_ALLOWED_DOMAINS)');
    // A subdomain of an allowed domain is another domain.
    idp.accounts.set('sub-sub', { email: 'eve@eng.example.com', email_verified: true, groups: [] });
    const sub = await appendsNothing(() => signOn('sub-sub'));
    expect(sub.status).toBe(403);
    expect(sub.body.message).toBe('the email domain eng.example.com may not sign in here (OIDC_ALLOWED_DOMAINS)');
    expect(provisioned('mallory-sub')).toEqual([]);
  });

  it('refuses an email the provider has not verified with 403, appending nothing', async () => {
    idp.accounts.set('dave-sub', { email: 'dave@example.com', email_verified: false, groups: [] });
    const landing = await appendsNothing(() => signOn('dave-sub'));
    expect(landing.status).toBe(403);
    expect(landing.body.message).toBe('the OpenID provider has not verified the email dave@example.com (email_verified is not true)');
  });

  it('refuses an email held by a password account with 409 instead of merging the two, appending nothing', async () => {
    const owner = await setupTenant(server.baseUrl, 'password-co', 'erin@example.com');
    idp.accounts.set('erin-sub', { email: owner.email, email_verified: true, groups: [] });
    const landing = await appendsNothing(() => signOn('erin-sub'));
    expect(landing.status).toBe(409);
    expect(landing.body.message).toBe('this email is registered with a password: sign in with it instead of single sign-on');
  });

  describe('a callback that is not the answer to this browser\'s login', () => {
    beforeAll(() => {
      idp.accounts.set('frank-sub', { email: 'frank@example.com', email_verified: true, groups: ['engineering'] });
    });

    afterAll(() => {
      expect(provisioned('frank-sub')).toEqual([]);
    });

    it('refuses a tampered state parameter with 400', async () => {
      const landing = await appendsNothing(() => signOn('frank-sub', {
        beforeCallback: (url) => {
          // Change its last character (to one it is not: the state is random, and may end in either).
          const state = url.searchParams.get('state')!;
          url.searchParams.set('state', `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`);
        },
      }));
      expect(landing.status).toBe(400);
      expect(landing.body.message).toBe('the state parameter does not match this browser\'s sign-in: start again at GET /api/v1/auth/oidc/login');
    });

    it('refuses a login state cookie whose contents were changed (bad signature) with 400', async () => {
      const landing = await appendsNothing(() => signOn('frank-sub', {
        beforeCallback: (_url, browser) => {
          const cookie = browser.cookies.get(OIDC_STATE_COOKIE)!;
          const [payload, signature] = cookie.value.split('.');
          const state = JSON.parse(Buffer.from(payload, 'base64url').toString());
          const forged = Buffer.from(JSON.stringify({ ...state, tenant: { tenant: 'someone-elses' } })).toString('base64url');
          cookie.value = `${forged}.${signature}`;
        },
      }));
      expect(landing.status).toBe(400);
      expect(landing.body.message).toBe('the login state cookie is expired or was not issued by this control plane: start again at GET /api/v1/auth/oidc/login');
    });

    it('refuses a callback without the login state cookie (another browser, or one already used) with 400', async () => {
      let callback: URL | undefined;
      const first = await signOn('frank-sub', { beforeCallback: (url, browser) => { callback = url; browser.cookies.delete(OIDC_STATE_COOKIE); } });
      expect(first.status).toBe(400);
      expect(first.body.message).toBe('no sign-in is under way in this browser (the login state cookie is missing): start again at GET /api/v1/auth/oidc/login');
      // Replaying the provider's answer elsewhere fails the same way.
      const replay = await appendsNothing(() => new Browser().visit(callback!.href, 'frank-sub'));
      expect(replay.status).toBe(400);
    });

    it('refuses a code redeemed without its PKCE verifier (the provider says invalid_grant) with 401', async () => {
      const landing = await appendsNothing(() => signOn('frank-sub', {
        beforeCallback: (_url, browser) => {
          const cookie = browser.cookies.get(OIDC_STATE_COOKIE)!;
          const state = openState(JWT_SECRET, cookie.value, Math.floor(Date.now() / 1000))!;
          cookie.value = sealState(JWT_SECRET, { ...state, codeVerifier: 'x'.repeat(43) });
        },
      }));
      expect(landing.status).toBe(401);
      expect(landing.body.message).toMatch(/^the OpenID provider refused the sign-in: invalid_grant/);
    });

    it('refuses an ID token whose nonce is not the one this login sent with 401', async () => {
      const landing = await appendsNothing(() => signOn('frank-sub', {
        beforeCallback: (_url, browser) => {
          const cookie = browser.cookies.get(OIDC_STATE_COOKIE)!;
          const state = openState(JWT_SECRET, cookie.value, Math.floor(Date.now() / 1000))!;
          cookie.value = sealState(JWT_SECRET, { ...state, nonce: 'y'.repeat(43) });
        },
      }));
      expect(landing.status).toBe(401);
      expect(landing.body.message).toMatch(/^the sign-in could not be verified: nonce mismatch/);
    });

    it('answers the provider\'s own refusal (error=access_denied) with 401 naming it', async () => {
      const landing = await appendsNothing(() => signOn('frank-sub', {
        beforeCallback: (url) => {
          const answer = new URL(`${url.origin}${url.pathname}`);
          answer.search = new URLSearchParams({
            error: 'access_denied', error_description: 'the user said no', state: url.searchParams.get('state')!, iss: idp.issuer,
          }).toString();
          return answer;
        },
      }));
      expect(landing.status).toBe(401);
      expect(landing.body.message).toBe('the OpenID provider refused the sign-in: access_denied (the user said no)');
    });

    it('refuses an expired login state cookie with 400', async () => {
      const landing = await appendsNothing(() => signOn('frank-sub', {
        beforeCallback: (_url, browser) => {
          const cookie = browser.cookies.get(OIDC_STATE_COOKIE)!;
          const state = openState(JWT_SECRET, cookie.value, Math.floor(Date.now() / 1000))!;
          cookie.value = sealState(JWT_SECRET, { ...state, expiresAt: Math.floor(Date.now() / 1000) - 1 });
        },
      }));
      expect(landing.status).toBe(400);
      expect(landing.body.message).toBe('the login state cookie is expired or was not issued by this control plane: start again at GET /api/v1/auth/oidc/login');
    });
  });

  it('validates the login query: both tenant and tenantId, a bad id, an unknown field → 400, nothing appended', async () => {
    await appendsNothing(async () => {
      const both = await api('GET', '/api/v1/auth/oidc/login?tenant=a&tenantId=9f0b7c8e-3f5a-4d2b-9c1e-2a6b8d4f0e11');
      expect(both.status).toBe(400);
      expect(both.body.message).toEqual(['give either tenant (a name) or tenantId, not both']);
      const badId = await api('GET', '/api/v1/auth/oidc/login?tenantId=nope');
      expect(badId.status).toBe(400);
      expect(badId.body.message).toEqual([expect.stringContaining('tenantId')]);
      const unknown = await api('GET', '/api/v1/auth/oidc/login?redirect=https://evil.example.net');
      expect(unknown.status).toBe(400);
      expect(unknown.body.message).toEqual([expect.stringContaining('redirect')]);
    });
  });
});

describe('single sign-on routes without a reachable or configured provider', () => {
  it('answers 404 for both routes when OIDC_ISSUER is not set', async () => {
    const server = await startServer();
    try {
      for (const path of ['/api/v1/auth/oidc/login', '/api/v1/auth/oidc/callback?code=x&state=y']) {
        const reply = await client(server)('GET', path);
        expect(reply.status).toBe(404);
        expect(reply.body.message).toBe('single sign-on is not configured on this control plane (OIDC_ISSUER)');
      }
    } finally {
      await server.dispose();
    }
  });

  it('answers 503 with Retry-After while the provider cannot be reached, appending nothing', async () => {
    const closed = createServer();
    const issuer = await listen(closed);
    await close(closed);
    const server = await startServer({
      OIDC_ISSUER: issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_ALLOWED_DOMAINS: '*', OIDC_REDIRECT_URL: `http://127.0.0.1:1${CALLBACK_PATH}`,
    });
    try {
      const before = eventCount(server.databasePath);
      for (const path of ['/api/v1/auth/oidc/login', '/api/v1/auth/oidc/callback?code=x&state=y']) {
        const reply = await client(server)('GET', path);
        expect(reply.status).toBe(503);
        expect(reply.headers.get('retry-after')).toBe('30');
        expect(reply.body.message).toMatch(new RegExp(`^the OpenID provider \\(${issuer.replace(/[.]/g, '\\.')}\\) cannot be reached: `));
      }
      expect(eventCount(server.databasePath)).toBe(before);
    } finally {
      await server.dispose();
    }
  });
});
