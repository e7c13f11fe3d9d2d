// The oracle: the first API's evaluator, independent of the class machinery, kept under testing/ for this spec.
import { CompiledPolicy as OraclePolicy, nodeCanReach } from '../testing/policy-oracle/compiled-policy';
import { AclEntry, EMPTY_POLICY, PolicyDocument, Selector } from '../testing/policy-oracle/policy-document';
import { nextAddress } from '../node/ipam';
import { seededRandom } from '../shared/prng';
import { CompiledPolicy } from '../policy/evaluate';
import { parsePolicyFile } from '../policy/policy-file';
import { ChangeSet, Peer, PERSISTENT_KEEPALIVE_SECONDS, PolicyParts, Topology, TopologyNode } from './topology';

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/**
 * First-API documents are valid policy files: compiled by the policy engine; the oracle (testing/policy-oracle) is
 * the reference below.
 */
function compileDoc(doc: unknown): CompiledPolicy {
  const parsed = parsePolicyFile(doc);
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return new CompiledPolicy(parsed.policy);
}
const compile = (acls: AclEntry[]): CompiledPolicy => compileDoc({ acls });
const accept = (src: Selector[], dst: Selector[]): AclEntry => ({ action: 'accept', src, dst });
const deny = (src: Selector[], dst: Selector[]): AclEntry => ({ action: 'deny', src, dst });
const FULL_MESH = [accept(['*'], ['*'])];

let addressCounter: string | null = null;
function node(name: string, tags: string[] = [], endpoint: string | null = null): TopologyNode {
  addressCounter = nextAddress(addressCounter);
  return { id: `id-${name}`, name, tags, publicKey: `pk-${name}`, address: addressCounter, endpoint, listenPort: 51820 };
}

const peerKeys = (t: Topology, id: string): string[] => t.peersOf(id).map((p) => p.publicKey);
const changedIds = (changes: ChangeSet): string[] => [...changes.keys()].sort();

function mesh(acls: AclEntry[], nodes: TopologyNode[]): Topology {
  const t = new Topology(compile(acls));
  for (const n of nodes) t.addNode(n);
  return t;
}

/** Internal bookkeeping, read only to check that emptied classes are dropped (no leak as nodes come and go). */
type MeshClassView = { key: string; members: Set<string>; peers: Set<MeshClassView> };
const internals = (t: Topology) => {
  const classes = (t as unknown as { classes: Map<string, MeshClassView> }).classes;
  return {
    members: new Map([...classes.values()].map((c) => [c.key, c.members])),
    peerClasses: new Map([...classes.values()].map((c) => [c.key, new Set([...c.peers].map((p) => p.key))])),
  };
};

const byKey = (a: Peer, b: Peer) => (a.publicKey < b.publicKey ? -1 : a.publicKey > b.publicKey ? 1 : 0);

// ---------------------------------------------------------------------------------------------------------------

