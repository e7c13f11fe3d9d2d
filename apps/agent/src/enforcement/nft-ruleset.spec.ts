import type { NodeConfig } from '../contracts';
import { buildRuleset, groupSetName, normalizePrefixes, protoExpression, renderedRules } from './nft-ruleset';

const config = (over: Partial<NodeConfig> = {}): NodeConfig => ({
  version: 3,
  interface: { address: '100.64.0.1/10', listenPort: 51820 },
  peers: [
    { publicKey: 'A', endpoint: null, allowedIps: ['100.64.0.2/32'], persistentKeepalive: 0, group: 'tag:web' },
    { publicKey: 'B', endpoint: null, allowedIps: ['100.64.0.3/32', '10.9.0.0/24'], persistentKeepalive: 0, group: 'tag:web' },
    { publicKey: 'C', endpoint: null, allowedIps: ['100.64.0.4/32'], persistentKeepalive: 0, group: 'tag:db' },
    { publicKey: 'D', endpoint: null, allowedIps: ['100.64.0.5/32'], persistentKeepalive: 0 },
  ],
  routes: [], servedRoutes: [], firewall: [], qos: [],
  ...over,
});
const chain = (c: NodeConfig, name: string) => buildRuleset(c, 'mg0').table!.chains.find((x) => x.name === name);

describe('protoExpression', () => {
  it.each([
    ['tcp', '22', 'tcp dport 22'],
    ['tcp', '80,443', 'tcp dport { 80, 443 }'],
    ['udp', '8000-8100,53', 'udp dport { 8000-8100, 53 }'],
    ['sctp', undefined, 'meta l4proto 132'],
    ['tcp', undefined, 'meta l4proto 6'],
    ['6', '22', 'tcp dport 22'],
    ['icmp', '22', 'meta l4proto 1'],
    ['ipv6-icmp', undefined, 'meta l4proto 58'],
    ['47', undefined, 'meta l4proto 47'],
  ])('%s %s → %s', (proto, ports, text) => expect(protoExpression(proto, ports)).toBe(text));

  it.each([['tcp', '70000'], ['tcp', '90-80'], ['tcp', '22;drop'], ['bogus', undefined], ['300', undefined]])(
    'refuses %s %s', (proto, ports) => expect(protoExpression(proto, ports)).toBeNull());
});

describe('normalizePrefixes', () => {
  it('canonicalises, splits families and drops prefixes covered by wider ones (nft refuses overlaps)', () => {
    const errors: string[] = [];
    expect(normalizePrefixes(['10.1.2.3/16', '10.1.5.0/24', '10.1.0.0/16', '192.168.1.1', 'fd00::/64', 'oops'], errors))
      .toEqual({ v4: ['10.1.0.0/16', '192.168.1.1/32'], v6: ['fd00::/64'] });
    expect(errors).toEqual(['not an IP prefix: "oops"']);
  });

  it('does the same for IPv6, in the one spelling (RFC 5952), and reports what only looks like an address', () => {
    const errors: string[] = [];
    expect(normalizePrefixes(['FD00:0:0:0:0:0:0:0/8', 'fd00:1::/64', '0:0:0:0:0:0:0:0/0', '2001:db8::1', 'fd00::zz', '10.1.0.0/33'], errors))
      .toEqual({ v4: [], v6: ['::/0'] });
    expect(normalizePrefixes(['fd00:1::5/64', '2001:db8::1'])).toEqual({ v4: [], v6: ['2001:db8::1/128', 'fd00:1::/64'] });
    expect(errors).toEqual(['not an IP prefix: "fd00::zz"', 'not an IP prefix: "10.1.0.0/33"']);
  });
});

