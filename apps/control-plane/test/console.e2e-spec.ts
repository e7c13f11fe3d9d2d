/**
 * The web console end to end: built with the project's build script, served by a real control plane (real SQLite),
 * driven in headless Chromium (Debian's, through playwright-core). Three nodes enroll with enrollment keys and send
 * heartbeats with handshakes; the user logs in, sees them and their peerings, changes the policy in the editor (a
 * failing policy test shown inline first, then a preview), saves, and watches a peering go. Then 1,000 nodes, to
 * measure the first render of the graph. Screenshots go to test-artifacts/console/ (git-ignored).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserContext, chromium, Page } from 'playwright-core';
import type { EnrollmentKeyCreated, NodeConfig, RegisteredNode, TopologyPage } from '@meshgate/contracts';
import { client, PASSWORD, Reply, setupTenant, startServer, tagOwners, TenantSession, TestServer, wgKey } from './support/server';

jest.setTimeout(240_000);

const ROOT = join(__dirname, '..', '..', '..');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'console');
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

/** web reaches db on 5432; ops reaches both on 22 — unless `opsToDb` is false (the edit the test makes in the editor). */
const policyText = (opsToDb: boolean) => `// MeshGate policy (HuJSON)
{
  "tagOwners": ${JSON.stringify(tagOwners('web', 'db', 'ops'))},
  "acls": [
    {"action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432"]},
    {"action": "accept", "src": ["tag:ops"], "dst": ["tag:web:22"${opsToDb ? ', "tag:db:22"' : ''}]},
  ],
}
`;

