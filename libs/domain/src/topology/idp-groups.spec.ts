import { CompiledPolicy } from '../policy/evaluate';
import { parsePolicyFile } from '../policy/policy-file';
import { runPolicyTests } from '../policy/policy-tests';
import { tagOwnership } from '../policy/tag-owners';
import { Topology, TopologyNode } from './topology';

/**
 * IdP groups in policy: `"groups": {"group:eng": ["idp:engineering"]}` names every user whose latest single sign-on
 * carried the group `engineering`. Given nodes whose owners have IdP groups, when a policy names `idp:` members, then
 * these are the peers; and when a user's IdP groups change, then their nodes move and the configs that see them change.
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
const alice = (name: string, over: Partial<TopologyNode> = {}) =>
  node(name, { user: 'alice@example.com', role: 'member', groups: ['engineering', 'oncall'], ...over });
const bob = (name: string, over: Partial<TopologyNode> = {}) => node(name, { user: 'bob@example.com', role: 'member', groups: ['sales'], ...over });
const carol = (name: string, over: Partial<TopologyNode> = {}) => node(name, { user: 'carol@example.com', role: 'member', ...over });

const TAGS = { 'tag:db': ['autogroup:admin'] };
const engToDb = (members: string[]) => strict({
  groups: { 'group:eng': members }, tagOwners: TAGS, acls: [{ action: 'accept', src: ['group:eng'], proto: 'tcp', dst: ['tag:db:5432'] }],
});

function mesh(policy: CompiledPolicy, nodes: TopologyNode[]): Topology {
  const t = new Topology(policy);
  for (const x of nodes) t.addNode(x);
  return t;
}
const peersOf = (t: Topology, id: string) => t.peersOf(id).map((p) => p.publicKey.slice(3)).sort();

const cast = () => [
  alice('alice-laptop'), alice('alice-ci', { tags: ['tag:ci'] }), bob('bob-laptop'), carol('carol-laptop'),
  node('ownerless', { groups: ['engineering'] }), node('db-1', { tags: ['tag:db'] }),
];

describe('IdP groups in policy (idp:<group>)', () => {
  it('given group members "idp:<name>", when parsed, then they are kept as written (IdP group names are case-sensitive)', () => {
    const parsed = parsePolicyFile({ groups: { 'group:eng': ['idp:Engineering Team', 'Alice@Example.com'] }, acls: [] }, { strict: true });
    expect(parsed.ok && parsed.policy.groups.get('group:eng')).toEqual(['idp:Engineering Team', 'alice@example.com']);
  });

  it('given a malformed IdP member, then it is refused naming its path', () => {
    const parsed = parsePolicyFile({ groups: { 'group:eng': ['idp:', 'idp: padded'] }, acls: [] }, { strict: true });
    expect(parsed.ok ? [] : parsed.errors).toEqual([
      'groups["group:eng"][0]: must be a user ("alice@" or "alice@example.com") or an IdP group ("idp:engineering"), got "idp:"',
      'groups["group:eng"][1]: must be a user ("alice@" or "alice@example.com") or an IdP group ("idp:engineering"), got "idp: padded"',
    ]);
  });

  it('given idp:engineering, then the untagged nodes of users in that IdP group are matched; not tagged, ownerless or others\u2019 nodes', () => {
    expect(peersOf(mesh(engToDb(['idp:engineering']), cast()), 'db-1')).toEqual(['alice-laptop']);
  });

  it('given IdP groups and users in one group, then both name their users', () => {
    expect(peersOf(mesh(engToDb(['idp:sales', 'carol@example.com']), cast()), 'db-1')).toEqual(['bob-laptop', 'carol-laptop']);
  });

  it('given an IdP group nobody is in, then it matches nobody', () => {
    expect(peersOf(mesh(engToDb(['idp:finance']), cast()), 'db-1')).toEqual([]);
  });

  it('given a policy that names no idp: member, then IdP groups do not split identity classes', () => {
    const policy = strict({ tagOwners: TAGS, acls: [{ action: 'accept', src: ['autogroup:member'], dst: ['tag:db:5432'] }] });
    const identity = (x: TopologyNode) => ({ id: x.id, name: x.name, tags: x.tags, user: x.user, role: x.role, groups: x.groups, addresses: [x.address] });
    const [a, , b, c] = cast().map(identity);
    expect(new Set([policy.classOf(a), policy.classOf(b), policy.classOf(c)]).size).toBe(1);
    // Named, only the named group matters: alice's `oncall` does not tell her apart from another engineer.
    const named = engToDb(['idp:engineering']);
    expect(named.classOf({ ...a, groups: ['engineering', 'oncall'] })).toBe(named.classOf({ ...c, groups: ['engineering'] }));
    expect(named.classOf(a)).not.toBe(named.classOf(c));
  });

  it('when a user leaves the IdP group, then their node leaves the db\u2019s config (and the db leaves theirs)', () => {
    const t = mesh(engToDb(['idp:engineering']), cast());
    const changes = t.updateNode('alice-laptop', { groups: ['oncall'] });
    expect(peersOf(t, 'db-1')).toEqual([]);
    expect(peersOf(t, 'alice-laptop')).toEqual([]);
    expect([...changes.get('db-1')!.removed]).toEqual(['pk-alice-laptop']);
    expect([...changes.get('alice-laptop')!.removed]).toEqual(['pk-db-1']);
    expect([...changes.keys()].sort()).toEqual(['alice-laptop', 'db-1']);
  });

  it('when a user joins the IdP group, then their node joins the db\u2019s config', () => {
    const t = mesh(engToDb(['idp:engineering']), cast());
    const changes = t.updateNode('carol-laptop', { groups: ['engineering'] });
    expect(peersOf(t, 'db-1')).toEqual(['alice-laptop', 'carol-laptop']);
    expect([...changes.get('db-1')!.upserted.keys()]).toEqual(['pk-carol-laptop']);
  });

  it('when a user\u2019s groups change in ways the policy does not name, then no config changes', () => {
    const t = mesh(engToDb(['idp:engineering']), cast());
    expect(t.updateNode('alice-laptop', { groups: ['engineering'] }).size).toBe(0);
    expect(t.updateNode('bob-laptop', { groups: ['sales', 'marketing'] }).size).toBe(0);
  });

  it('given tagOwners listing a group with an IdP member, then users in that IdP group own the tag', () => {
    const { policy } = engToDb(['idp:engineering']);
    const withOwners = strict({ groups: { 'group:eng': ['idp:engineering'] }, tagOwners: { 'tag:db': ['group:eng'] }, acls: [] }).policy;
    expect(tagOwnership(withOwners, { email: 'alice@example.com', role: 'member', groups: ['engineering'] }).owns('tag:db')).toBe(true);
    expect(tagOwnership(withOwners, { email: 'bob@example.com', role: 'member', groups: ['sales'] }).owns('tag:db')).toBe(false);
    expect(tagOwnership(withOwners, { tags: ['tag:db'] }).owns('tag:db')).toBe(false);
    expect(tagOwnership(policy, { email: 'alice@example.com', role: 'member', groups: ['engineering'] }).owns('tag:db')).toBe(false);
  });

  it('given policy tests about group:eng before any engineer has a node, then a stand-in member of the IdP group answers', () => {
    const policy = strict({
      groups: { 'group:eng': ['idp:engineering'] }, tagOwners: TAGS,
      acls: [{ action: 'accept', src: ['group:eng'], proto: 'tcp', dst: ['tag:db:5432'] }],
      tests: [{ src: 'group:eng', accept: ['tag:db:5432'], deny: ['tag:db:22'] }],
    });
    expect(runPolicyTests(policy, [])).toEqual([]);
    const wrong = strict({
      groups: { 'group:eng': ['idp:engineering'] }, tagOwners: TAGS, acls: [],
      tests: [{ src: 'group:eng', accept: ['tag:db:5432'] }],
    });
    expect(runPolicyTests(wrong, []).map((f) => f.path)).toEqual(['tests[0].accept[0]']);
  });
});
