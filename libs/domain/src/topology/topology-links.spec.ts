import { compile } from '../policy/fixtures.spec-helper';
import { Topology, TopologyNode } from './topology';

const node = (name: string, n: number, over: Partial<TopologyNode> = {}): TopologyNode => ({
  id: name, name, tags: [], publicKey: `pk-${name}`, address: `100.64.0.${n}`, endpoint: null, listenPort: 51820, ...over,
});

describe('Topology.linksOf: a node\u2019s peerings as the topology read model shows them', () => {
  const t = new Topology(compile(`{
    "routes": { "10.77.0.0/24": ["r1"] },
    "acls": [
      { "action": "accept", "src": ["w1"], "proto": "tcp", "dst": ["d1:5432"] },
      { "action": "accept", "src": ["w1"], "dst": ["10.77.0.0/24:*"] }
    ]
  }`));
  t.addNode(node('w1', 1));
  t.addNode(node('d1', 2));
  t.addNode(node('r1', 3));

  it('given reach one way, then each end says what it may open at the other', () => {
    expect(t.linksOf('d1')).toEqual([{ peerId: 'w1', reachOut: 'nothing', reachIn: 'tcp:5432', routesVia: [], routesFor: [] }]);
  });

  it('given a route through a peer, then the user\u2019s link names the prefix and the router\u2019s names what it carries', () => {
    expect(t.linksOf('w1')).toEqual([
      { peerId: 'd1', reachOut: 'tcp:5432', reachIn: 'nothing', routesVia: [], routesFor: [] },
      { peerId: 'r1', reachOut: 'nothing', reachIn: 'nothing', routesVia: ['10.77.0.0/24'], routesFor: [] },
    ]);
    expect(t.linksOf('r1')).toEqual([{ peerId: 'w1', reachOut: 'nothing', reachIn: 'nothing', routesVia: [], routesFor: ['10.77.0.0/24'] }]);
  });

  it('given an unknown node, then no links', () => {
    expect(t.linksOf('nobody')).toEqual([]);
  });
});
