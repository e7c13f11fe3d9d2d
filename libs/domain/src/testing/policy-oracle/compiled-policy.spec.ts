import { seededRandom } from '../../shared/prng';
import { CompiledPolicy, NodeIdentity, nodeCanReach } from './compiled-policy';
import { AclEntry, EMPTY_POLICY, PolicyDocument, Selector } from './policy-document';

const compile = (...acls: AclEntry[]) => new CompiledPolicy({ acls });
const accept = (src: Selector[], dst: Selector[]): AclEntry => ({ action: 'accept', src, dst });
const deny = (src: Selector[], dst: Selector[]): AclEntry => ({ action: 'deny', src, dst });
const n = (name: string, ...tags: string[]): NodeIdentity => ({ name, tags });

describe('CompiledPolicy (ACL evaluation)', () => {
  describe('classOf', () => {
    const policy = compile(accept(['tag:web', 'alice'], ['tag:db']), deny(['*'], ['tag:quarantine']));

    it('is the sorted list of the policy\u2019s selectors a node matches', () => {
      expect(policy.classOf(n('alice', 'web', 'db'))).toBe('alice,tag:db,tag:web');
      expect(policy.classOf(n('bob', 'quarantine', 'web'))).toBe('tag:quarantine,tag:web');
    });

    it('ignores names and tags the policy never mentions, so such nodes share one class', () => {
      expect(policy.classOf(n('bob', 'ops', 'ci'))).toBe('');
      expect(policy.classOf(n('carol'))).toBe('');
      expect(policy.classOf(n('dave', 'db', 'ops'))).toBe(policy.classOf(n('erin', 'db')));
    });

    it('does not treat a tag as a name or a name as a tag', () => {
      const p = compile(accept(['web'], ['tag:alice']));
      expect(p.classOf(n('alice', 'web'))).toBe('');
      expect(p.classOf(n('web', 'alice'))).toBe('tag:alice,web');
    });

    it('puts everyone in the empty class under the empty policy', () => {
      expect(new CompiledPolicy(EMPTY_POLICY).classOf(n('alice', 'web'))).toBe('');
    });
  });

  describe('canReach / nodeCanReach', () => {
    it('denies by default', () => {
      const p = new CompiledPolicy(EMPTY_POLICY);
      expect(nodeCanReach(p, n('a'), n('b'))).toBe(false);
      expect(p.canReach('', '')).toBe(false);
      expect(nodeCanReach(compile(accept(['tag:web'], ['tag:db'])), n('a', 'ops'), n('b', 'db'))).toBe(false);
    });

    it('* matches every node, including those in no class', () => {
      const p = compile(accept(['*'], ['*']));
      expect(nodeCanReach(p, n('a'), n('b'))).toBe(true);
      expect(nodeCanReach(p, n('a', 'web'), n('b', 'db'))).toBe(true);
    });

    it('is directional', () => {
      const p = compile(accept(['tag:web'], ['tag:db']));
      expect(nodeCanReach(p, n('w', 'web'), n('d', 'db'))).toBe(true);
      expect(nodeCanReach(p, n('d', 'db'), n('w', 'web'))).toBe(false);
      expect(nodeCanReach(p, n('w1', 'web'), n('w2', 'web'))).toBe(false);
    });

    it('matches a rule when any of its selectors matches, by name or by tag', () => {
      const p = compile(accept(['alice', 'tag:ops'], ['tag:db', 'printer']));
      expect(nodeCanReach(p, n('alice'), n('printer'))).toBe(true);
      expect(nodeCanReach(p, n('bob', 'ops'), n('x', 'db'))).toBe(true);
      expect(nodeCanReach(p, n('bob'), n('printer'))).toBe(false);
      expect(nodeCanReach(p, n('alice'), n('scanner'))).toBe(false);
    });

    it('lets a deny win over an accept, whichever comes first', () => {
      for (const p of [
        compile(accept(['*'], ['*']), deny(['tag:web'], ['tag:db'])),
        compile(deny(['tag:web'], ['tag:db']), accept(['*'], ['*'])),
        compile(accept(['tag:web'], ['tag:db']), deny(['*'], ['bob'])),
      ]) {
        expect(nodeCanReach(p, n('bob', 'web'), n('d', 'db'))).toBe(p.document.acls.some((a) => a.dst.includes('bob')));
        expect(nodeCanReach(p, n('w', 'web'), n('bob', 'db'))).toBe(false);
      }
    });

    it('a deny of one direction leaves the other direction open', () => {
      const p = compile(accept(['*'], ['*']), deny(['tag:web'], ['tag:db']));
      expect(nodeCanReach(p, n('w', 'web'), n('d', 'db'))).toBe(false);
      expect(nodeCanReach(p, n('d', 'db'), n('w', 'web'))).toBe(true);
    });

    it('a deny only removes what it matches', () => {
      const p = compile(accept(['*'], ['*']), deny(['tag:quarantine'], ['*']));
      expect(nodeCanReach(p, n('q', 'web', 'quarantine'), n('a'))).toBe(false);
      expect(nodeCanReach(p, n('a'), n('q', 'quarantine'))).toBe(true);
      expect(nodeCanReach(p, n('a', 'web'), n('b'))).toBe(true);
    });
  });

  describe('arePeers', () => {
    it('holds when either side may reach the other, and is symmetric', () => {
      const p = compile(accept(['tag:web'], ['tag:db']));
      const web = p.classOf(n('w', 'web'));
      const db = p.classOf(n('d', 'db'));
      expect(p.arePeers(web, db)).toBe(true);
      expect(p.arePeers(db, web)).toBe(true);
      expect(p.arePeers(web, web)).toBe(false);
      expect(p.arePeers(db, '')).toBe(false);
    });

    it('is false only when both directions are denied or never accepted', () => {
      const p = compile(accept(['*'], ['*']), deny(['tag:web'], ['tag:db']), deny(['tag:db'], ['tag:web']));
      expect(p.arePeers(p.classOf(n('w', 'web')), p.classOf(n('d', 'db')))).toBe(false);
      expect(p.arePeers(p.classOf(n('w', 'web')), p.classOf(n('x')))).toBe(true);
    });
  });

  describe('against a node-by-node reading of the document (seeded random policies)', () => {
    const TAGS = ['web', 'db', 'ops', 'ci', 'quarantine'];
    const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];

    const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const selector = (rand: () => number): Selector => {
      const r = rand();
      return r < 0.15 ? '*' : r < 0.65 ? `tag:${pick(rand, TAGS)}` : pick(rand, NAMES);
    };

    /** The rule, read literally: some deny matching (from, to) refuses; otherwise some accept must match. */
    function reference(doc: PolicyDocument, from: NodeIdentity, to: NodeIdentity): boolean {
      const hit = (sels: Selector[], x: NodeIdentity) => sels.some((s) => s === '*' || s === x.name || x.tags.some((t) => s === `tag:${t}`));
      const matching = doc.acls.filter((a) => hit(a.src, from) && hit(a.dst, to));
      return matching.length > 0 && matching.every((a) => a.action === 'accept');
    }

    it('agrees with the literal reading on 200 random policies, and equal classes mean equal treatment', () => {
      const rand = seededRandom(2026);
      for (let round = 0; round < 200; round++) {
        const doc: PolicyDocument = {
          acls: Array.from({ length: Math.floor(rand() * 6) }, () => ({
            action: rand() < 0.7 ? 'accept' : 'deny',
            src: Array.from({ length: 1 + Math.floor(rand() * 3) }, () => selector(rand)),
            dst: Array.from({ length: 1 + Math.floor(rand() * 3) }, () => selector(rand)),
          } as AclEntry)),
        };
        const policy = new CompiledPolicy(doc);
        const nodes = NAMES.flatMap((name) => [n(name, ...TAGS.filter(() => rand() < 0.35)), n(name)]);
        nodes.push(n('zed', 'other'));
        const reach = nodes.map((a) => nodes.map((b) => reference(doc, a, b)));
        nodes.forEach((a, i) => nodes.forEach((b, j) => {
          if (nodeCanReach(policy, a, b) !== reach[i][j]) {
            throw new Error(`round ${round}: ${JSON.stringify(a)} → ${JSON.stringify(b)} under ${JSON.stringify(doc)} should be ${reach[i][j]}`);
          }
          if (policy.arePeers(policy.classOf(a), policy.classOf(b)) !== (reach[i][j] || reach[j][i])) {
            throw new Error(`round ${round}: arePeers(${a.name}, ${b.name}) should be ${reach[i][j] || reach[j][i]}`);
          }
        }));
        // Two nodes of one class are indistinguishable: same answer towards and from every other node.
        nodes.forEach((a, i) => nodes.forEach((b, j) => {
          if (policy.classOf(a) !== policy.classOf(b)) return;
          nodes.forEach((_, k) => {
            if (reach[i][k] !== reach[j][k] || reach[k][i] !== reach[k][j]) {
              throw new Error(`round ${round}: ${a.name} and ${b.name} share class "${policy.classOf(a)}" but are treated differently`);
            }
          });
        }));
      }
    });
  });
});
