import { nextAddress } from '../node/ipam';
import { CompiledPolicy } from '../policy/evaluate';
import { parsePolicyFile } from '../policy/policy-file';
import { Topology, TopologyNode } from './topology';

function compile(doc: unknown): CompiledPolicy {
  const parsed = parsePolicyFile(doc);
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return new CompiledPolicy(parsed.policy);
}

let address: string | null = null;
const node = (name: string, tags: string[] = []): TopologyNode => {
  address = nextAddress(address);
  return { id: `id-${name}`, name, tags, publicKey: `pk-${name}`, address, endpoint: null, listenPort: 51820 };
};

describe('Topology.rotateKey', () => {
  it('replaces the key at every peer (old removed, new upserted) and at nobody else', () => {
    const t = new Topology(compile({ acls: [{ action: 'accept', src: ['tag:web'], dst: ['tag:db:*'] }], tagOwners: { 'tag:web': [], 'tag:db': [] } }));
    const [web, db1, db2, other] = [node('web', ['web']), node('db1', ['db']), node('db2', ['db']), node('other')];
    for (const n of [web, db1, db2, other]) t.addNode(n);
    const changes = t.rotateKey(web.id, 'pk-web-2');
    expect([...changes.keys()].sort()).toEqual([db1.id, db2.id]);
    for (const id of [db1.id, db2.id]) {
      expect([...changes.get(id)!.removed]).toEqual(['pk-web']);
      expect([...changes.get(id)!.upserted.keys()]).toEqual(['pk-web-2']);
      expect(t.peersOf(id).map((p) => p.publicKey)).toEqual(['pk-web-2']);
    }
    expect(t.peersOf(web.id).map((p) => p.publicKey)).toEqual(['pk-db1', 'pk-db2']);
  });

  it('changes nothing for the same key or an unknown node', () => {
    const t = new Topology(compile({ acls: [{ action: 'accept', src: ['*'], dst: ['*:*'] }] }));
    const a = node('a');
    t.addNode(a);
    t.addNode(node('b'));
    expect(t.rotateKey(a.id, a.publicKey).size).toBe(0);
    expect(t.rotateKey('nope', 'pk-x').size).toBe(0);
  });
});
