import { DEFAULT_ROUTES, formatPrefix, parsePrefix, Prefix, prefixContains, prefixesOverlap } from '@meshgate/contracts/ip';
import { AclRule, Alias, PolicyFile } from './policy-file';
import { PortRange, Reach, ReachBuilder } from './ports';
import { canonicalTag, groupMemberMatches, userAliasMatches } from './tag-owners';
import type { Role } from '../tenant/tenant';

/**
 * A policy compiled for reachability between identity classes. A node's class is the set of atoms of the policy
 * it matches (its name, its tags, its owner when untagged, prefixes covering its address); nodes of one class are
 * indistinguishable to the policy, so each question is answered once per pair of classes and memoised — a
 * 10,000-node tenant with a handful of tags costs a handful of decisions, not 10⁸.
 *
 * Answers are (protocol, port ranges); deny wins over accept whatever the order; default deny. Rules with a
 * schedule count only when the caller says that schedule is open: there is no clock in here.
 */
export interface Identity {
  id: string;
  name: string;
  tags: readonly string[];
  /**
   * The owner's email, while the owner is a member of the tenant; absent for a node no user owns (enrolled with a
   * tagged key, registered before owners were recorded, or whose owner left the tenant). As in Tailscale, a tagged
   * node is identified by its tags, never by its user: user, group and autogroup:member/admin/owner/self selectors
   * name untagged nodes with an owner only.
   */
  user?: string;
  /** The owner's role in the tenant (for autogroup:admin / autogroup:owner). */
  role?: Role;
  /**
   * The owner's IdP groups as of their latest single sign-on (for `idp:<group>` members of policy groups). Only the
   * groups the policy names enter the node's class, so they split classes only when a policy names `idp:` members.
   */
  groups?: readonly string[];
  /** Overlay addresses ("100.64.0.7"). */
  addresses: readonly string[];
  /** Prefixes the node offers to route (subnet router / exit node), and those an admin approved. */
  advertisedRoutes?: readonly string[];
  approvedRoutes?: readonly string[];
  /** Name of the exit node this node chose to use, if any. */
  exitNode?: string;
}

/** Names of the schedules whose windows are open now (from ScheduleWindowOpened/Closed events). */
export type OpenSchedules = ReadonlySet<string>;
export const NO_SCHEDULES_OPEN: OpenSchedules = new Set();

interface Matcher {
  all: boolean;
  atoms: ReadonlySet<string>;
  /** Prefixes named (directly or as hosts): for destinations and sources outside the overlay (routed subnets). */
  prefixes: Prefix[];
  self: boolean;
  internet: boolean;
}
interface CompiledDst extends Matcher {
  ports: PortRange[];
}
interface CompiledRule {
  action: 'accept' | 'deny';
  src: Matcher;
  dst: CompiledDst[];
  protos: number[];
  schedule?: string;
}
export interface CompiledQos {
  index: number;
  src: Matcher;
  dst: Matcher;
  rateMbit: number;
  schedule?: string;
}

const NOTHING: Reach = Object.freeze([]) as Reach;
/** A default route, `0.0.0.0/0` or `::/0` (in any spelling: events written before RFC 5952 spelled it out). */
export const isExitRoute = (prefix: string): boolean =>
  DEFAULT_ROUTES.includes(prefix) || (prefix.endsWith('/0') && parsePrefix(prefix)?.bits === 0);

export class CompiledPolicy {
  private readonly rules: CompiledRule[];
  readonly qos: CompiledQos[];
  private readonly nodeAtoms = new Set<string>();
  private readonly ipAtoms: Array<{ atom: string; prefix: Prefix }> = [];
  private readonly usesSelf: boolean;
  /** Prefixes named as ACL sources (LANs behind routers, or overlay addresses), sorted: every firewall asks for them. */
  readonly sourcePrefixes: readonly string[];
  /** Rules by the atoms their sources name (and those whose source is `*`): a class is only checked against its own. */
  private readonly rulesBySrcAtom = new Map<string, number[]>();
  private readonly srcAll: number[] = [];
  private readonly candidateMemo = new Map<string, CompiledRule[]>();
  /** open-schedules key → from class → to class → answer; nested so a lookup builds no key strings. */
  private readonly memo = new Map<string, Map<string, Map<string, Reach>>>();
  private memoSize = 0;

