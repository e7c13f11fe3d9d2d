import { CompiledPolicyV2, Identity, isExitRoute, matchesClass, NO_SCHEDULES_OPEN, OpenSchedules, splitClass } from './evaluate';
import { canonicalPrefix, excludePrefixes, formatPrefix, parsePrefix, prefixContains } from './ip';
import { formatPorts, hasPorts, protoName, Reach } from './ports';

/**
 * What one node must enforce, as plain data in the shapes of libs/contracts' NodeConfig (FirewallRule, QosRule,
 * RouteConfig), with one optional addition: `dst` on a firewall rule, for traffic a subnet router forwards into the
 * prefixes it serves. The types are restated here because libs/domain does not import contracts; they stay
 * assignable to them.
 *
 * Semantics the agent relies on:
 * - firewall: inbound on the WireGuard interface, default drop, accept by rule. Rules without `dst` are for the
 *   node itself. Rules with `dst` are for traffic it forwards into a served prefix; their `dst` lists are disjoint
 *   (a prefix named inside a wider one is cut out of it), so "accept if any rule matches" is exact.
 * - qos: enforced at the destination node on traffic from `src`, one aggregate limit per policy entry.
 * - routes: `via` is the overlay address of the router; the agent adds the prefix to that peer's AllowedIPs and
 *   an `ip route` into the interface.
 */
export interface PolicyFirewallRule {
  action: 'accept';
  src: string[];
  proto?: string;
  ports?: string;
  dst?: string[];
}
export interface PolicyQosRule {
  src: string[];
  rateMbit: number;
}
export interface PolicyRoute {
  destination: string;
  via: string;
}
export interface NodePolicyConfig {
  firewall: PolicyFirewallRule[];
  qos: PolicyQosRule[];
  routes: PolicyRoute[];
}

interface ClassGroup {
  cls: string;
  members: Identity[];
}

/** Built once per (policy, node set, open schedules); then answers per node. Nodes are grouped by class up front. */
export class PolicyConfigBuilder {
  private readonly groups: ClassGroup[];
  private readonly classOfId = new Map<string, string>();
  private readonly routers: Array<{ node: Identity; routes: string[] }>;

  constructor(private readonly policy: CompiledPolicyV2, nodes: readonly Identity[], private readonly open: OpenSchedules = NO_SCHEDULES_OPEN) {
    const byClass = new Map<string, Identity[]>();
    for (const n of nodes) {
      const cls = policy.classOf(n);
      this.classOfId.set(n.id, cls);
      byClass.set(cls, [...(byClass.get(cls) ?? []), n]);
    }
    this.groups = [...byClass.entries()].map(([cls, members]) => ({ cls, members }));
    this.routers = nodes.map((node) => ({ node, routes: policy.servedRoutes(node) })).filter((r) => r.routes.length)
      .sort((a, b) => (a.node.name < b.node.name ? -1 : a.node.name > b.node.name ? 1 : 0));
  }

  forNode(node: Identity): NodePolicyConfig {
    return { firewall: this.firewallFor(node), qos: this.qosFor(node), routes: this.routesFor(node) };
  }

  firewallFor(node: Identity): PolicyFirewallRule[] {
    const to = this.cls(node);
    const rules = new RuleSet();
    for (const g of this.groups) rules.add(this.policy.reach(g.cls, to, this.open), addressesOf(g.members, node));
    for (const prefix of this.policy.sourcePrefixes()) rules.add(this.policy.reachFromPrefix(prefix, to, this.open), [prefix]);
    // Forwarded traffic: each destination named inside a served prefix is decided on its own, and the wider one
    // applies only to what is left of it, so the rules are disjoint and plain "accept, else drop" is exact.
    for (const route of this.policy.servedRoutes(node)) {
      const dsts = [...this.policy.destinationsWithin(route), route].map((d) => parsePrefix(d)!);
      for (const dst of dsts) {
        const inner = dsts.filter((o) => o !== dst && prefixContains(dst, o) && o.bits > dst.bits);
        const region = excludePrefixes(dst, inner).map(formatPrefix);
        if (!region.length) continue;
        for (const g of this.groups) rules.add(this.policy.reachPrefix(g.cls, formatPrefix(dst), this.open), addressesOf(g.members, node), region);
      }
    }
    return rules.toRules();
  }

  qosFor(node: Identity): PolicyQosRule[] {
    const toSet = splitClass(this.cls(node));
    const out: PolicyQosRule[] = [];
    for (const q of this.policy.qos) {
      if (!this.policy.isActive(q.schedule, this.open) || !matchesClass(q.dst, toSet)) continue;
      const src = this.groups.filter((g) => matchesClass(q.src, splitClass(g.cls))).flatMap((g) => addressesOf(g.members, node));
      if (src.length) out.push({ src: src.sort(), rateMbit: q.rateMbit });
    }
    return out;
  }

  /** One router per prefix (the first by name) — the primary; failover between routers is the control plane's call. */
  routesFor(node: Identity): PolicyRoute[] {
    const from = this.cls(node);
    const taken = new Map<string, string>();
    for (const { node: router, routes } of this.routers) {
      if (router.id === node.id || !router.addresses.length) continue;
      for (const route of routes) {
        if (taken.has(route)) continue;
        if (isExitRoute(route) && node.exitNode !== router.name) continue;
        if (this.policy.mayUseRoute(from, route, this.open)) taken.set(route, router.addresses[0]);
      }
    }
    return [...taken.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([destination, via]) => ({ destination, via }));
  }

  private cls(node: Identity): string {
    return this.classOfId.get(node.id) ?? this.policy.classOf(node);
  }
}

function addressesOf(members: readonly Identity[], except: Identity): string[] {
  return members.filter((m) => m.id !== except.id).flatMap((m) => m.addresses.map((a) => canonicalPrefix(a) ?? a));
}

/** Rules keyed by (dst, proto, ports), sources merged — so a class of 1,000 nodes is one rule, not 1,000. */
class RuleSet {
  private readonly rules = new Map<string, { dst?: string[]; proto: number; ports?: string; src: Set<string> }>();

  add(reach: Reach, src: readonly string[], dst?: string[]): void {
    if (!src.length) return;
    for (const { proto, ports } of reach) {
      const portText = hasPorts(proto) ? formatPorts(ports) : undefined;
      const key = `${dst?.join(',') ?? ''}|${proto}|${portText ?? '*'}`;
      let rule = this.rules.get(key);
      if (!rule) this.rules.set(key, (rule = { dst, proto, ports: portText, src: new Set() }));
      for (const s of src) rule.src.add(s);
    }
  }

  toRules(): PolicyFirewallRule[] {
    const text = (x?: string | string[]) => (Array.isArray(x) ? x.join(',') : x ?? '');
    const sorted = [...this.rules.values()].sort((a, b) =>
      text(a.dst).localeCompare(text(b.dst)) || a.proto - b.proto || text(a.ports).localeCompare(text(b.ports)));
    return sorted.map((r) => ({
      action: 'accept' as const,
      src: [...r.src].sort(),
      proto: protoName(r.proto),
      ...(r.ports !== undefined ? { ports: r.ports } : {}),
      ...(r.dst !== undefined ? { dst: r.dst } : {}),
    }));
  }
}