describe('buildRuleset', () => {
  it('installs nothing when the config asks for nothing (no firewall field: an older control plane)', () => {
    const c = config();
    delete (c as Partial<NodeConfig>).firewall;
    expect(buildRuleset(c, 'mg0')).toEqual({ table: null, errors: [] });
  });

  it('drops everything peers initiate when the firewall list is empty, letting replies through', () => {
    const { table } = buildRuleset(config(), 'mg0');
    expect(table!.name).toBe('meshgate_mg0');
    expect(table!.sets).toEqual([]);
    expect(table!.chains).toEqual([
      { name: 'input', hook: 'type filter hook input priority filter; policy accept;', rules: ['iifname "mg0" jump inbound'] },
      { name: 'inbound', rules: ['ct state established,related ct direction reply accept', 'drop'] },
      { name: 'forward', hook: 'type filter hook forward priority filter; policy accept;', rules: ['iifname "mg0" jump forwarded'] },
      { name: 'forwarded', rules: ['ct state established,related ct direction reply accept', 'drop'] },
    ]);
  });

  it('names groups by sets of their overlay addresses and puts rules with dst in the forward chain', () => {
    const web = groupSetName('tag:web');
    const db = groupSetName('tag:db');
    const c = config({
      servedRoutes: ['10.77.0.0/24'],
      firewall: [
        { action: 'accept', srcGroups: ['tag:web'], src: [], proto: 'tcp', ports: '80,443' },
        { action: 'accept', srcGroups: ['tag:db', 'tag:web'], src: ['192.168.5.0/24'], proto: 'icmp' },
        { action: 'accept', srcGroups: ['tag:db'], src: [], proto: 'tcp', ports: '5432', dst: ['10.77.0.0/25', 'fd77::/64'] },
      ],
    });
    const { table, errors } = buildRuleset(c, 'mg0');
    expect(errors).toEqual([]);
    expect(web).toMatch(/^grp_tag_web_[0-9a-f]{6}$/);
    expect(table!.sets).toEqual([
      { name: db, elements: ['100.64.0.4/32'] },
      { name: web, elements: ['100.64.0.2/32', '100.64.0.3/32'] },
    ].sort((a, b) => (a.name < b.name ? -1 : 1)));
    expect(chain(c, 'inbound')!.rules).toEqual([
      'ct state established,related ct direction reply accept',
      `ip saddr @${web} tcp dport { 80, 443 } accept`,
      `ip saddr @${db} meta l4proto 1 accept`,
      `ip saddr @${web} meta l4proto 1 accept`,
      'ip saddr 192.168.5.0/24 meta l4proto 1 accept',
      'drop',
    ]);
    expect(chain(c, 'forwarded')!.rules).toEqual([
      'ct state established,related ct direction reply accept',
      `ip saddr @${db} ip daddr 10.77.0.0/25 tcp dport 5432 accept`,
      'drop',
    ]);
    expect(chain(c, 'served_nat')).toEqual({
      name: 'served_nat',
      hook: 'type nat hook postrouting priority srcnat; policy accept;',
      rules: ['iifname "mg0" oifname != "mg0" ip daddr 10.77.0.0/24 masquerade'],
    });
  });

  it('skips and reports rules it cannot express instead of failing the whole table', () => {
    const { table, errors } = buildRuleset(config({ firewall: [{ action: 'accept', srcGroups: ['tag:web'], src: [], proto: 'tcp', ports: 'x' }] }), 'mg0');
    expect(table!.chains.find((x) => x.name === 'inbound')!.rules).toHaveLength(2);
    expect(errors).toHaveLength(1);
  });

  it('classifies QoS by destination: first matching rule sets the HTB class through skb priority', () => {
    const c = config({ qos: [{ dstGroups: ['tag:web'], dst: [], rateMbit: 20 }, { dstGroups: [], dst: ['10.9.0.0/24'], rateMbit: 5 }] });
    delete (c as Partial<NodeConfig>).firewall;
    expect(buildRuleset(c, 'mg0').table!.chains.map((x) => x.name)).toEqual(['qos_out', 'qos_forward', 'qos']);
    expect(chain(c, 'qos')!.rules).toEqual([
      `ip daddr @${groupSetName('tag:web')} meta priority set "1:10" return`,
      'ip daddr 10.9.0.0/24 meta priority set "1:11" return',
    ]);
    expect(chain(c, 'qos_out')!.rules).toEqual(['oifname "mg0" jump qos']);
  });

  it('a peer joining a group changes only the set, never a chain', () => {
    const rules = [{ action: 'accept' as const, srcGroups: ['tag:db'], src: [], proto: 'tcp', ports: '22' }];
    const before = buildRuleset(config({ firewall: rules }), 'mg0').table!;
    const joined = config({ firewall: rules });
    joined.peers[3] = { ...joined.peers[3], group: 'tag:db' };
    const after = buildRuleset(joined, 'mg0').table!;
    expect(after.chains).toEqual(before.chains);
    expect(after.sets[0].elements).toEqual(['100.64.0.4/32', '100.64.0.5/32']);
  });

  it('puts a digest of the chain on its last rule', () => {
    const rules = renderedRules({ name: 'inbound', rules: ['a', 'drop'] });
    expect(rules[0]).toBe('a');
    expect(rules[1]).toMatch(/^drop comment "mg:[0-9a-f]{16}"$/);
    expect(renderedRules({ name: 'inbound', rules: ['b', 'drop'] })[1]).not.toBe(rules[1]);
  });
});
