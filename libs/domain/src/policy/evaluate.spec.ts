import { compile, node, TEAM_NODES, TEAM_POLICY } from './fixtures.spec-helper';
import { CompiledPolicy, isExitRoute, nodeReach } from './evaluate';
import { parsePolicyFile } from './policy-file';
import { formatReach } from './ports';

const byName = (name: string) => TEAM_NODES.find((n) => n.name === name)!;

describe('CompiledPolicy', () => {
  describe('given a Tailscale-style document with groups, tagOwners, hosts and ports', () => {
    const policy = compile(TEAM_POLICY);
    const reach = (from: string, to: string) => formatReach(nodeReach(policy, byName(from), byName(to)));

    it.each([
      ['alice-laptop', 'dev1', 'icmp tcp:* udp:* ipv6-icmp'],
      ['bob-laptop', 'web1', 'icmp tcp:80,443 udp:80,443 ipv6-icmp'],
      ['carol-laptop', 'web1', 'icmp tcp:22 udp:22 ipv6-icmp'],
      ['carol-laptop', 'db1', 'icmp tcp:5432 udp:5432 ipv6-icmp'],
      ['web1', 'db1', 'tcp:5432'],
      ['alice-laptop', 'alice-phone', 'icmp tcp:* udp:* ipv6-icmp'],
      ['alice-laptop', 'bob-laptop', 'nothing'],
      ['db1', 'web1', 'nothing'],
      ['dev1', 'alice-laptop', 'nothing'],
    ])('then %s may reach %s on: %s', (from, to, expected) => {
      expect(reach(from, to)).toBe(expected);
    });

    it('then a deny wins over an accept written before it', () => {
      expect(reach('alice-laptop', 'web2')).toBe('nothing');
      expect(reach('carol-laptop', 'web2')).toBe('icmp tcp:22 udp:22 ipv6-icmp');
    });

    it('then a tagged node is not its owner\'s: web1 (owned by carol) gets nothing meant for carol', () => {
      expect(reach('web1', 'web1')).toBe('nothing');
      expect(policy.classOf(byName('web1'))).toBe('tag:prod');
    });
  });

  it('given a deny of some ports, then only those ports are cut out of the accept', () => {
    const policy = compile(`{"acls": [
      {"action": "deny", "src": ["n1"], "proto": "tcp", "dst": ["n2:22,8000-8999"]},
      {"action": "accept", "src": ["*"], "proto": "tcp", "dst": ["n2:*"]},
    ]}`);
    expect(formatReach(nodeReach(policy, node('n1', '100.64.0.1'), node('n2', '100.64.0.2')))).toBe('tcp:0-21,23-7999,9000-65535');
  });

  it('given a v1 document, then reachability is what v1 meant: peers on all ports', () => {
    const parsed = parsePolicyFile({ acls: [{ action: 'accept', src: ['tag:web'], dst: ['db'] }] });
    if (!parsed.ok) throw new Error(parsed.errors.join());
    const policy = new CompiledPolicy(parsed.policy);
    const [web, db, other] = [node('w', '100.64.0.1', { tags: ['web'] }), node('db', '100.64.0.2'), node('x', '100.64.0.3')];
    expect(formatReach(nodeReach(policy, web, db))).toBe('icmp tcp:* udp:* ipv6-icmp');
    expect(policy.arePeers(policy.classOf(db), policy.classOf(web))).toBe(true);
    expect(policy.arePeers(policy.classOf(other), policy.classOf(db))).toBe(false);
  });

  it('given an ACL with a schedule, then it counts only while that window is open', () => {
    const policy = compile(`{
      "schedules": {"office": {"timeZone": "Europe/Berlin", "days": ["mon"], "start": "08:00", "end": "17:00"}},
      "acls": [{"action": "accept", "src": ["n1"], "proto": "tcp", "dst": ["n2:8080"], "schedule": "office"}],
    }`);
    const [n1, n2] = [node('n1', '100.64.0.1'), node('n2', '100.64.0.2')];
    expect(nodeReach(policy, n1, n2)).toEqual([]);
    expect(nodeReach(policy, n1, n2, new Set(['office']))).toEqual([{ proto: 6, ports: [{ first: 8080, last: 8080 }] }]);
    expect(nodeReach(policy, n1, n2, new Set(['unrelated']))).toEqual([]);
  });

  it('given routes, then routers, route users and reach inside the subnet follow the ACLs', () => {
    const policy = compile(`{
      "routes": {"10.1.0.0/24": ["n3"]},
      "autoApprovers": {"routes": {"10.2.0.0/16": ["tag:router"]}, "exitNode": ["tag:exit"]},
      "acls": [
        {"action": "accept", "src": ["n1"], "proto": "tcp", "dst": ["10.1.0.0/24:80"]},
        {"action": "accept", "src": ["n1"], "dst": ["autogroup:internet:*"]},
      ],
    }`);
    const n1 = node('n1', '100.64.0.1');
    const n2 = node('n2', '100.64.0.2');
    const n3 = node('n3', '100.64.0.3');
    const router = node('r', '100.64.0.4', { tags: ['tag:router'], advertisedRoutes: ['10.2.1.0/24', '192.168.0.0/24'] });
    const exit = node('e', '100.64.0.5', { tags: ['tag:exit'], advertisedRoutes: ['0.0.0.0/0'] });
    expect(policy.servedRoutes(n3)).toEqual(['10.1.0.0/24']);
    expect(policy.servedRoutes(router)).toEqual(['10.2.1.0/24']);
    expect(policy.servedRoutes({ ...router, approvedRoutes: ['192.168.0.0/24'] })).toEqual(['10.2.1.0/24', '192.168.0.0/24']);
    expect(policy.servedRoutes(exit)).toEqual(['0.0.0.0/0']);
    const [c1, c2] = [policy.classOf(n1), policy.classOf(n2)];
    expect(policy.mayUseRoute(c1, '10.1.0.0/24')).toBe(true);
    expect(policy.mayUseRoute(c2, '10.1.0.0/24')).toBe(false);
    expect(formatReach(policy.reachPrefix(c1, '10.1.0.0/24'))).toBe('tcp:80');
    expect(formatReach(policy.reachPrefix(c1, '0.0.0.0/0'))).toBe('icmp tcp:* udp:* ipv6-icmp');
    expect(policy.reachPrefix(c2, '0.0.0.0/0')).toEqual([]);
  });

  it('keeps classes few: 2,000 nodes over 3 tags make 3 classes, whatever their names (and addresses no host names)', () => {
    const policy = compile(TEAM_POLICY);
    const classes = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const tag = ['tag:prod', 'tag:dev', 'tag:db'][i % 3];
      classes.add(policy.classOf(node(`n${i}`, `100.65.${i >> 8}.${(i & 255) + 1}`, { tags: [tag] })));
    }
    expect(classes.size).toBe(3);
  });
});

