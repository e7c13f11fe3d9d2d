import { compile, node, TEAM_NODES, TEAM_POLICY } from './fixtures.spec-helper';
import { PolicyConfigBuilder } from './firewall';

describe('PolicyConfigBuilder', () => {
  it('given the team document, then db1 accepts 5432 from carol (any protocol) and from the prod tier (tcp only)', () => {
    const builder = new PolicyConfigBuilder(compile(TEAM_POLICY), TEAM_NODES);
    expect(builder.firewallFor(TEAM_NODES.find((n) => n.name === 'db1')!)).toEqual([
      { action: 'accept', src: ['100.64.0.3/32'], proto: 'icmp' },
      { action: 'accept', src: ['100.64.0.3/32', '100.64.0.4/32', '100.64.0.5/32'], proto: 'tcp', ports: '5432' },
      { action: 'accept', src: ['100.64.0.3/32'], proto: 'udp', ports: '5432' },
      { action: 'accept', src: ['100.64.0.3/32'], proto: 'ipv6-icmp' },
    ]);
  });

  it('given a subnet router, then it filters forwarded traffic per prefix, clients get the route, QoS lands on the destination', () => {
    const policy = compile(`{
      "routes": {"10.1.0.0/24": ["n3"]},
      "acls": [
        {"action": "accept", "src": ["n1"], "proto": "tcp", "dst": ["10.1.0.0/24:80", "n2:8080"]},
        {"action": "deny", "src": ["n1"], "dst": ["10.1.0.9"]},
      ],
      "qos": [{"src": ["n1"], "dst": ["n2"], "rateMbit": 20}],
    }`);
    const [n1, n2, n3] = [node('n1', '100.64.0.1'), node('n2', '100.64.0.2'), node('n3', '100.64.0.3')];
    const builder = new PolicyConfigBuilder(policy, [n1, n2, n3]);
    expect(builder.forNode(n3)).toEqual({
      // 10.1.0.9 is denied: it is cut out of the /24 and has no rule of its own
      firewall: [{
        action: 'accept', src: ['100.64.0.1/32'], proto: 'tcp', ports: '80',
        dst: ['10.1.0.0/29', '10.1.0.8/32', '10.1.0.10/31', '10.1.0.12/30', '10.1.0.16/28', '10.1.0.32/27', '10.1.0.64/26', '10.1.0.128/25'],
      }],
      qos: [],
      routes: [],
    });
    expect(builder.forNode(n1)).toEqual({ firewall: [], qos: [], routes: [{ destination: '10.1.0.0/24', via: '100.64.0.3' }] });
    expect(builder.forNode(n2)).toEqual({
      firewall: [{ action: 'accept', src: ['100.64.0.1/32'], proto: 'tcp', ports: '8080' }],
      qos: [{ src: ['100.64.0.1/32'], rateMbit: 20 }],
      routes: [],
    });
  });

  it('given an exit node, then only a node that chose it and may reach autogroup:internet gets the default route', () => {
    const policy = compile(`{
      "autoApprovers": {"exitNode": ["tag:exit"]},
      "acls": [{"action": "accept", "src": ["tag:laptop"], "dst": ["autogroup:internet:*"]}],
    }`);
    const exit = node('exit1', '100.64.0.9', { tags: ['tag:exit'], advertisedRoutes: ['0.0.0.0/0'] });
    const chose = node('l1', '100.64.0.1', { tags: ['tag:laptop'], exitNode: 'exit1' });
    const didNot = node('l2', '100.64.0.2', { tags: ['tag:laptop'] });
    const builder = new PolicyConfigBuilder(policy, [exit, chose, didNot]);
    expect(builder.routesFor(chose)).toEqual([{ destination: '0.0.0.0/0', via: '100.64.0.9' }]);
    expect(builder.routesFor(didNot)).toEqual([]);
    expect(builder.firewallFor(exit)).toContainEqual({ action: 'accept', src: ['100.64.0.1/32', '100.64.0.2/32'], proto: 'tcp', dst: ['0.0.0.0/0'] });
  });
});