  constructor(readonly policy: PolicyFile) {
    this.rules = policy.acls.map((acl) => this.compileRule(acl));
    this.rules.forEach((rule, i) => {
      if (rule.src.all) this.srcAll.push(i);
      for (const atom of rule.src.atoms) {
        const list = this.rulesBySrcAtom.get(atom) ?? [];
        list.push(i);
        this.rulesBySrcAtom.set(atom, list);
      }
    });
    this.qos = policy.qos.map((q, index) => ({ index, src: this.matcher(q.src), dst: this.matcher(q.dst), rateMbit: q.rateMbit, schedule: q.schedule }));
    this.usesSelf = this.rules.some((r) => r.dst.some((d) => d.self));
    this.sourcePrefixes = [...new Set(this.rules.flatMap((r) => r.src.prefixes.map(formatPrefix)))].sort();
  }

  /**
   * Whether every node has the same class and serves the same routes under `other` as under this policy: then a
   * policy edit that keeps its groups (new ports, another rule between them) need not classify every node again.
   */
  classifiesLike(other: CompiledPolicy): boolean {
    return other === this || other.classification === this.classification;
  }

  /** What classOf and servedRoutes read of the policy, as one string (built once, when first compared). */
  private get classification(): string {
    this.classificationText ??= JSON.stringify([
      [...this.nodeAtoms].sort(), this.ipAtoms.map((a) => a.atom).sort(), this.usesSelf,
      this.policy.routes, this.policy.autoApprovers, [...this.policy.groups].sort(([a], [b]) => a.localeCompare(b)),
    ]);
    return this.classificationText;
  }
  private classificationText: string | undefined;

  /** The class key of a node: its matched atoms, sorted and joined. Equal keys mean equal treatment. */
  classOf(node: Identity): string {
    const matched: string[] = [];
    const consider = (atom: string) => this.nodeAtoms.has(atom) && matched.push(atom);
    consider(`node:${node.name}`);
    for (const tag of node.tags) consider(canonicalTag(tag));
    const tagged = node.tags.length > 0;
    if (tagged) consider('tagged');
    if (!tagged && node.user !== undefined) {
      // A user alias is an email, or headscale's domainless `alice@` naming the email's local part.
      const email = node.user.toLowerCase();
      consider('member');
      consider(`user:${email}`);
      if (email.includes('@')) consider(`user:${email.slice(0, email.lastIndexOf('@'))}`);
      if (node.role !== undefined) consider(`role:${node.role}`);
      for (const group of node.groups ?? []) consider(`idp:${group}`);
      if (this.usesSelf) matched.push(`self:${email}`);
    }
    if (this.ipAtoms.length > 0) {
      const addresses = node.addresses.map(parsePrefix).filter((p): p is Prefix => p !== null);
      for (const { atom, prefix } of this.ipAtoms) if (addresses.some((a) => prefixContains(prefix, a))) matched.push(atom);
    }
    // A policy change asks this of every node: most match one atom or none.
    if (matched.length < 2) return matched[0] ?? '';
    return [...new Set(matched)].sort().join('\n');
  }

  /** What a node of class `from` may reach on a node of class `to`. */
  reach(from: string, to: string, open: OpenSchedules = NO_SCHEDULES_OPEN): Reach {
    const openKey = this.openKey(open);
    let byFrom = this.memo.get(openKey);
    if (!byFrom) this.memo.set(openKey, (byFrom = new Map()));
    let byTo = byFrom.get(from);
    if (!byTo) byFrom.set(from, (byTo = new Map()));
    let reach = byTo.get(to);
    if (!reach) {
      const [fromSet, toSet] = [splitClass(from), splitClass(to)];
      reach = this.decide(open, this.rulesFrom(from), (d) => matchesClass(d, toSet) || (d.self && sameSelf(fromSet, toSet)));
      if (reach.length === 0) reach = NOTHING;
      // Bounded: 4M answers is a tenant of 2,000 classes; past that, start over rather than grow without limit.
      if (++this.memoSize > 4_000_000) {
        this.memo.clear();
        this.memoSize = 0;
      }
      byTo.set(to, reach);
    }
    return reach;
  }

  /** Two classes are peers when either may reach the other on anything. */
  arePeers(a: string, b: string, open: OpenSchedules = NO_SCHEDULES_OPEN): boolean {
    return this.reach(a, b, open).length > 0 || this.reach(b, a, open).length > 0;
  }

