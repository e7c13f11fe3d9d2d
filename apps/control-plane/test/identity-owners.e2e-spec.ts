import type { NodeConfig, NodeView, RegisteredNode } from '@meshgate/contracts';
import {
  client, countEvents, login, PASSWORD, putPolicy, setupTenant, startServer, TenantSession, TestServer, uniqueEmail, wgKey,
} from './support/server';
import { SseClient, sseUrl } from './support/sse';

jest.setTimeout(60_000);

/**
 * Owners and tags, end to end: a Tailscale-style policy with users, groups, autogroups and tagOwners; nodes
 * registered by different members and by tagged and untagged enrollment keys; who gets whom as peers, and whether
 * the policy's own tests agree with what the configs enforce.
 */
describe('identity: node owners, owner selectors and tag ownership', () => {
  let server: TestServer;
  let api: ReturnType<typeof client>;
  let owner: TenantSession;
  const users: Record<string, { id: string; email: string; token: string }> = {};
  const nodes: Record<string, RegisteredNode> = {};

  const policy = () => ({
    groups: { 'group:eng': [users.alice.email, users.bob.email], 'group:sre': [users.erin.email] },
    tagOwners: {
      'tag:web': ['group:eng'],
      'tag:db': ['group:sre', 'autogroup:admin'],
      'tag:prod': ['autogroup:admin'],
      'tag:ci': ['autogroup:owner'],
      'tag:deploy': ['tag:ci'],
    },
    acls: [
      { action: 'accept', src: ['group:eng'], proto: 'tcp', dst: ['tag:web:80,443'] },
      { action: 'accept', src: ['autogroup:admin', 'tag:web'], proto: 'tcp', dst: ['tag:db:5432'] },
      { action: 'accept', src: ['autogroup:member'], dst: ['autogroup:self:*'] },
      { action: 'accept', src: ['tag:ci'], proto: 'tcp', dst: ['tag:deploy:22'] },
      { action: 'accept', src: ['autogroup:owner'], proto: 'tcp', dst: ['*:22'] },
      { action: 'accept', src: [users.bob.email], proto: 'tcp', dst: ['tag:prod:8080'] },
    ],
    tests: [
      { src: users.alice.email, accept: ['tag:web:443'], deny: ['tag:db:5432', 'tag:deploy:22'] },
      { src: 'group:sre', accept: ['tag:db:5432'], deny: ['tag:web:443'] },
      { src: 'tag:web', accept: ['tag:db:5432'], deny: ['tag:web:22'] },
      { src: 'tag:ci', accept: ['tag:deploy:22'], deny: ['tag:db:5432'] },
      { src: owner.email, accept: ['tag:db:22', 'tag:ci:22'] },
    ],
  });

  async function member(name: string, role: 'admin' | 'member'): Promise<void> {
    const email = uniqueEmail(name);
    const registered = await api('POST', '/api/v1/auth/register', { body: { email, password: PASSWORD } });
    expect(registered.status).toBe(201);
    expect((await api('POST', '/api/v1/tenants/current/members', { token: owner.token, body: { email, role } })).status).toBe(202);
    users[name] = { id: registered.body.id, email, token: await login(server.baseUrl, email, owner.tenantId) };
  }
  async function register(token: string, name: string, tags?: string[]): Promise<RegisteredNode> {
    const reply = await api<RegisteredNode>('POST', '/api/v1/nodes', { token, body: { name, publicKey: wgKey(), ...(tags ? { tags } : {}) } });
    if (reply.status !== 201) throw new Error(`register ${name}: ${reply.status} ${reply.text}`);
    return (nodes[name] = reply.body);
  }
  const config = async (name: string) => {
    const reply = await api<NodeConfig>('GET', `/api/v1/nodes/${name}/config`, { token: owner.token });
    expect(reply.status).toBe(200);
    return reply.body;
  };
  const nameOf = (publicKey: string) => Object.values(nodes).find((n) => n.publicKey === publicKey)?.name ?? publicKey;
  const peers = async (name: string) => (await config(name)).peers.map((p) => nameOf(p.publicKey)).sort();
  /** Does `dst`'s config let `src` in on tcp `port`? The peer must be there and a firewall rule must name its group. */
  async function enforces(src: string, dst: string, port: number): Promise<boolean> {
    const cfg = await config(dst);
    const peer = cfg.peers.find((p) => p.publicKey === nodes[src].publicKey);
    if (!peer) return false;
    return cfg.firewall.some((r) => r.proto === 'tcp' && r.srcGroups.includes(peer.group!) && (r.ports === undefined || r.ports.split(',').some((part) => {
      const [a, b = a] = part.split('-').map(Number);
      return a <= port && port <= b;
    })));
  }

  beforeAll(async () => {
    server = await startServer();
    api = client(server);
    owner = await setupTenant(server.baseUrl, 'owners');
    users.owner = { id: owner.userId, email: owner.email, token: owner.token };
    await member('alice', 'member');
    await member('bob', 'member');
    await member('erin', 'admin');
    await member('mallory', 'member');
    // The policy comes first: until tagOwners says who owns a tag, nobody may put it on a node.
    const put = await putPolicy(server.baseUrl, owner.token, policy());
    expect(put.status).toBe(200);

    await register(owner.token, 'olivia-laptop');
    await register(users.alice.token, 'alice-laptop');
    await register(users.alice.token, 'alice-phone');
    await register(users.alice.token, 'web-1', ['tag:web']); // alice is in group:eng
    await register(users.bob.token, 'bob-laptop');
    await register(users.erin.token, 'erin-laptop');
    await register(users.erin.token, 'db-1', ['db']); // the bare name is tag:db
    // A tagged key (only an owner may hand out tag:ci): its nodes are owned by their tags.
    const ciKey = await api('POST', '/api/v1/enrollment-keys', { token: owner.token, body: { reusable: true, tags: ['tag:ci'] } });
    expect(ciKey.status).toBe(201);
    await register(ciKey.body.key, 'ci-1');
    await register(ciKey.body.key, 'deploy-1', ['tag:deploy']); // tag:ci owns tag:deploy, so a tag:ci key may add it
    // An untagged key: its node is owned by whoever created the key.
    const erinKey = await api('POST', '/api/v1/enrollment-keys', { token: users.erin.token, body: {} });
    expect(erinKey.status).toBe(201);
    await register(erinKey.body.key, 'erin-server');
    // The same document again: its tests now run against the real nodes, and pass.
    const again = await putPolicy(server.baseUrl, owner.token, policy());
    expect(again.status).toBe(200);
    expect(again.body.version).toBe(2);
  });

  afterAll(async () => {
    await server.dispose();
  });

  it('records owners: a user\u2019s node is theirs, an untagged key\u2019s is its creator\u2019s, a tagged key\u2019s nobody\u2019s; tags in tag: syntax', async () => {
    const view = async (name: string) => (await api<NodeView>('GET', `/api/v1/nodes/${name}`, { token: owner.token })).body;
    expect(await view('alice-laptop')).toMatchObject({ name: 'alice-laptop', owner: users.alice.id, tags: [] });
    expect(await view('db-1')).toMatchObject({ owner: users.erin.id, tags: ['tag:db'] });
    expect(nodes['db-1'].tags).toEqual(['tag:db']);
    expect(await view('ci-1')).toMatchObject({ owner: null, tags: ['tag:ci'] });
    expect(await view('deploy-1')).toMatchObject({ owner: null, tags: ['tag:ci', 'tag:deploy'] });
    expect(await view('erin-server')).toMatchObject({ owner: users.erin.id, tags: [] });
    // By id as well as by name.
    expect((await api<NodeView>('GET', `/api/v1/nodes/${nodes['db-1'].id}`, { token: owner.token })).body.name).toBe('db-1');
    const keys = await api('GET', '/api/v1/enrollment-keys', { token: owner.token });
    expect(keys.body.map((k: { tags: string[]; createdBy: string }) => [k.tags, k.createdBy])).toEqual(expect.arrayContaining([[['tag:ci'], owner.userId], [[], users.erin.id]]));
  });

  it('gives each node the peers its owner and tags call for', async () => {
    const everyone = Object.keys(nodes).sort();
    expect(await peers('olivia-laptop')).toEqual(everyone.filter((n) => n !== 'olivia-laptop')); // autogroup:owner → *:22
    expect(await peers('alice-laptop')).toEqual(['alice-phone', 'olivia-laptop', 'web-1']); // self, group:eng → tag:web
    expect(await peers('bob-laptop')).toEqual(['olivia-laptop', 'web-1']); // no self peers: bob has one node
    expect(await peers('erin-laptop')).toEqual(['db-1', 'erin-server', 'olivia-laptop']); // autogroup:admin → tag:db; self
    expect(await peers('erin-server')).toEqual(['db-1', 'erin-laptop', 'olivia-laptop']); // the key's creator's node
    expect(await peers('db-1')).toEqual(['erin-laptop', 'erin-server', 'olivia-laptop', 'web-1']);
    expect(await peers('web-1')).toEqual(['alice-laptop', 'alice-phone', 'bob-laptop', 'db-1', 'olivia-laptop']);
    expect(await peers('ci-1')).toEqual(['deploy-1', 'olivia-laptop']);
    expect(await peers('deploy-1')).toEqual(['ci-1', 'olivia-laptop']);
  });

  it('enforces what the policy\u2019s own tests say, node by node', async () => {
    // tests[0]: alice
    for (const laptop of ['alice-laptop', 'alice-phone']) {
      expect(await enforces(laptop, 'web-1', 443)).toBe(true);
      expect(await enforces(laptop, 'db-1', 5432)).toBe(false);
      expect(await enforces(laptop, 'deploy-1', 22)).toBe(false);
    }
    // tests[1]: group:sre (erin's nodes)
    for (const n of ['erin-laptop', 'erin-server']) {
      expect(await enforces(n, 'db-1', 5432)).toBe(true);
      expect(await enforces(n, 'web-1', 443)).toBe(false);
    }
    // tests[2]: tag:web; tests[3]: tag:ci; tests[4]: the owner
    expect(await enforces('web-1', 'db-1', 5432)).toBe(true);
    expect(await enforces('ci-1', 'deploy-1', 22)).toBe(true);
    expect(await enforces('ci-1', 'db-1', 5432)).toBe(false);
    expect(await enforces('olivia-laptop', 'db-1', 22)).toBe(true);
    expect(await enforces('olivia-laptop', 'ci-1', 22)).toBe(true);
    // And a user rule: bob@ → tag:prod:8080 names no node yet, so bob reaches nothing on 8080.
    expect(await enforces('bob-laptop', 'web-1', 8080)).toBe(false);
  });

  it('refuses a tag the member does not own: 403 naming it, nothing appended', async () => {
    const before = await countEvents(server);
    const reply = await api('POST', '/api/v1/nodes', { token: users.mallory.token, body: { name: 'mallory-web', publicKey: wgKey(), tags: ['tag:web'] } });
    expect(reply.status).toBe(403);
    expect(reply.body.message).toMatch(/tag:web/);
    const db = await api('POST', '/api/v1/nodes', { token: users.alice.token, body: { name: 'alice-db', publicKey: wgKey(), tags: ['web', 'db'] } });
    expect(db.status).toBe(403);
    expect(db.body.message).toMatch(/^tag:db:/);
    const undeclared = await api('POST', '/api/v1/nodes', { token: owner.token, body: { name: 'x-1', publicKey: wgKey(), tags: ['tag:nowhere'] } });
    expect(undeclared.status).toBe(403);
    expect(undeclared.body.message).toMatch(/tag:nowhere/);
    // A key may carry only tags its creator owns; a tagged key may add only tags its tags own.
    const key = await api('POST', '/api/v1/enrollment-keys', { token: users.erin.token, body: { tags: ['tag:ci'] } });
    expect(key.status).toBe(403);
    expect(key.body.message).toMatch(/tag:ci/);
    expect(await countEvents(server)).toBe(before);
  });

  it('lets a tagged key add only tags its own tags own', async () => {
    const dbKey = await api('POST', '/api/v1/enrollment-keys', { token: users.erin.token, body: { tags: ['tag:db'] } });
    expect(dbKey.status).toBe(201);
    const before = await countEvents(server);
    const reply = await api('POST', '/api/v1/nodes', { token: dbKey.body.key, body: { name: 'db-2', publicKey: wgKey(), tags: ['tag:deploy'] } });
    expect(reply.status).toBe(403);
    expect(reply.body.message).toMatch(/tag:deploy/);
    expect(await countEvents(server)).toBe(before);
  });

  it('retags by an admin under tagOwners, and the change reaches every affected config over SSE', async () => {
    const web = await SseClient.connect(sseUrl(server.baseUrl, nodes['web-1'].id), nodes['web-1'].nodeToken);
    const db = await SseClient.connect(sseUrl(server.baseUrl, nodes['db-1'].id), nodes['db-1'].nodeToken);
    try {
      await web.waitFor((f) => f.event === 'config');
      await db.waitFor((f) => f.event === 'config');
      // bob-laptop becomes tag:prod: no longer a group:eng node (tagged nodes are their tags'), so web-1 loses it.
      const reply = await api<NodeView>('PUT', '/api/v1/nodes/bob-laptop/tags', { token: users.erin.token, body: { tags: ['prod'] } });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ name: 'bob-laptop', tags: ['tag:prod'], owner: users.bob.id });
      const patch = await web.waitFor((f) => f.event === 'patch' && f.data.peersRemoved.includes(nodes['bob-laptop'].publicKey));
      expect(patch.data.peersUpserted).toEqual([]);
      expect(await peers('bob-laptop')).toEqual(['olivia-laptop']);
      // erin-server (by id) becomes tag:db: no longer an admin's node, so db-1 drops it…
      const moved = await api('PUT', `/api/v1/nodes/${nodes['erin-server'].id}/tags`, { token: users.erin.token, body: { tags: ['tag:db'] } });
      expect(moved.status).toBe(200);
      await db.waitFor((f) => f.event === 'patch' && f.data.peersRemoved.includes(nodes['erin-server'].publicKey));
      // …and web-1 (tag:web → tag:db:5432) gets it.
      await web.waitFor((f) => f.event === 'patch' && f.data.peersUpserted.some((p: { publicKey: string }) => p.publicKey === nodes['erin-server'].publicKey));
      expect(await peers('erin-laptop')).toEqual(['db-1', 'erin-server', 'olivia-laptop']); // now autogroup:admin → tag:db, not self
      expect(await peers('db-1')).toEqual(['erin-laptop', 'olivia-laptop', 'web-1']);
    } finally {
      await web.close();
      await db.close();
    }
  });

  it('refuses retags outside tagOwners (403 naming the tag), by members (403), and untagging an ownerless node; nothing appended', async () => {
    const before = await countEvents(server);
    const unowned = await api('PUT', '/api/v1/nodes/alice-laptop/tags', { token: users.erin.token, body: { tags: ['tag:ci'] } });
    expect(unowned.status).toBe(403);
    expect(unowned.body.message).toMatch(/tag:ci/);
    const byMember = await api('PUT', '/api/v1/nodes/alice-laptop/tags', { token: users.alice.token, body: { tags: ['tag:web'] } });
    expect(byMember.status).toBe(403);
    const ownerless = await api('PUT', '/api/v1/nodes/ci-1/tags', { token: owner.token, body: { tags: [] } });
    expect(ownerless.status).toBe(400);
    expect(ownerless.body.message).toMatch(/^tags: /);
    expect(await countEvents(server)).toBe(before);
  });

  it('moves a member\u2019s nodes when their role changes: promoted to admin, bob\u2019s nodes reach tag:db', async () => {
    await register(users.bob.token, 'bob-desktop');
    expect(await peers('bob-desktop')).toEqual(['bob-laptop', 'olivia-laptop', 'web-1']); // bob@ → tag:prod:8080 (bob-laptop's now)
    expect(await enforces('bob-desktop', 'bob-laptop', 8080)).toBe(true);
    const promoted = await api('PATCH', `/api/v1/tenants/current/members/${users.bob.id}`, { token: owner.token, body: { role: 'admin' } });
    expect(promoted.status).toBe(200);
    expect(await peers('bob-desktop')).toEqual(['bob-laptop', 'db-1', 'erin-server', 'olivia-laptop', 'web-1']);
    expect(await enforces('bob-desktop', 'db-1', 5432)).toBe(true);
    const demoted = await api('PATCH', `/api/v1/tenants/current/members/${users.bob.id}`, { token: owner.token, body: { role: 'member' } });
    expect(demoted.status).toBe(200);
    expect(await enforces('bob-desktop', 'db-1', 5432)).toBe(false);
  });

  it('takes a removed member\u2019s nodes out of everything their identity gave them', async () => {
    const web = await SseClient.connect(sseUrl(server.baseUrl, nodes['web-1'].id), nodes['web-1'].nodeToken);
    try {
      await web.waitFor((f) => f.event === 'config');
      const removed = await api('DELETE', `/api/v1/tenants/current/members/${users.alice.id}`, { token: owner.token });
      expect(removed.status).toBe(204);
      for (const laptop of ['alice-laptop', 'alice-phone']) {
        await web.waitFor((f) => f.event === 'patch' && f.data.peersRemoved.includes(nodes[laptop].publicKey));
      }
      expect(await peers('alice-laptop')).toEqual(['olivia-laptop']); // no self, no group:eng; the owner's *:22 still
      expect(await peers('web-1')).toEqual(['bob-desktop', 'db-1', 'erin-server', 'olivia-laptop']); // a tagged node stays its tags'
      // The policy's tests still hold (alice@ now has no node: her stand-in has no role, and the accept on web still holds for
      // a group:eng member), so the same document is still accepted.
      expect((await putPolicy(server.baseUrl, owner.token, policy())).status).toBe(200);
    } finally {
      await web.close();
    }
  });

  it('answers 404 for another tenant\u2019s nodes, by id or by name', async () => {
    const other = await setupTenant(server.baseUrl, 'elsewhere');
    const id = nodes['db-1'].id;
    for (const ref of [id, 'db-1']) {
      expect((await api('GET', `/api/v1/nodes/${ref}`, { token: other.token })).status).toBe(404);
      expect((await api('GET', `/api/v1/nodes/${ref}/config`, { token: other.token })).status).toBe(404);
      expect((await api('PUT', `/api/v1/nodes/${ref}/tags`, { token: other.token, body: { tags: [] } })).status).toBe(404);
      expect((await api('DELETE', `/api/v1/nodes/${ref}`, { token: other.token })).status).toBe(404);
    }
    expect((await api('GET', '/api/v1/nodes/no-such-node', { token: owner.token })).status).toBe(404);
  });

  it('refuses bad input with 400 naming the field or JSON path, and appends nothing', async () => {
    const before = await countEvents(server);
    const retag = (body: unknown, ref = 'db-1') => api('PUT', `/api/v1/nodes/${ref}/tags`, { token: owner.token, body });
    for (const [body, field] of [
      [{}, 'tags'], [{ tags: 'tag:db' }, 'tags'], [{ tags: ['Tag:DB'] }, 'tag'], [{ tags: ['tag:'] }, 'tag'], [{ tags: [1] }, 'tag'],
      [{ tags: ['tag:db'], extra: true }, 'extra'], [{ tags: Array.from({ length: 33 }, (_, i) => `t${i}`) }, 'tags'],
    ] as const) {
      const reply = await retag(body);
      expect([reply.status, JSON.stringify(reply.body.message)]).toEqual([400, expect.stringContaining(field)]);
    }
    expect((await retag({ tags: [] }, 'Not_A_Name')).status).toBe(400);
    const undeclared = await putPolicy(server.baseUrl, owner.token, { ...policy(), acls: [{ action: 'accept', src: ['tag:nowhere'], dst: ['tag:db:0'] }] });
    expect(undeclared.status).toBe(400);
    expect(undeclared.body.message).toEqual([
      'acls[0].src[0]: tag:nowhere is not declared in "tagOwners"',
      'acls[0].dst[0]: port 0 is not a port: use 1 to 65535, or "*"',
    ]);
    const owners = await putPolicy(server.baseUrl, owner.token, { ...policy(), tagOwners: { 'tag:web': ['tag:ghost'] } });
    expect(owners.status).toBe(400);
    expect(owners.body.message).toEqual(expect.arrayContaining(['tagOwners["tag:web"][0]: tag:ghost is not declared in "tagOwners"']));
    expect(await countEvents(server)).toBe(before);
  });
});
