import { CompiledPolicy } from '../policy/evaluate';
import { parsePolicyFile } from '../policy/policy-file';
import { runPolicyTests } from '../policy/policy-tests';
import { Topology, TopologyNode } from './topology';

/**
 * Owner selectors as Tailscale means them, through the topology (peers are what a config enforces): given nodes
 * with owners (email and tenant role while the owner is a member), when a policy names users, groups or autogroups,
 * then these are the peers.
 */
function strict(doc: unknown): CompiledPolicy {
  const parsed = parsePolicyFile(doc, { strict: true });
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return new CompiledPolicy(parsed.policy);
}

let n = 0;
const node = (name: string, over: Partial<TopologyNode> = {}): TopologyNode => ({
  id: name, name, tags: [], publicKey: `pk-${name}`, address: `100.64.0.${++n}`, endpoint: null, listenPort: 51820, ...over,
});
const alice = (name: string, over: Partial<TopologyNode> = {}) => node(name, { user: 'alice@example.com', role: 'member', ...over });
const bob = (name: string, over: Partial<TopologyNode> = {}) => node(name, { user: 'bob@example.com', role: 'member', ...over });
const erin = (name: string, over: Partial<TopologyNode> = {}) => node(name, { user: 'erin@example.com', role: 'admin', ...over });
const frank = (name: string, over: Partial<TopologyNode> = {}) => node(name, { user: 'frank@example.com', role: 'owner', ...over });

const TAGS = { 'tag:db': ['autogroup:admin'], 'tag:web': ['autogroup:admin'], 'tag:ci': ['autogroup:owner'] };
const toDb = (src: string[]) => strict({ tagOwners: TAGS, acls: [{ action: 'accept', src, dst: ['tag:db:5432'] }] });

function mesh(policy: CompiledPolicy, nodes: TopologyNode[]): Topology {
  const t = new Topology(policy);
  for (const x of nodes) t.addNode(x);
  return t;
}
const peersOf = (t: Topology, id: string) => t.peersOf(id).map((p) => p.publicKey.slice(3)).sort();

/** Everybody below, and a database every selector is asked about. */
const cast = () => [
  alice('alice-laptop'), alice('alice-phone'), bob('bob-laptop'), erin('erin-laptop'), frank('frank-laptop'),
  alice('alice-ci', { tags: ['tag:ci'] }), // alice's, but tagged: owned by its tag
  node('old-laptop'), // registered before owners were recorded, or its owner left the tenant
  node('db-1', { tags: ['tag:db'] }),
];

describe('owner selectors', () => {
  it('given user@domain, then only that user\u2019s untagged nodes are matched (not their tagged ones, not others)', () => {
    const t = mesh(toDb(['alice@example.com']), cast());
    expect(peersOf(t, 'db-1')).toEqual(['alice-laptop', 'alice-phone']);
  });

  it('given a domainless user ("alice@", headscale\u2019s spelling), then it names the email\u2019s local part', () => {
    const t = mesh(toDb(['alice@']), cast());
    expect(peersOf(t, 'db-1')).toEqual(['alice-laptop', 'alice-phone']);
  });

  it('given emails in another case, then they still name the user (emails are case-insensitive)', () => {
    const t = mesh(toDb(['Alice@Example.com']), cast());
    expect(peersOf(t, 'db-1')).toEqual(['alice-laptop', 'alice-phone']);
  });

  it('given group:x, then its members\u2019 untagged nodes are matched', () => {
    const policy = strict({ groups: { 'group:eng': ['alice@example.com', 'bob@'] }, tagOwners: TAGS, acls: [{ action: 'accept', src: ['group:eng'], dst: ['tag:db:5432'] }] });
    expect(peersOf(mesh(policy, cast()), 'db-1')).toEqual(['alice-laptop', 'alice-phone', 'bob-laptop']);
  });

  it('given autogroup:member, then untagged nodes of tenant members, whatever their role, are matched; not tagged or ownerless ones', () => {
    expect(peersOf(mesh(toDb(['autogroup:member']), cast()), 'db-1')).toEqual(['alice-laptop', 'alice-phone', 'bob-laptop', 'erin-laptop', 'frank-laptop']);
  });

  it('given autogroup:tagged, then every tagged node is matched, whoever registered it', () => {
    expect(peersOf(mesh(toDb(['autogroup:tagged']), cast()), 'db-1')).toEqual(['alice-ci']);
  });

  it('given autogroup:admin or autogroup:owner, then untagged nodes whose owner has that tenant role', () => {
    expect(peersOf(mesh(toDb(['autogroup:admin']), cast()), 'db-1')).toEqual(['erin-laptop']);
    expect(peersOf(mesh(toDb(['autogroup:owner']), cast()), 'db-1')).toEqual(['frank-laptop']);
  });

  it('given autogroup:self as a destination, then each user reaches their own untagged nodes and nobody else\u2019s', () => {
    const policy = strict({ acls: [{ action: 'accept', src: ['autogroup:member'], dst: ['autogroup:self:*'] }] });
    const t = mesh(policy, cast());
    expect(peersOf(t, 'alice-laptop')).toEqual(['alice-phone']);
    expect(peersOf(t, 'bob-laptop')).toEqual([]);
    expect(peersOf(t, 'alice-ci')).toEqual([]); // a tagged node is no user's
    expect(peersOf(t, 'old-laptop')).toEqual([]);
  });

  it('given a node without an owning member, then it matches only *, its name, its address and its tags', () => {
    const t = mesh(strict({
      tagOwners: TAGS,
      acls: [
        { action: 'accept', src: ['autogroup:member', 'group:all'], dst: ['frank-laptop:22'] },
        { action: 'accept', src: ['old-laptop'], dst: ['erin-laptop:22'] },
      ],
      groups: { 'group:all': ['alice@', 'bob@', 'erin@', 'frank@'] },
    }), cast());
    expect(peersOf(t, 'old-laptop')).toEqual(['erin-laptop']);
    expect(peersOf(t, 'frank-laptop')).not.toContain('old-laptop');
    expect(peersOf(mesh(strict({ acls: [{ action: 'accept', src: ['*'], dst: ['*:*'] }] }), cast()), 'old-laptop')).toHaveLength(7);
  });

  it('keeps classes per identity, not per node: owners split classes only when the policy names owners', () => {
    const many = (user: string, count: number) => Array.from({ length: count }, (_, i) => node(`${user}-${i}`, { user: `${user}@example.com`, role: 'member' }));
    const nodes = [...many('u1', 50), ...many('u2', 50), ...many('u3', 50), node('db-1', { tags: ['tag:db'] })];
    expect(mesh(toDb(['autogroup:member']), nodes).classCount).toBe(2);
    expect(mesh(toDb(['u1@example.com']), nodes).classCount).toBe(3);
    // autogroup:self needs each user apart: one class per user, still not per node.
    expect(mesh(strict({ acls: [{ action: 'accept', src: ['autogroup:member'], dst: ['autogroup:self:*'] }] }), nodes).classCount).toBe(4);
  });
});