  /**
   * What class `from` may reach inside a routed prefix `dst` (a subnet, or the internet via an exit node). A rule
   * counts when its destination covers all of `dst`: `*`, a prefix containing it, or autogroup:internet for a
   * default route. Narrower rules are asked about with their own prefix (see `destinationsWithin`).
   */
  reachPrefix(from: string, dst: string, open: OpenSchedules = NO_SCHEDULES_OPEN): Reach {
    const target = parsePrefix(dst);
    if (!target) return [];
    return this.decide(open, this.rulesFrom(from), (d) => coversPrefix(d, target));
  }

  /** What traffic from an outside source prefix (say, a LAN behind a subnet router) may reach class `to`. */
  reachFromPrefix(src: string, to: string, open: OpenSchedules = NO_SCHEDULES_OPEN): Reach {
    const source = parsePrefix(src);
    if (!source) return [];
    const toSet = splitClass(to);
    const rules = this.rules.filter((r) => !r.src.all && r.src.prefixes.some((p) => prefixContains(p, source)));
    return this.decide(open, rules, (d) => matchesClass(d, toSet));
  }

  /** May class `from` use route `prefix` at all? Any accept overlapping it gives the route; the router filters the rest. */
  mayUseRoute(from: string, prefix: string, open: OpenSchedules = NO_SCHEDULES_OPEN): boolean {
    const target = parsePrefix(prefix);
    if (!target) return false;
    return this.rulesFrom(from).some((r) => r.action === 'accept' && this.active(r, open)
      && r.dst.some((d) => coversPrefix(d, target) || d.prefixes.some((p) => prefixesOverlap(p, target))));
  }

  /** Prefixes named as ACL destinations strictly inside `route` (besides the route itself), most specific first. */
  destinationsWithin(route: string): string[] {
    const outer = parsePrefix(route);
    if (!outer) return [];
    const inner = new Map<string, Prefix>();
    for (const r of this.rules) for (const d of r.dst) for (const p of d.prefixes) {
      if (prefixContains(outer, p) && p.bits > outer.bits) inner.set(formatPrefix(p), p);
    }
    return [...inner.entries()].sort((a, b) => b[1].bits - a[1].bits || (a[0] < b[0] ? -1 : 1)).map(([k]) => k);
  }


  /** Whether the policy makes `node` a relay (`relays`). */
  /** Whether the policy chooses any relays at all (most do not): then no node need be asked `isRelay`. */
  get hasRelays(): boolean {
    return this.policy.relays.length > 0;
  }

  isRelay(node: Identity): boolean {
    return this.policy.relays.some((a) => this.identityMatches(a, node));
  }

  /** The routes `node` serves: those the policy gives it, and those it advertises that are approved. */
  servedRoutes(node: Identity): string[] {
    const served = new Set<string>();
    for (const route of this.policy.routes) if (route.via.some((a) => this.identityMatches(a, node))) served.add(route.prefix);
    for (const text of node.advertisedRoutes ?? []) {
      const adv = parsePrefix(text);
      if (!adv) continue;
      const canonical = formatPrefix(adv);
      const approved = (node.approvedRoutes ?? []).some((a) => parsePrefix(a) && formatPrefix(parsePrefix(a)!) === canonical)
        || (isExitRoute(canonical)
          ? this.policy.autoApprovers.exitNode.some((a) => this.identityMatches(a, node))
          : this.policy.autoApprovers.routes.some((r) => prefixContains(parsePrefix(r.prefix)!, adv) && r.approvers.some((a) => this.identityMatches(a, node))));
      if (approved) served.add(canonical);
    }
    return [...served].sort();
  }

  isActive(schedule: string | undefined, open: OpenSchedules): boolean {
    return schedule === undefined || open.has(schedule);
  }

  /** Direct alias match on one identity, for routers and approvers (outside the class machinery: they are few). */
  identityMatches(alias: Alias, node: Identity): boolean {
    const tagged = node.tags.length > 0;
    switch (alias.kind) {
      case 'node': return alias.node === node.name;
      case 'tag': return node.tags.some((t) => canonicalTag(t) === alias.tag);
      case 'user': return !tagged && node.user !== undefined && userAliasMatches(alias.user, node.user);
      case 'group': return !tagged && node.user !== undefined
        && (this.policy.groups.get(alias.group) ?? []).some((m) => groupMemberMatches(m, { email: node.user, groups: node.groups }));
      default: return false;
    }
  }