describe('Topology', () => {
  describe('peers', () => {
    it('default deny: with the empty policy nobody peers and joins change nothing', () => {
      const t = new Topology(compileDoc(EMPTY_POLICY));
      const nodes = [node('a', ['web']), node('b', ['db']), node('c')];
      for (const n of nodes) expect(t.addNode(n).size).toBe(0);
      for (const n of nodes) expect(t.peersOf(n.id)).toEqual([]);
    });

    it('describes a peer by key, endpoint, a /32 allowed IP and the keepalive', () => {
      const a = node('a', [], '198.51.100.1:51820');
      const b = node('b');
      const t = mesh(FULL_MESH, [a, b]);
      expect(t.peersOf(b.id)).toEqual([
        { publicKey: a.publicKey, endpoint: '198.51.100.1:51820', allowedIps: [`${a.address}/32`], persistentKeepalive: PERSISTENT_KEEPALIVE_SECONDS, group: expect.stringMatching(/^g[0-9a-z]+$/), name: 'a' },
      ]);
      expect(t.peersOf(a.id)).toEqual([
        { publicKey: b.publicKey, endpoint: null, allowedIps: [`${b.address}/32`], persistentKeepalive: PERSISTENT_KEEPALIVE_SECONDS, group: expect.stringMatching(/^g[0-9a-z]+$/), name: 'b' },
      ]);
    });

    it('sorts peers by public key and never lists the node itself', () => {
      const nodes = ['d', 'b', 'e', 'a', 'c'].map((n) => node(n));
      const t = mesh(FULL_MESH, nodes);
      expect(peerKeys(t, 'id-c')).toEqual(['pk-a', 'pk-b', 'pk-d', 'pk-e']);
      expect(t.size).toBe(5);
      expect(t.has('id-a')).toBe(true);
      expect(t.has('id-z')).toBe(false);
      expect(t.peersOf('id-z')).toEqual([]);
    });

    it('peers two nodes when either may reach the other (one-way accept), not nodes on the same side', () => {
      const t = mesh([accept(['tag:web'], ['tag:db'])], [node('w1', ['web']), node('w2', ['web']), node('d1', ['db']), node('d2', ['db'])]);
      expect(peerKeys(t, 'id-w1')).toEqual(['pk-d1', 'pk-d2']);
      expect(peerKeys(t, 'id-d1')).toEqual(['pk-w1', 'pk-w2']);
    });

    it('deny wins over accept whatever the rule order', () => {
      for (const acls of [
        [accept(['*'], ['*']), deny(['tag:quarantine'], ['*']), deny(['*'], ['tag:quarantine'])],
        [deny(['tag:quarantine'], ['*']), deny(['*'], ['tag:quarantine']), accept(['*'], ['*'])],
      ]) {
        const t = mesh(acls, [node('a'), node('b', ['web']), node('q', ['web', 'quarantine'])]);
        expect(peerKeys(t, 'id-q')).toEqual([]);
        expect(peerKeys(t, 'id-a')).toEqual(['pk-b']);
        expect(peerKeys(t, 'id-b')).toEqual(['pk-a']);
      }
    });

    it('a one-way deny does not undo a peering the other direction accepts', () => {
      // db may not reach web, but web may reach db: either direction suffices for a peering.
      const t = mesh([accept(['*'], ['*']), deny(['tag:db'], ['tag:web'])], [node('w', ['web']), node('d', ['db'])]);
      expect(peerKeys(t, 'id-w')).toEqual(['pk-d']);
    });

    it('selects by node name and by tag', () => {
      const t = mesh(
        [accept(['alice'], ['tag:db'])],
        [node('alice'), node('bob'), node('db1', ['db']), node('db2', ['db', 'backup']), node('web1', ['web'])],
      );
      expect(peerKeys(t, 'id-alice')).toEqual(['pk-db1', 'pk-db2']);
      expect(peerKeys(t, 'id-bob')).toEqual([]);
      expect(peerKeys(t, 'id-db2')).toEqual(['pk-alice']);
      expect(peerKeys(t, 'id-web1')).toEqual([]);
    });

    it('gives the interface its address with the overlay prefix', () => {
      const a = node('a');
      const t = mesh([], [{ ...a, listenPort: 41641 }]);
      expect(t.interfaceOf(a.id)).toEqual({ address: `${a.address}/10`, listenPort: 41641 });
      expect(t.interfaceOf('id-nope')).toBeNull();
    });

    it('refuses to add a node twice', () => {
      const a = node('a');
      const t = mesh(FULL_MESH, [a]);
      expect(() => t.addNode(a)).toThrow(/already/);
    });

    it('keeps its own copy of the node: mutating the caller\u2019s object changes nothing', () => {
      const a = node('a', ['web'], '192.0.2.1:1');
      const b = node('b');
      const t = mesh([accept(['tag:web'], ['*'])], [a, b]);
      (a.tags as string[]).push('other');
      a.endpoint = '192.0.2.99:1';
      expect(t.peersOf(b.id)[0].endpoint).toBe('192.0.2.1:1');
    });
  });

  describe('change sets', () => {
    it('a join in a * → * mesh touches every other node exactly once, with just the newcomer', () => {
      const others = ['a', 'b', 'c', 'd', 'e'].map((n) => node(n, n === 'c' ? ['web'] : []));
      const t = mesh(FULL_MESH, others);
      const newcomer = node('f', ['db'], '203.0.113.9:51820');
      const changes = t.addNode(newcomer);
      expect(changedIds(changes)).toEqual(others.map((o) => o.id).sort());
      for (const change of changes.values()) {
        expect([...change.upserted.keys()]).toEqual([newcomer.publicKey]);
        expect(change.upserted.get(newcomer.publicKey)).toEqual(t.peersOf(others[0].id).find((p) => p.publicKey === newcomer.publicKey));
        expect(change.removed.size).toBe(0);
      }
      // The newcomer gets its full config on connect; the change set is only for nodes already running.
      expect(changes.has(newcomer.id)).toBe(false);
    });

    it('a join touches only the nodes whose classes see the newcomer', () => {
      const t = mesh([accept(['tag:web'], ['tag:db'])], [node('w', ['web']), node('d', ['db']), node('x', ['ops'])]);
      expect(changedIds(t.addNode(node('d2', ['db'])))).toEqual(['id-w']);
      expect(changedIds(t.addNode(node('x2', ['ops'])))).toEqual([]);
    });

    it('a removal tells exactly its peers to drop its key', () => {
      const t = mesh([accept(['tag:web'], ['tag:db'])], [node('w1', ['web']), node('w2', ['web']), node('d', ['db'])]);
      const changes = t.removeNode('id-d');
      expect(changedIds(changes)).toEqual(['id-w1', 'id-w2']);
      for (const change of changes.values()) {
        expect(change.upserted.size).toBe(0);
        expect([...change.removed]).toEqual(['pk-d']);
      }
      expect(t.has('id-d')).toBe(false);
      expect(peerKeys(t, 'id-w1')).toEqual([]);
      expect(t.removeNode('id-d').size).toBe(0);
    });

    it('an endpoint change re-sends the node to its peers only, and only when it really changed', () => {
      const t = mesh([accept(['tag:web'], ['tag:db'])], [node('w', ['web']), node('d1', ['db']), node('d2', ['db'])]);
      const changes = t.updateEndpoint('id-w', '198.51.100.7:4500');
      expect(changedIds(changes)).toEqual(['id-d1', 'id-d2']);
      expect(changes.get('id-d1')!.upserted.get('pk-w')!.endpoint).toBe('198.51.100.7:4500');
      expect(t.peersOf('id-d2')[0].endpoint).toBe('198.51.100.7:4500');
      expect(t.updateEndpoint('id-w', '198.51.100.7:4500').size).toBe(0);
      expect(t.updateEndpoint('id-unknown', '198.51.100.7:4500').size).toBe(0);
      expect(changedIds(t.updateEndpoint('id-w', null))).toEqual(['id-d1', 'id-d2']);
    });

    it('a change of candidates re-sends the node to its peers, its first candidate as the endpoint unless one is configured', () => {
      const t = mesh([accept(['tag:web'], ['tag:db'])], [node('w', ['web']), node('d1', ['db']), node('d2', ['db'], '198.51.100.9:51820')]);
      const changes = t.updateEndpoint('id-w', null, ['203.0.113.5:51820', '10.0.0.5:51820']);
      expect(changedIds(changes)).toEqual(['id-d1', 'id-d2']);
      expect(changes.get('id-d1')!.upserted.get('pk-w')).toMatchObject({ endpoint: '203.0.113.5:51820', candidates: ['203.0.113.5:51820', '10.0.0.5:51820'] });
      expect(t.updateEndpoint('id-w', null, ['203.0.113.5:51820', '10.0.0.5:51820']).size).toBe(0);
      expect(t.updateEndpoint('id-d2', '198.51.100.9:51820', ['203.0.113.9:51820']).get('id-w')!.upserted.get('pk-d2')!.endpoint).toBe('198.51.100.9:51820');
      expect(t.peersOf('id-d1')[0]).not.toHaveProperty('candidates', []);
      expect(t.updateEndpoint('id-w', null, []).get('id-d1')!.upserted.get('pk-w')).toMatchObject({ endpoint: null });
    });

    it('a rename re-sends the node under its new name, or moves it when the policy names it', () => {
      const t = mesh([accept(['tag:web'], ['tag:db']), accept(['w2'], ['d1'])], [node('w', ['web']), node('d1', ['db']), node('d2', ['db'])]);
      const renamed = t.renameNode('id-d2', 'db-two');
      expect(changedIds(renamed)).toEqual(['id-w']);
      expect(renamed.get('id-w')!.upserted.get('pk-d2')).toMatchObject({ name: 'db-two' });
      expect(t.renameNode('id-d2', 'db-two').size).toBe(0);
      // Now named by the policy: w becomes w2, which may also reach d1 by name — a new class, new rules at d1.
      const moved = t.renameNode('id-w', 'w2');
      expect(moved.get('id-d1')!.parts.firewall).toBeDefined();
      expect(t.identityOf('id-w')!.name).toBe('w2');
      expect(t.peersOf('id-d1').map((p) => p.name)).toEqual(['w2']);
    });

    it('tells each node the groups it may open anything at, which change only when a class that one may reach comes or goes', () => {
      const t = mesh([accept(['tag:web'], ['tag:db:5432']), accept(['tag:backup'], ['tag:backup:873'])], [node('w', ['web']), node('d', ['db'])]);
      const dbGroup = t.peersOf('id-w')[0].group;
      expect(t.partsOf('id-w')!.reachableGroups).toEqual([dbGroup]);
      expect(t.partsOf('id-d')!.reachableGroups).toEqual([]);
      const joined = t.addNode(node('d3', ['db', 'backup']));
      const newGroup = t.peersOf('id-w').find((p) => p.name === 'd3')!.group;
      expect(joined.get('id-w')!.parts.reachableGroups).toEqual([dbGroup, newGroup].sort());
      expect(joined.get('id-d')?.parts.reachableGroups).toBeUndefined();
    });

    it('a policy edit touches only the node pairs whose peering flipped', () => {
      const t = mesh([accept(['tag:web'], ['tag:db'])], [node('w', ['web']), node('d', ['db']), node('o', ['ops'])]);
      const changes = t.setPolicy(compile([accept(['tag:web'], ['tag:db']), accept(['tag:ops'], ['tag:db'])]));
      expect(changedIds(changes)).toEqual(['id-d', 'id-o']);
      expect([...changes.get('id-d')!.upserted.keys()]).toEqual(['pk-o']);
      expect([...changes.get('id-o')!.upserted.keys()]).toEqual(['pk-d']);
      expect(peerKeys(t, 'id-d')).toEqual(['pk-o', 'pk-w']);
    });

    it('re-setting an equivalent policy changes nothing', () => {
      const acls = [accept(['tag:web'], ['tag:db']), deny(['x'], ['*'])];
      const t = mesh(acls, [node('w', ['web']), node('d', ['db']), node('x', ['web'])]);
      expect(t.setPolicy(compile(acls)).size).toBe(0);
      // Same reachability, different selectors: classes get new ids, so peers are re-sent with them, but nobody
      // gains or loses a peer.
      const regrouped = t.setPolicy(compile([accept(['tag:db'], ['tag:web']), deny(['*'], ['x']), accept(['tag:ops'], ['tag:ops'])]));
      for (const change of regrouped.values()) expect(change.removed.size).toBe(0);
      expect(peerKeys(t, 'id-d')).toEqual(['pk-w']);
    });

    it('a policy edit to deny-all removes every peering, and back again restores them', () => {
      const nodes = [node('a'), node('b', ['web']), node('c', ['db'])];
      const t = mesh(FULL_MESH, nodes);
      const off = t.setPolicy(compileDoc(EMPTY_POLICY));
      expect(changedIds(off)).toEqual(['id-a', 'id-b', 'id-c']);
      expect([...off.get('id-a')!.removed].sort()).toEqual(['pk-b', 'pk-c']);
      for (const n of nodes) expect(t.peersOf(n.id)).toEqual([]);
      const on = t.setPolicy(compile(FULL_MESH));
      expect([...on.get('id-b')!.upserted.keys()].sort()).toEqual(['pk-a', 'pk-c']);
      expect(peerKeys(t, 'id-b')).toEqual(['pk-a', 'pk-c']);
    });

    it('joins after a policy edit are judged by the new policy', () => {
      const t = mesh([], [node('a', ['web'])]);
      t.setPolicy(compile([accept(['tag:web'], ['tag:web'])]));
      expect(changedIds(t.addNode(node('b', ['web'])))).toEqual(['id-a']);
      expect(changedIds(t.addNode(node('c', ['db'])))).toEqual([]);
    });
  });

  describe('class bookkeeping', () => {
    const members = (t: Topology) => internals(t).members;
    const peerClasses = (t: Topology) => internals(t).peerClasses;

    it('drops a class, and every reference to it, once its last member leaves', () => {
      const t = mesh([accept(['tag:web'], ['tag:db']), accept(['tag:db'], ['tag:db'])], [node('w', ['web']), node('d', ['db'])]);
      expect([...members(t).keys()].sort()).toEqual(['tag:db', 'tag:web']);
      expect([...peerClasses(t).get('tag:db')!].sort()).toEqual(['tag:db', 'tag:web']);
      t.removeNode('id-d');
      expect([...members(t).keys()]).toEqual(['tag:web']);
      expect([...peerClasses(t).keys()]).toEqual(['tag:web']);
      expect([...peerClasses(t).get('tag:web')!]).toEqual([]);
      t.removeNode('id-w');
      expect(members(t).size).toBe(0);
      expect(peerClasses(t).size).toBe(0);
    });

    it('keeps a class while it still has members', () => {
      const t = mesh(FULL_MESH, [node('a', ['web']), node('b', ['web'])]);
      t.removeNode('id-a');
      expect(members(t).get('')).toEqual(new Set(['id-b']));
    });

    it('drops classes nobody is in after a policy edit', () => {
      const t = mesh([accept(['tag:web'], ['tag:db'])], [node('w', ['web']), node('d', ['db'])]);
      t.setPolicy(compile([accept(['tag:ops'], ['tag:ops'])]));
      expect([...members(t).keys()]).toEqual(['']);
      expect([...peerClasses(t).keys()]).toEqual(['']);
    });
  });

  describe('change sets replayed against each node\u2019s previous peers (seeded random meshes)', () => {
    const TAGS = ['web', 'db', 'ops', 'ci', 'quarantine'];
    const MAX_NODES = 24;

    function randomSelector(rand: () => number): Selector {
      const r = rand();
      if (r < 0.2) return '*';
      if (r < 0.75) return `tag:${TAGS[Math.floor(rand() * TAGS.length)]}`;
      return `n${Math.floor(rand() * MAX_NODES * 1.5)}`;
    }
    function randomSelectors(rand: () => number): Selector[] {
      return Array.from({ length: 1 + Math.floor(rand() * 2) }, () => randomSelector(rand));
    }
    function randomPolicy(rand: () => number): PolicyDocument {
      const count = Math.floor(rand() * 5);
      return {
        acls: Array.from({ length: count }, () => ({
          action: rand() < 0.7 ? 'accept' : 'deny',
          src: randomSelectors(rand),
          dst: randomSelectors(rand),
        } as AclEntry)),
      };
    }
    const randomEndpoint = (rand: () => number) => (rand() < 0.25 ? null : `192.0.2.${Math.floor(rand() * 8)}:51820`);

    /** Reference semantics straight from the document, node by node, independent of the class machinery. */
    function referencePeers(policy: OraclePolicy, of: TopologyNode, all: TopologyNode[]): string[] {
      return all
        .filter((o) => o.id !== of.id && (nodeCanReach(policy, of, o) || nodeCanReach(policy, o, of)))
        .map((o) => o.publicKey)
        .sort();
    }

    interface Held { peers: Map<string, Peer>; parts: PolicyParts }

    /**
     * A random walk of joins, leaves, endpoint moves, policy edits (and, with `schedules`, windows opening and
     * closing). Each node's agent view is built only from change sets after its first config; after every step it
     * must equal the config a topology built from scratch gives, and (for v1 documents) the peers the v1 evaluator
     * gives node by node.
     */
    function run(seed: number, steps: number, options: { policyFile?: boolean; advertise?: boolean } = {}) {
      const rand = seededRandom(seed);
      const makePolicy = () => (options.policyFile ? randomPolicyFile(rand) : randomPolicy(rand));
      let doc: unknown = makePolicy();
      let open = new Set<string>();
      const t = new Topology(compileDoc(doc), open);
      const held = new Map<string, Held>();
      const live = new Map<string, TopologyNode>();
      let serial = 0;
      let lastAddress: string | null = null;
      const counts = { add: 0, remove: 0, endpoint: 0, policy: 0, touched: 0, parts: 0, schedule: 0 };

      for (let step = 0; step < steps; step++) {
        const ids = [...live.keys()];
        const r = rand();
        let changes: ChangeSet;
        let op: string;
        if (ids.length === 0 || (r < 0.4 && ids.length < MAX_NODES)) {
          op = 'add';
          const k = serial++;
          lastAddress = nextAddress(lastAddress);
          const n: TopologyNode = {
            id: `node-${k}`,
            name: `n${k}`,
            tags: TAGS.filter(() => rand() < 0.3),
            publicKey: `key-${String(k).padStart(4, '0')}`,
            address: lastAddress,
            endpoint: randomEndpoint(rand),
            listenPort: 51820,
            ...(options.advertise && rand() < 0.25 ? { advertisedRoutes: [pick(rand, ['10.1.0.0/24', '10.2.0.0/24', '10.1.0.0/16'])] } : {}),
          };
          changes = t.addNode(n);
          live.set(n.id, n);
          counts.add++;
        } else if (r < 0.6) {
          op = 'remove';
          const id = ids[Math.floor(rand() * ids.length)];
          changes = t.removeNode(id);
          expect(changes.has(id)).toBe(false);
          live.delete(id);
          held.delete(id);
          counts.remove++;
        } else if (r < 0.8) {
          op = 'endpoint';
          const id = ids[Math.floor(rand() * ids.length)];
          const endpoint = randomEndpoint(rand);
          changes = t.updateEndpoint(id, endpoint);
          live.set(id, { ...live.get(id)!, endpoint });
          counts.endpoint++;
        } else if (options.policyFile && r < 0.9) {
          op = 'schedule';
          open = rand() < 0.5 ? new Set(['work']) : new Set();
          changes = t.setOpenSchedules(open);
          counts.schedule++;
        } else {
          op = 'policy';
          doc = makePolicy();
          changes = t.setPolicy(compileDoc(doc));
          counts.policy++;
        }
        const context = `seed ${seed}, step ${step} (${op})`;

        for (const [id, change] of changes) {
          const mine = held.get(id);
          if (!mine) throw new Error(`${context}: change for ${id}, which had no config`);
          const before = JSON.stringify([[...mine.peers.values()].sort(byKey), mine.parts]);
          for (const key of change.removed) {
            if (!mine.peers.has(key)) throw new Error(`${context}: ${id} told to remove ${key}, which it did not have`);
            if (change.upserted.has(key)) throw new Error(`${context}: ${id} told to both upsert and remove ${key}`);
            mine.peers.delete(key);
          }
          for (const [key, peer] of change.upserted) {
            if (peer.publicKey !== key) throw new Error(`${context}: ${id} upsert keyed ${key} carries ${peer.publicKey}`);
            const old = mine.peers.get(key);
            if (old && JSON.stringify(old) === JSON.stringify(peer)) throw new Error(`${context}: ${id} re-sent ${key} unchanged`);
            mine.peers.set(key, peer);
          }
          for (const [name, value] of Object.entries(change.parts)) {
            if (JSON.stringify((mine.parts as unknown as Record<string, unknown>)[name]) === JSON.stringify(value)) {
              throw new Error(`${context}: ${id} re-sent ${name} unchanged`);
            }
            (mine.parts as unknown as Record<string, unknown>)[name] = value;
            counts.parts++;
          }
          if (JSON.stringify([[...mine.peers.values()].sort(byKey), mine.parts]) === before) throw new Error(`${context}: entry for ${id}, whose config did not change`);
          counts.touched++;
        }
        // A node just added gets its first full config; from then on it only learns through change sets.
        for (const id of live.keys()) {
          if (!held.has(id)) held.set(id, { peers: new Map(t.peersOf(id).map((p) => [p.publicKey, p])), parts: structuredClone(t.partsOf(id)!) });
        }

        const all = [...live.values()];
        const fresh = new Topology(compileDoc(doc), open);
        for (const n of all) fresh.restoreNode(n);
        const v1 = options.policyFile ? null : new OraclePolicy(doc as PolicyDocument);
        const endpoints = new Map(all.map((n) => [n.publicKey, n.endpoint]));
        for (const n of all) {
          const expected = fresh.configOf(n.id)!;
          const mine = held.get(n.id)!;
          const actual = { interface: t.interfaceOf(n.id), peers: [...mine.peers.values()].sort(byKey), ...mine.parts };
          if (JSON.stringify(actual) !== JSON.stringify(expected)) {
            expect({ context, node: n.id, config: actual }).toEqual({ context, node: n.id, config: expected });
          }
          if (v1) {
            const reference = referencePeers(v1, n, all);
            const keys = expected.peers.map((p) => p.publicKey);
            if (JSON.stringify(keys) !== JSON.stringify(reference)) expect({ context, node: n.id, peers: keys }).toEqual({ context, node: n.id, peers: reference });
          }
          for (const p of expected.peers) {
            if (p.endpoint !== endpoints.get(p.publicKey)) throw new Error(`${context}: ${n.id} dials ${p.publicKey} at a stale endpoint`);
          }
        }
        if (t.size !== live.size) throw new Error(`${context}: topology holds ${t.size} nodes, expected ${live.size}`);
      }
      return counts;
    }

    const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    /** Ports, protocols, denies, routed prefixes as sources and destinations, QoS, routes, autoApprovers, a schedule. */
    function randomPolicyFile(rand: () => number): unknown {
      const sel = () => pick(rand, ['*', 'tag:web', 'tag:db', 'tag:ops', 'tag:ci', 'n1', 'n4', '10.9.0.0/24']);
      const dst = () => pick(rand, ['*:*', 'tag:web:22', 'tag:db:5432,8000-8100', 'tag:ops:*', 'n2:80', '10.1.0.0/24:*', '10.1.0.128/25:22', '10.2.0.0/24:443', 'autogroup:internet:*']);
      const acls = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => ({
        action: rand() < 0.75 ? 'accept' : 'deny',
        src: [sel()].concat(rand() < 0.3 ? [sel()] : []).filter((x) => x !== '10.9.0.0/24' || rand() < 0.5),
        dst: [dst()].concat(rand() < 0.3 ? [dst()] : []),
        ...(rand() < 0.2 ? { proto: pick(rand, ['tcp', 'udp']) } : {}),
        ...(rand() < 0.3 ? { schedule: 'work' } : {}),
      })).map((a) => (a.src.length ? a : { ...a, src: ['*'] }));
      return {
        schedules: { work: { timeZone: 'Europe/Berlin', days: ['mon', 'tue'], start: '09:00', end: '17:00' } },
        acls,
        qos: rand() < 0.5 ? [{ src: [pick(rand, ['*', 'tag:web', 'n1'])], dst: [pick(rand, ['tag:db', '*', '10.1.0.0/24'])], rateMbit: 20, ...(rand() < 0.5 ? { schedule: 'work' } : {}) }] : [],
        routes: rand() < 0.5 ? { '10.2.0.0/24': [pick(rand, ['n3', 'tag:ops'])] } : {},
        autoApprovers: { routes: rand() < 0.7 ? { '10.1.0.0/16': ['tag:ops', 'tag:web'] } : {} },
      };
    }

    it.each([3, 11, 2026])('seed %i (policy files: ports, routes, qos, schedules): 250 steps match a topology built from scratch', (seed) => {
      const counts = run(seed, 250, { policyFile: true, advertise: true });
      expect(counts.schedule).toBeGreaterThan(10);
      expect(counts.parts).toBeGreaterThan(20);
      expect(counts.touched).toBeGreaterThan(100);
    });

    it.each([1, 7, 42, 1234, 98765])('seed %i: 300 steps of add/remove/updateEndpoint/setPolicy', (seed) => {
      const counts = run(seed, 300);
      // The walk really exercised every operation and produced non-trivial change sets.
      expect(counts.add).toBeGreaterThan(20);
      expect(counts.remove).toBeGreaterThan(20);
      expect(counts.endpoint).toBeGreaterThan(20);
      expect(counts.policy).toBeGreaterThan(10);
      expect(counts.touched).toBeGreaterThan(100);
    });
  });
});