describe('owner changes move nodes between classes', () => {
  it('given a member promoted to admin, then their nodes gain what autogroup:admin gets; demoted or removed, they lose it', () => {
    const t = mesh(toDb(['autogroup:admin']), cast());
    expect(peersOf(t, 'db-1')).toEqual(['erin-laptop']);
    const promoted = t.updateNode('bob-laptop', { user: 'bob@example.com', role: 'admin' });
    expect([...promoted.keys()].sort()).toEqual(['bob-laptop', 'db-1']);
    expect(promoted.get('db-1')!.upserted.has('pk-bob-laptop')).toBe(true);
    expect(peersOf(t, 'db-1')).toEqual(['bob-laptop', 'erin-laptop']);
    const removed = t.updateNode('erin-laptop', { user: undefined, role: undefined });
    expect(removed.get('db-1')!.removed.has('pk-erin-laptop')).toBe(true);
    expect(peersOf(t, 'db-1')).toEqual(['bob-laptop']);
  });

  it('given a retag, then the node leaves its old tag\u2019s peers and joins the new one\u2019s, and nobody else hears of it', () => {
    const policy = strict({ tagOwners: TAGS, acls: [{ action: 'accept', src: ['tag:web'], dst: ['tag:db:5432'] }] });
    const t = mesh(policy, [...cast(), node('web-1', { tags: ['tag:web'] }), node('web-2', { tags: ['tag:web'] })]);
    expect(peersOf(t, 'db-1')).toEqual(['web-1', 'web-2']);
    const changes = t.updateNode('web-2', { tags: ['tag:ci'] });
    expect([...changes.keys()].sort()).toEqual(['db-1', 'web-2']);
    expect([...changes.get('db-1')!.removed]).toEqual(['pk-web-2']);
    expect(peersOf(t, 'db-1')).toEqual(['web-1']);
    expect(peersOf(t, 'web-2')).toEqual([]);
  });
});

describe('policy tests about users', () => {
  it('given users and roles of the tenant, then tests about users without nodes use their role', () => {
    const policy = strict({ tagOwners: TAGS, acls: [{ action: 'accept', src: ['autogroup:admin'], dst: ['tag:db:5432'] }], tests: [
      { src: 'erin@example.com', accept: ['tag:db:5432'] },
      { src: 'bob@example.com', deny: ['tag:db:5432'] },
    ] });
    const nodes = [node('db-1', { tags: ['tag:db'] })].map((x) => ({ ...x, addresses: [x.address] }));
    const users = new Map([['erin@example.com', 'admin' as const], ['bob@example.com', 'member' as const]]);
    expect(runPolicyTests(policy, nodes, undefined, users)).toEqual([]);
    // Without the tenant's roles, erin would be a member with no role: the test tells.
    expect(runPolicyTests(policy, nodes).map((f) => f.path)).toEqual(['tests[0].accept[0]']);
  });
});
