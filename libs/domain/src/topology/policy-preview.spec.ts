import { Identity } from '../policy/evaluate';
import { compile, node as identity, TEAM_NODES as TEAM_IDENTITIES, TEAM_POLICY } from '../policy/fixtures.spec-helper';
import { previewPolicy } from './policy-preview';
import { TopologyNode } from './topology';

const asNode = (i: Identity): TopologyNode => ({
  id: i.id, name: i.name, tags: i.tags, user: i.user, publicKey: `pk-${i.name}`, address: i.addresses[0], endpoint: null, listenPort: 51820,
});
const node = (name: string, address: string) => asNode(identity(name, address));
const TEAM_NODES = TEAM_IDENTITIES.map(asNode);

describe('previewPolicy', () => {
  it('given the team document, when the web2 deny is dropped and ops loses ssh, then the pairs and ports gained and lost are listed', () => {
    const before = compile(TEAM_POLICY);
    const after = compile(TEAM_POLICY
      .replace('{ "action": "deny", "src": ["group:eng"], "dst": ["web2"] },', '')
      .replace('"dst": ["tag:prod:22", "db:5432"]', '"dst": ["db:5432"]'));
    const preview = previewPolicy(before, after, TEAM_NODES);
    expect(preview.gained).toEqual([
      { src: 'alice-laptop', dst: 'web2', reach: 'icmp tcp:80,443 udp:80,443 ipv6-icmp' },
      { src: 'alice-phone', dst: 'web2', reach: 'icmp tcp:80,443 udp:80,443 ipv6-icmp' },
      { src: 'bob-laptop', dst: 'web2', reach: 'icmp tcp:80,443 udp:80,443 ipv6-icmp' },
    ]);
    expect(preview.lost).toEqual([
      { src: 'carol-laptop', dst: 'web1', reach: 'icmp tcp:22 udp:22 ipv6-icmp' },
      { src: 'carol-laptop', dst: 'web2', reach: 'icmp tcp:22 udp:22 ipv6-icmp' },
    ]);
    // web1/web2 change their firewall; the laptops whose peering flipped change their peers; and web2, no longer
    // named by the policy, moves to another class, so db1's rules and peer entry name its new group.
    expect(preview.changedNodes).toEqual(['alice-laptop', 'alice-phone', 'bob-laptop', 'carol-laptop', 'db1', 'web1', 'web2']);
    expect(preview.truncated).toBe(false);
  });

  it('given a port-only change, then only the destination changes (its firewall); the source keeps its peers', () => {
    const before = compile('{"acls": [{"action": "accept", "src": ["n1"], "proto": "tcp", "dst": ["n2:22"]}]}');
    const after = compile('{"acls": [{"action": "accept", "src": ["n1"], "proto": "tcp", "dst": ["n2:22,80"]}]}');
    const preview = previewPolicy(before, after, [node('n1', '100.64.0.1'), node('n2', '100.64.0.2')]);
    expect(preview).toEqual({ gained: [{ src: 'n1', dst: 'n2', reach: 'tcp:80' }], lost: [], changedNodes: ['n2'], truncated: false });
  });

  it('given a QoS or route change, then the nodes it concerns are listed', () => {
    const before = compile('{"acls": [{"action": "accept", "src": ["*"], "dst": ["*"]}], "qos": [{"src": ["n1"], "dst": ["n2"], "rateMbit": 10}]}');
    const after = compile('{"acls": [{"action": "accept", "src": ["*"], "dst": ["*"]}], "qos": [{"src": ["n1"], "dst": ["n2"], "rateMbit": 20}], "routes": {"10.1.0.0/24": ["n3"]}}');
    const preview = previewPolicy(before, after, [node('n1', '100.64.0.1'), node('n2', '100.64.0.2'), node('n3', '100.64.0.3')]);
    expect(preview).toEqual({ gained: [], lost: [], changedNodes: ['n1', 'n2', 'n3'], truncated: false });
  });

  it('given a node named constructor and a host named toString, then the preview names them as what they are', () => {
    const before = compile('{"acls": []}');
    const after = compile('{"hosts": {"toString": "100.64.0.2"}, "acls": [{"action": "accept", "src": ["constructor"], "proto": "tcp", "dst": ["toString:22"]}]}');
    const preview = previewPolicy(before, after, [node('constructor', '100.64.0.1'), node('valueof', '100.64.0.2')]);
    expect(preview).toEqual({ gained: [{ src: 'constructor', dst: 'valueof', reach: 'tcp:22' }], lost: [], changedNodes: ['constructor', 'valueof'], truncated: false });
  });

  it('caps the pair lists but not the changed nodes', () => {
    const nodes = Array.from({ length: 30 }, (_, i) => node(`n${i}`, `100.64.0.${i + 1}`));
    const preview = previewPolicy(compile('{"acls": []}'), compile('{"acls": [{"action": "accept", "src": ["*"], "dst": ["*"]}]}'), nodes, { maxPairs: 10 });
    expect(preview.gained).toHaveLength(10);
    expect(preview.truncated).toBe(true);
    expect(preview.changedNodes).toHaveLength(30);
  });
});
