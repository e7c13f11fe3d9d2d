import { compile } from '../policy/fixtures.spec-helper';
import { Topology, TopologyNode } from './topology';

const node = (name: string, n: number, over: Partial<TopologyNode> = {}): TopologyNode => ({
  id: name, name, tags: [], publicKey: `pk-${name}`, address: `100.64.0.${n}`, endpoint: null, listenPort: 51820, ...over,
});
const groupOf = (t: Topology, viewer: string, peer: string) => t.peersOf(viewer).find((p) => p.publicKey === `pk-${peer}`)!.group;

describe('Topology: what each node enforces (firewall, QoS, routes)', () => {
  it('given tcp/8080 from n1 to n2, then n2 accepts exactly that from n1\u2019s group and n1 accepts nothing', () => {
    const t = new Topology(compile('{"acls": [{"action": "accept", "src": ["n1"], "proto": "tcp", "dst": ["n2:8080"]}]}'));
    t.addNode(node('n1', 1));
    t.addNode(node('n2', 2));
    expect(t.partsOf('n2')!.firewall).toEqual([{ action: 'accept', srcGroups: [groupOf(t, 'n2', 'n1')], src: [], proto: 'tcp', ports: '8080' }]);
    expect(t.partsOf('n1')!.firewall).toEqual([]);
    expect(t.peersOf('n1').map((p) => p.publicKey)).toEqual(['pk-n2']); // replies need the peer both ways
  });

  it('given a join into an existing class, then only peers change; a join that makes a class sends the new rules', () => {
    const t = new Topology(compile('{"acls": [{"action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432"]}, {"action": "accept", "src": ["n9"], "dst": ["tag:db:22"]}]}'));
    t.addNode(node('w1', 1, { tags: ['tag:web'] }));
    t.addNode(node('d1', 2, { tags: ['tag:db'] }));
    const join = t.addNode(node('w2', 3, { tags: ['tag:web'] }));
    expect([...join.keys()]).toEqual(['d1']);
    expect(join.get('d1')!.parts).toEqual({});
    const admin = t.addNode(node('n9', 4));
    const n9 = groupOf(t, 'd1', 'n9');
    expect(admin.get('d1')!.parts.firewall).toContainEqual({ action: 'accept', srcGroups: [n9], src: [], proto: 'tcp', ports: '22' });
    expect(admin.get('w1')).toBeUndefined();
    // The last member leaving drops its group from the rules again.
    const left = t.removeNode('n9');
    expect(left.get('d1')!.parts.firewall!.some((r) => r.srcGroups.includes(n9))).toBe(false);
  });

  it('given a subnet router approved by autoApprovers, then users get the route via its address and the router filters what it forwards', () => {
    const t = new Topology(compile(`{
      "autoApprovers": { "routes": { "10.77.0.0/16": ["tag:router"] } },
      "acls": [
        { "action": "accept", "src": ["n1"], "proto": "tcp", "dst": ["10.77.0.0/24:80"] },
        { "action": "accept", "src": ["*"], "proto": "icmp", "dst": ["n3:*"] }
      ]
    }`));
    t.addNode(node('n1', 1));
    t.addNode(node('n2', 2));
    const routerJoin = t.addNode(node('n3', 3, { tags: ['tag:router'], advertisedRoutes: ['10.77.0.0/24'] }));
    expect(routerJoin.get('n1')!.parts.routes).toEqual([{ destination: '10.77.0.0/24', via: '100.64.0.3' }]);
    expect(t.partsOf('n2')!.routes).toEqual([]); // n2 may not use it
    const router = t.partsOf('n3')!;
    expect(router.servedRoutes).toEqual(['10.77.0.0/24']);
    expect(router.firewall).toContainEqual({ action: 'accept', srcGroups: [groupOf(t, 'n3', 'n1')], src: [], proto: 'tcp', ports: '80', dst: ['10.77.0.0/24'] });
    expect(router.firewall.filter((r) => r.dst)).toHaveLength(1);
  });

  it('given an advertised route nobody approved, then nobody serves it until an admin approves it', () => {
    const t = new Topology(compile('{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}'));
    t.addNode(node('n1', 1));
    t.addNode(node('n3', 3, { advertisedRoutes: ['10.77.0.0/24'] }));
    expect(t.partsOf('n3')!.servedRoutes).toEqual([]);
    const approved = t.updateNode('n3', { advertisedRoutes: ['10.77.0.0/24'], approvedRoutes: ['10.77.0.0/24'] });
    expect(approved.get('n3')!.parts.servedRoutes).toEqual(['10.77.0.0/24']);
    expect(approved.get('n1')!.parts.routes).toEqual([{ destination: '10.77.0.0/24', via: '100.64.0.3' }]);
  });

  it('given QoS from n1 to n2, then n1 limits its egress to n2\u2019s group', () => {
    const t = new Topology(compile('{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}], "qos": [{"src": ["n1"], "dst": ["n2"], "rateMbit": 20}]}'));
    t.addNode(node('n1', 1));
    t.addNode(node('n2', 2));
    expect(t.partsOf('n1')!.qos).toEqual([{ dstGroups: [groupOf(t, 'n1', 'n2')], dst: [], rateMbit: 20 }]);
    expect(t.partsOf('n2')!.qos).toEqual([]);
  });

  it('given an ACL on a schedule, then opening and closing the window adds and removes the peering and the rule', () => {
    const t = new Topology(compile(`{
      "schedules": { "office": { "timeZone": "UTC", "days": ["mon"], "start": "09:00", "end": "17:00" } },
      "acls": [{ "action": "accept", "src": ["n1"], "proto": "tcp", "dst": ["n2:8080"], "schedule": "office" }]
    }`));
    t.addNode(node('n1', 1));
    t.addNode(node('n2', 2));
    expect(t.peersOf('n2')).toEqual([]);
    const opened = t.setOpenSchedules(new Set(['office']));
    expect([...opened.keys()].sort()).toEqual(['n1', 'n2']);
    expect(opened.get('n2')!.parts.firewall).toEqual([{ action: 'accept', srcGroups: [groupOf(t, 'n2', 'n1')], src: [], proto: 'tcp', ports: '8080' }]);
    const closed = t.setOpenSchedules(new Set());
    expect(closed.get('n2')!.parts.firewall).toEqual([]);
    expect([...closed.get('n2')!.removed]).toEqual(['pk-n1']);
  });

  it('given an edit that keeps every node in its class, then configs come out as a topology built fresh on the new policy would give them', () => {
    const doc = (ports: string, peered: string) => `{
      "acls": [{ "action": "accept", "src": ["tag:web"], "proto": "tcp", "dst": ["tag:db:${ports}"] },
               { "action": "accept", "src": ["${peered}"], "dst": ["tag:db:22"] }, { "action": "accept", "src": ["n9"], "dst": ["w1:22"] }]
    }`;
    const nodes = [node('w1', 1, { tags: ['tag:web'] }), node('w2', 2, { tags: ['tag:web'] }), node('d1', 3, { tags: ['tag:db'] }), node('n9', 4)];
    const t = new Topology(compile(doc('5432', 'n9')));
    for (const n of nodes) t.addNode(n);
    // Other ports between the same classes, and a rule moved from one named node to another the policy names too.
    for (const next of [doc('5432,6432', 'n9'), doc('6432', 'w1'), doc('5432', 'n9')]) {
      expect(compile(next).classifiesLike(compile(doc('5432', 'n9')))).toBe(true);
      const changes = t.setPolicy(compile(next));
      const fresh = new Topology(compile(next));
      for (const n of nodes) fresh.addNode(n);
      for (const n of nodes) expect(t.configOf(n.id)).toEqual(fresh.configOf(n.id));
      expect(changes.get('d1')!.parts.firewall).toEqual(fresh.partsOf('d1')!.firewall);
    }
  });
});
