import { PolicyDocument, Selector } from './policy-document';

// A test oracle (see policy-document.ts): the first API's evaluator, which the live engine's answers are checked against.

/**
 * A policy compiled for reachability between identity classes rather than between nodes. A node's class is the set
 * of selectors of the policy it matches (its name, its tags); nodes of one class are indistinguishable to the policy,
 * so reachability is decided once per pair of classes, and a 10,000-node tenant with a handful of tags costs a
 * handful of decisions, not 10⁸.
 */
export interface NodeIdentity {
  name: string;
  tags: readonly string[];
}

interface CompiledRule {
  action: 'accept' | 'deny';
  srcAll: boolean;
  src: ReadonlySet<Selector>;
  dstAll: boolean;
  dst: ReadonlySet<Selector>;
}

export class CompiledPolicy {
  private readonly rules: CompiledRule[];
  /** Every name/tag selector used anywhere: a class is a subset of these. */
  private readonly selectors: ReadonlySet<Selector>;

  constructor(readonly document: PolicyDocument) {
    this.rules = document.acls.map((acl) => ({
      action: acl.action,
      srcAll: acl.src.includes('*'),
      src: new Set(acl.src.filter((s) => s !== '*')),
      dstAll: acl.dst.includes('*'),
      dst: new Set(acl.dst.filter((s) => s !== '*')),
    }));
    const selectors = new Set<Selector>();
    for (const r of this.rules) for (const s of [...r.src, ...r.dst]) selectors.add(s);
    this.selectors = selectors;
  }

  /** The class key of a node: the sorted selectors it matches, joined. Equal keys mean equal treatment. */
  classOf(node: NodeIdentity): string {
    const matched: string[] = [];
    if (this.selectors.has(node.name)) matched.push(node.name);
    for (const tag of node.tags) if (this.selectors.has(`tag:${tag}`)) matched.push(`tag:${tag}`);
    return matched.sort().join(',');
  }

  /** May a node of class `from` reach a node of class `to`? Default deny; deny wins over accept. */
  canReach(from: string, to: string): boolean {
    const fromSet = splitClass(from);
    const toSet = splitClass(to);
    let accepted = false;
    for (const rule of this.rules) {
      if (!matches(rule.srcAll, rule.src, fromSet) || !matches(rule.dstAll, rule.dst, toSet)) continue;
      if (rule.action === 'deny') return false;
      accepted = true;
    }
    return accepted;
  }

  /** Two nodes are peers when either may reach the other. */
  arePeers(a: string, b: string): boolean {
    return this.canReach(a, b) || this.canReach(b, a);
  }
}

const classCache = new Map<string, ReadonlySet<string>>();
function splitClass(key: string): ReadonlySet<string> {
  let set = classCache.get(key);
  if (!set) {
    set = new Set(key === '' ? [] : key.split(','));
    if (classCache.size > 100_000) classCache.clear();
    classCache.set(key, set);
  }
  return set;
}

function matches(all: boolean, selectors: ReadonlySet<string>, cls: ReadonlySet<string>): boolean {
  if (all) return true;
  for (const s of cls) if (selectors.has(s)) return true;
  return false;
}

/** Node-level answer, for callers that think in nodes (tests, audit questions). */
export function nodeCanReach(policy: CompiledPolicy, from: NodeIdentity, to: NodeIdentity): boolean {
  return policy.canReach(policy.classOf(from), policy.classOf(to));
}