  /**
   * The rules whose source matches class `from`, in document order: found through the atom index, so a policy of
   * 1,000 rules costs a class the handful that name it, not 1,000 checks per question.
   */
  private rulesFrom(from: string): CompiledRule[] {
    let rules = this.candidateMemo.get(from);
    if (!rules) {
      const indexes = new Set<number>(this.srcAll);
      for (const atom of splitClass(from)) for (const i of this.rulesBySrcAtom.get(atom) ?? []) indexes.add(i);
      rules = [...indexes].sort((a, b) => a - b).map((i) => this.rules[i]);
      if (this.candidateMemo.size > 100_000) this.candidateMemo.clear();
      this.candidateMemo.set(from, rules);
    }
    return rules;
  }

  private decide(open: OpenSchedules, rules: readonly CompiledRule[], dst: (d: CompiledDst) => boolean): Reach {
    const accepted = new ReachBuilder();
    const denied = new ReachBuilder();
    for (const rule of rules) {
      if (!this.active(rule, open)) continue;
      const into = rule.action === 'accept' ? accepted : denied;
      for (const d of rule.dst) if (dst(d)) for (const proto of rule.protos) into.add(proto, d.ports);
    }
    return accepted.minus(denied);
  }

  private active(rule: CompiledRule, open: OpenSchedules): boolean {
    return this.isActive(rule.schedule, open);
  }

  /** Only schedules the policy names matter to an answer, so only they enter the memo key. */
  private openKey(open: OpenSchedules): string {
    if (open.size === 0) return '';
    return [...open].filter((s) => this.policy.schedules.has(s)).sort().join(',');
  }

  private compileRule(acl: AclRule): CompiledRule {
    return {
      action: acl.action,
      src: this.matcher(acl.src),
      dst: acl.dst.map((d) => ({ ...this.matcher([d.alias]), ports: d.ports })),
      protos: acl.protos,
      schedule: acl.schedule,
    };
  }

  private matcher(aliases: readonly Alias[]): Matcher {
    const m = { all: false, atoms: new Set<string>(), prefixes: [] as Prefix[], self: false, internet: false };
    const atom = (a: string) => {
      m.atoms.add(a);
      this.nodeAtoms.add(a);
    };
    const ip = (text: string) => {
      const p = parsePrefix(text)!;
      const key = `ip:${formatPrefix(p)}`;
      m.atoms.add(key);
      if (!this.ipAtoms.some((x) => x.atom === key)) this.ipAtoms.push({ atom: key, prefix: p });
      m.prefixes.push(p);
    };
    for (const alias of aliases) {
      switch (alias.kind) {
        case 'all': m.all = true; break;
        case 'node': atom(`node:${alias.node}`); break;
        case 'tag': atom(alias.tag); break;
        case 'user': atom(`user:${alias.user.toLowerCase()}`); break;
        case 'group': for (const u of this.policy.groups.get(alias.group) ?? []) atom(u.startsWith('idp:') ? u : `user:${u.toLowerCase()}`); break;
        case 'host': ip(this.policy.hosts.get(alias.host)!); break;
        case 'prefix': ip(alias.prefix); break;
        case 'autogroup':
          if (alias.autogroup === 'member' || alias.autogroup === 'tagged') atom(alias.autogroup);
          else if (alias.autogroup === 'admin' || alias.autogroup === 'owner') atom(`role:${alias.autogroup}`);
          else if (alias.autogroup === 'self') m.self = true;
          else m.internet = true;
          break;
      }
    }
    return m;
  }
}

const classCache = new Map<string, ReadonlySet<string>>();
export function splitClass(key: string): ReadonlySet<string> {
  let set = classCache.get(key);
  if (!set) {
    set = new Set(key === '' ? [] : key.split('\n'));
    if (classCache.size > 100_000) classCache.clear();
    classCache.set(key, set);
  }
  return set;
}

export function matchesClass(m: Matcher, cls: ReadonlySet<string>): boolean {
  if (m.all) return true;
  for (const a of cls) if (m.atoms.has(a)) return true;
  return false;
}

function sameSelf(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  for (const x of a) if (x.startsWith('self:') && b.has(x)) return true;
  return false;
}

function coversPrefix(d: Matcher, target: Prefix): boolean {
  if (d.all) return true;
  if (d.internet && isExitRoute(formatPrefix(target))) return true;
  return d.prefixes.some((p) => prefixContains(p, target));
}

/** Node-level answer, for callers that think in nodes (tests, previews, audit questions). */
export function nodeReach(policy: CompiledPolicy, from: Identity, to: Identity, open: OpenSchedules = NO_SCHEDULES_OPEN): Reach {
  return policy.reach(policy.classOf(from), policy.classOf(to), open);
}