describe('isExitRoute', () => {
  it('knows the default routes in their one spelling, and in the spelled-out IPv6 of events written before it', () => {
    for (const route of ['0.0.0.0/0', '::/0', '0:0:0:0:0:0:0:0/0']) expect(isExitRoute(route)).toBe(true);
    for (const route of ['10.0.0.0/8', 'fd00::/8', '0.0.0.0/1', '::/1', 'junk/0']) expect(isExitRoute(route)).toBe(false);
  });

  it('classifies like another policy only when every node would get the same class and serve the same routes', () => {
    const policy = (acls: string, rest = '') => compile(`{ ${rest} "acls": [${acls}] }`);
    const base = policy('{ "action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432"] }');
    expect(base.classifiesLike(base)).toBe(true);
    expect(policy('{ "action": "accept", "src": ["tag:web"], "dst": ["tag:db:22,5432"] }').classifiesLike(base)).toBe(true);
    expect(policy('{ "action": "accept", "src": ["tag:db"], "dst": ["tag:web:80"] }').classifiesLike(base)).toBe(true);
    for (const other of [
      policy('{ "action": "accept", "src": ["tag:web"], "dst": ["tag:ci:5432"] }'), // names another tag
      policy('{ "action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432", "web1:22"] }'), // names a node
      policy('{ "action": "accept", "src": ["tag:web"], "dst": ["100.64.0.0/24:22"] }'), // names addresses
      policy('{ "action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432"] }', '"routes": { "10.0.0.0/8": ["tag:db"] },'), // a route
    ]) {
      expect(other.classifiesLike(base)).toBe(false);
    }
  });
});