describe('web console', () => {
  let server: TestServer;
  let api: ReturnType<typeof client>;
  let owner: TenantSession;
  let consoleDir: string;
  let profileDir: string;
  let context: BrowserContext | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  const nodes: Record<string, RegisteredNode> = {};

  const enroll = async (name: string, tag: string): Promise<RegisteredNode> => {
    const key = await api<EnrollmentKeyCreated>('POST', '/api/v1/enrollment-keys', { token: owner.token, body: { tags: [tag] } });
    expect(key.status).toBe(201);
    const node = await api<RegisteredNode>('POST', '/api/v1/nodes', {
      token: key.body.key, body: { name, publicKey: wgKey(), endpoint: `198.51.100.${Object.keys(nodes).length + 1}:51820` },
    });
    expect(node.status).toBe(201);
    return node.body;
  };

  /** A heartbeat reporting on every peer of the node's current config: a fresh handshake, except with `silent` peers. */
  const heartbeat = async (node: RegisteredNode, silent: RegisteredNode[] = []) => {
    const config = await api<NodeConfig>('GET', `/api/v1/nodes/${node.id}/config`, { token: node.nodeToken });
    expect(config.status).toBe(200);
    const now = new Date().toISOString();
    const quiet = new Set(silent.map((n) => n.publicKey));
    const reply = await api('POST', `/api/v1/nodes/${node.id}/heartbeat`, {
      token: node.nodeToken,
      body: { peers: config.body.peers.map((p) => ({ publicKey: p.publicKey, ...(quiet.has(p.publicKey) ? {} : { lastHandshakeAt: now }), rxBytes: 1000, txBytes: 500 })) },
    });
    expect(reply.status).toBe(202);
  };

  const signIn = async (email: string, tenant: string) => {
    await page.goto(`${server.baseUrl}/`);
    await page.waitForURL('**/login');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Tenant', { exact: true }).fill(tenant);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.baseUrl}/`);
  };
  const edgeCount = () => page.locator('svg.mesh-graph line[data-edge]').count();
  const edgeId = (x: RegisteredNode, y: RegisteredNode) => [x.id, y.id].sort().join('~');

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    consoleDir = mkdtempSync(join(tmpdir(), 'meshgate-console-'));
    profileDir = mkdtempSync(join(tmpdir(), 'meshgate-chromium-'));
    // The build `npm run build` runs (without its typecheck), into a directory of this test's own.
    execFileSync(process.execPath, [join(ROOT, 'apps/console/build.mjs'), consoleDir], { stdio: 'pipe' });
    server = await startServer({ CONSOLE_DIR: consoleDir });
    api = client(server);
    owner = await setupTenant(server.baseUrl, 'acme');
    const put = await api('PUT', '/api/v1/policies', { token: owner.token, raw: policyText(true), headers: { 'content-type': 'application/hujson' } });
    expect(put.status).toBe(200);
    nodes.web = await enroll('web-1', 'tag:web');
    nodes.db = await enroll('db-1', 'tag:db');
    nodes.ops = await enroll('ops-1', 'tag:ops');
    for (const node of Object.values(nodes)) await heartbeat(node);

    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 900 },
    });
    page = context.pages()[0] ?? await context.newPage();
    // CSP violations and script errors surface here: the test expects none.
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) pageErrors.push(message.text());
    });
  });

  afterAll(async () => {
    try {
      await context?.close();
    } finally {
      await server?.dispose();
      for (const dir of [consoleDir, profileDir]) if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is served at / and its pages, with a strict content security policy, leaving the API, /docs, /health and 404s as they were', async () => {
    for (const path of ['/', '/nodes', '/policy', '/keys', '/audit', '/login', '/auth/callback']) {
      const reply = await fetch(`${server.baseUrl}${path}`);
      expect([path, reply.status]).toEqual([path, 200]);
      expect(reply.headers.get('content-type')).toMatch(/^text\/html/);
      expect(reply.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'/);
      expect(reply.headers.get('x-content-type-options')).toBe('nosniff');
      expect(reply.headers.get('x-frame-options')).toBe('DENY');
      expect(await reply.text()).toContain('<script defer src="/assets/main.js"></script>');
    }
    const script = await fetch(`${server.baseUrl}/assets/main.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect(script.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    // Nothing from elsewhere: the bundle names no other origin to load from.
    expect(await script.text()).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    // No single sign-on configured: the page says so (the login form then shows no SSO link).
    expect(await (await fetch(`${server.baseUrl}/`)).text()).toContain('<meta name="meshgate-sso" content="">');

    expect((await api('GET', '/health')).status).toBe(200);
    expect((await fetch(`${server.baseUrl}/docs`)).status).toBe(200);
    expect((await api('GET', '/api/v1/nodes', { token: owner.token })).status).toBe(200);
    expect((await api('GET', '/api/v1/nodes')).status).toBe(401);
    for (const path of ['/no-such-page', '/api/v1/no-such-route', '/assets/no-such-file.js', '/nodes/extra']) {
      const reply = await api('GET', path);
      expect([path, reply.status]).toEqual([path, 404]);
      expect(reply.headers.get('content-type')).toMatch(/application\/json/);
    }
    expect((await api('POST', '/', { body: {} })).status).toBe(404);
  });

  it('logs in, draws the three nodes and their three peerings with live handshakes, and lists the nodes', async () => {
    await signIn(owner.email, 'acme');
    await page.locator('svg.mesh-graph [data-node]').nth(2).waitFor();
    expect(await page.locator('svg.mesh-graph [data-node]').count()).toBe(3);
    expect(await page.locator('svg.mesh-graph .node.status-online').count()).toBe(3);
    expect(await edgeCount()).toBe(3);
    for (const [x, y] of [[nodes.web, nodes.db], [nodes.ops, nodes.web], [nodes.ops, nodes.db]]) {
      await expect(page.locator(`line[data-edge="${edgeId(x, y)}"]`).getAttribute('class')).resolves.toContain('state-up');
    }
    await expect(page.locator('.summary').first().textContent()).resolves.toBe('3 nodes · 3 peerings · 3 up');

    // Keyboard: the graph is one tab stop, arrows walk the nodes, Enter opens one.
    await page.locator('svg.mesh-graph .node[tabindex="0"]').focus();
    await page.keyboard.press('ArrowRight');
    // (Page-side code as text: this project's types have no DOM.)
    const focused = await page.evaluate<string | null>('document.activeElement && document.activeElement.getAttribute("aria-label")');
    expect(focused).toMatch(/^\S+-1, online, tag:\w+, 2 peerings$/);
    await page.keyboard.press('Enter');
    await expect(page.getByRole('complementary', { name: 'Selected node' }).getByRole('heading', { level: 2 }).textContent())
      .resolves.toBe(focused!.split(',')[0]);
    await expect(page.locator('.node-details .peerings li').count()).resolves.toBe(2);

    await page.getByRole('link', { name: 'Nodes' }).click();
    await page.waitForURL('**/nodes');
    await page.locator('table.data tbody tr').nth(2).waitFor();
    const names = await page.locator('table.data tbody th[scope="row"]').allTextContents();
    expect(names).toEqual(['db-1', 'ops-1', 'web-1']);
    await page.getByLabel('Filter nodes').fill('tag:ops');
    await expect(page.locator('table.data tbody tr').count()).resolves.toBe(1);
  });

  it('shows failing policy tests inline, previews a change, saves it with If-Match, and the mesh loses the peering', async () => {
    await page.getByRole('link', { name: 'Policy' }).click();
    await page.waitForURL('**/policy');
    const editor = page.getByLabel(/^Policy \(HuJSON/);
    await expect(editor.inputValue()).resolves.toContain('// MeshGate policy (HuJSON)'); // the text as written
    const save = page.getByRole('button', { name: 'Save' });

    // A test that the edited policy fails: refused, listed with the line it is on; Save stays off.
    const failing = policyText(false).replace(/\n}\n$/, `\n  "tests": [\n    {"src": "tag:ops", "accept": ["tag:db:22"]},\n  ],\n}\n`);
    await editor.fill(failing);
    await page.getByRole('button', { name: 'Preview' }).click();
    const problems = page.locator('#policy-problems');
    await problems.getByRole('heading', { name: 'Failing policy tests' }).waitFor();
    await expect(problems.locator('li').first().textContent()).resolves.toMatch(/^line 9 tests\[0\]\.accept\[0\]: tag:ops .*should reach tag:db:22/);
    await expect(editor.getAttribute('aria-invalid')).resolves.toBe('true');
    expect(await save.isDisabled()).toBe(true);

    // The change itself: the preview shows what ops-1 loses, then Save applies it.
    await editor.fill(policyText(false));
    await page.getByRole('button', { name: 'Preview' }).click();
    const preview = page.getByRole('region', { name: 'Preview' });
    await preview.getByRole('table').filter({ hasText: 'Lost' }).waitFor();
    await expect(preview.getByRole('table').filter({ hasText: 'Lost' }).locator('tbody tr').allTextContents()).resolves.toEqual([expect.stringMatching(/^ops-1db-1.*\btcp:22\b/)]);
    await expect(preview.textContent()).resolves.toContain('2 nodes would get a new config');
    expect(await save.isDisabled()).toBe(false);
    await save.click();
    await page.getByText('Saved: version 2').waitFor();
    const stored = await api('GET', '/api/v1/policies', { token: owner.token, headers: { accept: 'application/hujson' } });
    expect(stored.text).toBe(policyText(false));

    await page.getByRole('link', { name: 'Mesh' }).click();
    await page.waitForURL(`${server.baseUrl}/`);
    await page.locator('svg.mesh-graph').waitFor();
    await expect(page.locator(`line[data-edge="${edgeId(nodes.ops, nodes.db)}"]`).count()).resolves.toBe(0);
    expect(await edgeCount()).toBe(2);
    // ops-1 may open connections to web-1, not the other way: drawn as a one-way peering.
    await expect(page.locator(`line[data-edge="${edgeId(nodes.ops, nodes.web)}"]`).getAttribute('class')).resolves.toContain('reach-one-way');

    // Live state: both ends of ops~web now report it without a handshake. The open graph picks it up on its next poll
    // and restyles that line in place (the same element), leaving web~db up.
    const opsWeb = `line[data-edge="${edgeId(nodes.ops, nodes.web)}"]`;
    await page.evaluate(`document.querySelector('${opsWeb}').dataset.probe = 'same element'`);
    await heartbeat(nodes.ops, [nodes.web]);
    await heartbeat(nodes.web, [nodes.ops]);
    await page.locator(`${opsWeb}.state-down[data-probe="same element"]`).waitFor({ timeout: 15_000 });
    await expect(page.locator(`line[data-edge="${edgeId(nodes.web, nodes.db)}"]`).getAttribute('class')).resolves.toContain('state-up');
    await expect(page.locator('.summary').first().textContent()).resolves.toBe('3 nodes · 2 peerings · 1 up');
    await page.screenshot({ path: join(ARTIFACTS, 'mesh-after-policy-change.png'), fullPage: true });
  });

  it('creates, lists and revokes enrollment keys, and pages through the audit log', async () => {
    await page.getByRole('link', { name: 'Enrollment keys' }).click();
    await page.waitForURL('**/keys');
    await page.locator('table.data tbody tr').nth(2).waitFor();
    await page.getByLabel('Reusable').check();
    await page.getByLabel('Tags').fill('tag:web');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.getByLabel('New enrollment key').inputValue();
    expect(secret).toMatch(/^mgk\./);
    const id = secret.split('.')[1];
    await page.locator(`tr[data-key="${id}"]`).waitFor();
    expect(await page.locator('table.data tbody tr').count()).toBe(4);
    // The key works: a node enrolls with it.
    expect((await api('POST', '/api/v1/nodes', { token: secret, body: { name: 'web-2', publicKey: wgKey() } })).status).toBe(201);

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: `Revoke key ${id}` }).click();
    await page.locator(`tr[data-key="${id}"] td`, { hasText: 'revoked' }).waitFor();
    expect((await api('POST', '/api/v1/nodes', { token: secret, body: { name: 'web-3', publicKey: wgKey() } })).status).toBe(401);

    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.waitForURL('**/audit');
    await page.locator('table.data tbody tr').first().waitFor();
    // Newest first: the revocation just made.
    await expect(page.locator('table.data tbody tr').first().locator('th').textContent()).resolves.toBe('EnrollmentKeyRevoked');
    await page.getByLabel('Event type').fill('PolicyUpdated');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('Page 1: 2 entries (the oldest)').waitFor();
    await expect(page.locator('table.data tbody th').allTextContents()).resolves.toEqual(['PolicyUpdated', 'PolicyUpdated']);
    // Paged by the server's cursor: ten a page, "Older" goes on below the last one shown.
    await page.getByLabel('Event type').fill('');
    await page.getByLabel('Per page').selectOption('10');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('Page 1: 10 entries').waitFor();
    const firstPage = await page.locator('table.data tbody td:first-child').allTextContents();
    await page.getByRole('button', { name: 'Older' }).click();
    await page.getByText(/^Page 2: \d+ entr/).waitFor();
    const secondPage = await page.locator('table.data tbody td:first-child').allTextContents();
    expect(Math.max(...secondPage.map(Number))).toBeLessThan(Math.min(...firstPage.map(Number)));
    await page.getByRole('button', { name: 'Newest' }).click();
    await page.getByText(/^Page 1:/).waitFor();
    expect(pageErrors).toEqual([]);
  });

  it('draws 1,000 nodes (measuring the first render)', async () => {
    const big = await setupTenant(server.baseUrl, 'big');
    const put = await api('PUT', '/api/v1/policies', {
      token: big.token,
      body: { tagOwners: tagOwners('hub', 'edge'), acls: [{ action: 'accept', src: ['tag:edge'], dst: ['tag:hub:443'] }] },
    });
    expect(put.status).toBe(200);
    const names = Array.from({ length: 1000 }, (_, i) => (i < 10 ? `hub-${i}` : `edge-${String(i).padStart(4, '0')}`));
    const registerStarted = Date.now();
    for (let i = 0; i < names.length; i += 100) {
      const replies = await Promise.all(names.slice(i, i + 100).map((name) => api('POST', '/api/v1/nodes', {
        token: big.token, body: { name, publicKey: wgKey(), tags: [name.startsWith('hub') ? 'tag:hub' : 'tag:edge'] },
      })));
      expect(replies.map((r) => r.status)).toEqual(replies.map(() => 201));
    }
    const registerMs = Date.now() - registerStarted;

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/login');
    await signIn(big.email, 'big');
    const started = Date.now();
    await page.goto(`${server.baseUrl}/`);
    const graph = page.locator('svg.mesh-graph[data-painted-ms]');
    await graph.waitFor({ timeout: 60_000 });
    const wallMs = Date.now() - started;
    expect(await page.locator('svg.mesh-graph [data-node]').count()).toBe(1000);
    await expect(page.locator('.summary').first().textContent()).resolves.toBe('1000 nodes · 9900 peerings · 0 up');
    // So many peerings are drawn as one path per kind (here: all one-way, none reported), every one of them.
    let drawn = 0;
    for (const path of await page.locator('svg.mesh-graph path.merged').all()) drawn += Number(await path.getAttribute('data-edges'));
    expect(drawn).toBe(990 * 10);
    const loadMs = Number(await graph.getAttribute('data-load-ms'));
    const renderMs = Number(await graph.getAttribute('data-render-ms'));
    const paintedMs = Number(await graph.getAttribute('data-painted-ms'));
    // What of the fetch is the server's: the same two pages, read here.
    const fetchStarted = Date.now();
    let bytes = 0;
    for (let cursor: string | null = null, first = true; first || cursor !== null; first = false) {
      const reply: Reply<TopologyPage> = await api<TopologyPage>('GET', `/api/v1/topology?limit=500${cursor ? `&cursor=${cursor}` : ''}`, { token: big.token });
      bytes += reply.text.length;
      cursor = reply.body.nextCursor;
    }
    const serverMs = Date.now() - fetchStarted;
    await page.screenshot({ path: join(ARTIFACTS, 'mesh-1000-nodes.png') });
    process.stdout.write(`console first render at 1,000 nodes / 9,900 peerings: ${wallMs} ms from navigation to graph `
      + `(topology fetch ${loadMs} ms, then layout + SVG built ${renderMs} ms, painted ${paintedMs} ms); the two topology pages `
      + `alone: ${serverMs} ms, ${(bytes / 1e6).toFixed(1)} MB; registering the nodes took ${registerMs} ms\n`);
    expect(pageErrors).toEqual([]);
  });
});
