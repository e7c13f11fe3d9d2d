import { formatPrefix, parsePrefix, prefixContains } from '@meshgate/contracts/ip';
import { CompiledPolicy, isExitRoute, nodeReach, OpenSchedules } from '../policy/evaluate';
import type { AclRule } from '../policy/policy-file';
import { covers, hasPorts, Reach, TCP } from '../policy/ports';
import { HistoricalNode, HistoryEventRef, TenantHistory } from './tenant-history';

/** What is asked about: a protocol (any when absent) and a port (any when absent; TCP when only a port is given). */
export interface Traffic {
  proto?: number;
  port?: number;
}

/** A destination: a node of the tenant, or an address outside the overlay reached through a subnet router. */
export type ReachTarget = { node: HistoricalNode } | { prefix: string };

export type Decision =
  /** An ACL entry of the policy version in force: its index in `acls` and the entry as written. */
  | { kind: 'rule'; action: 'accept' | 'deny'; index: number; entry: unknown; schedule?: string }
  /** No entry allows it. `closedSchedules`: entries that would, had their schedule's window been open. */
  | { kind: 'default-deny'; closedSchedules?: Array<{ index: number; schedule: string; closedBy: HistoryEventRef | null }> }
  /** src or dst was out of the mesh (removed, or its key expired). */
  | { kind: 'not-in-mesh'; node: 'src' | 'dst'; event: HistoryEventRef | null }
  /** An address no node routes. */
  | { kind: 'no-route' };

export interface RouteUsed {
  prefix: string;
  via: HistoricalNode;
  /** The route approval; null when the policy itself gives the route (`routes`, `autoApprovers`). */
  approvedBy: HistoryEventRef | null;
}

export interface ReachabilityExplanation {
  allowed: boolean;
  /** Everything src could reach on dst then (protocols and ports). */
  reach: Reach;
  decision: Decision;
  route?: RouteUsed;
  /** The events that made it so, in log order. */
  events: HistoryEventRef[];
}

const openOf = (history: TenantHistory): OpenSchedules => new Set(history.open.keys());

/** Whether `reach` carries the traffic asked about. */
export function carries(reach: Reach, traffic: Traffic): boolean {
  const proto = traffic.proto ?? (traffic.port !== undefined ? TCP : undefined);
  if (proto === undefined) return reach.length > 0;
  const entry = reach.find((r) => r.proto === proto);
  if (!entry) return false;
  return traffic.port === undefined || !hasPorts(proto) || covers(entry.ports, [{ first: traffic.port, last: traffic.port }]);
}

/** What `src` could reach on the target under `policy` (the tenant's, or one made of a few of its entries). */
function reachUnder(policy: CompiledPolicy, history: TenantHistory, src: HistoricalNode, target: ReachTarget, open: OpenSchedules): Reach {
  const from = history.identity(src);
  if ('node' in target) return nodeReach(policy, from, history.identity(target.node), open);
  return policy.reachPrefix(policy.classOf(from), target.prefix, open);
}

/** The route a node of the mesh serves for the address (longest prefix, then the router first by name), if any. */
export function routeFor(history: TenantHistory, src: HistoricalNode, prefix: string): RouteUsed | null {
  const target = parsePrefix(prefix);
  if (!target) return null;
  const policy = history.policy.compiled;
  let best: { route: string; bits: number; via: HistoricalNode } | null = null;
  for (const router of history.nodes.values()) {
    if (router === src || !history.inMesh(router)) continue;
    for (const route of policy.servedRoutes(history.identity(router))) {
      const p = parsePrefix(route)!;
      if (!prefixContains(p, target) || (isExitRoute(route) && src.exitNode !== router.name)) continue;
      if (!best || p.bits > best.bits || (p.bits === best.bits && router.name < best.via.name)) best = { route, bits: p.bits, via: router };
    }
  }
  if (!best) return null;
  const approved = (best.via.approvedRoutes ?? []).some((r) => parsePrefix(r) && formatPrefix(parsePrefix(r)!) === best!.route);
  return { prefix: best.route, via: best.via, approvedBy: approved ? best.via.routesApprovedBy ?? null : null };
}

/**
 * Could `src` reach the target with this traffic, in the state `history` was folded to — and which ACL entry, or the
 * default deny, decided it. The answer is the policy engine's; the deciding entry is found by asking the same engine
 * about single entries: the first accept that still carries the traffic with every deny applied, or — refused — the
 * first deny that alone cuts what the accepts would carry.
 */
export function explainReachability(history: TenantHistory, src: HistoricalNode, target: ReachTarget, traffic: Traffic): ReachabilityExplanation {
  const events: HistoryEventRef[] = [...history.identityEvents(src)];
  if (history.policy.event) events.push(history.policy.event);
  const done = (answer: Omit<ReachabilityExplanation, 'events'>): ReachabilityExplanation => ({ ...answer, events: dedupe(events) });
  if (!history.inMesh(src)) return done({ allowed: false, reach: [], decision: { kind: 'not-in-mesh', node: 'src', event: src.leftBy ?? null } });

  let route: RouteUsed | undefined;
  if ('node' in target) {
    events.push(...history.identityEvents(target.node));
    if (!history.inMesh(target.node)) {
      return done({ allowed: false, reach: [], decision: { kind: 'not-in-mesh', node: 'dst', event: target.node.leftBy ?? null } });
    }
  } else {
    const found = routeFor(history, src, target.prefix);
    if (!found) return done({ allowed: false, reach: [], decision: { kind: 'no-route' } });
    route = found;
    events.push(...history.identityEvents(found.via));
    if (found.approvedBy) events.push(found.approvedBy);
  }

  const open = openOf(history);
  const policy = history.policy.compiled;
  const reach = reachUnder(policy, history, src, target, open);
  const allowed = carries(reach, traffic);
  const file = policy.policy;
  const acls = file.acls;
  const entryOf = (index: number) => ((history.policy.document as { acls?: unknown[] }).acls ?? [])[index] ?? null;
  const sub = (rules: AclRule[]) => reachUnder(new CompiledPolicy({ ...file, acls: rules }), history, src, target, open);
  const denies = acls.filter((r) => r.action === 'deny');
  const ruleDecision = (index: number): Decision => ({
    kind: 'rule', action: acls[index].action, index, entry: entryOf(index), ...(acls[index].schedule ? { schedule: acls[index].schedule } : {}),
  });
  const withSchedule = (index: number) => {
    const schedule = acls[index].schedule;
    if (schedule && history.open.has(schedule)) events.push(history.open.get(schedule)!);
  };

  if (allowed) {
    const index = acls.findIndex((r) => r.action === 'accept' && carries(sub([r, ...denies]), traffic));
    withSchedule(index);
    return done({ allowed, reach, decision: ruleDecision(index), ...(route ? { route } : {}) });
  }
  const accepts = acls.filter((r) => r.action === 'accept');
  if (accepts.length && carries(sub(accepts), traffic)) {
    const index = acls.findIndex((r) => r.action === 'deny' && !carries(sub([...accepts, r]), traffic));
    if (index >= 0) {
      withSchedule(index);
      return done({ allowed, reach, decision: ruleDecision(index), ...(route ? { route } : {}) });
    }
  }
  // Entries that would have carried it, had their window been open.
  const closedSchedules: Array<{ index: number; schedule: string; closedBy: HistoryEventRef | null }> = [];
  acls.forEach((r, index) => {
    if (r.action !== 'accept' || !r.schedule || open.has(r.schedule)) return;
    if (!carries(reachUnder(new CompiledPolicy({ ...file, acls: [{ ...r, schedule: undefined }, ...denies] }), history, src, target, open), traffic)) return;
    const closedBy = history.closed.get(r.schedule) ?? null;
    if (closedBy) events.push(closedBy);
    closedSchedules.push({ index, schedule: r.schedule, closedBy });
  });
  return done({ allowed, reach, decision: { kind: 'default-deny', ...(closedSchedules.length ? { closedSchedules } : {}) }, ...(route ? { route } : {}) });
}

function dedupe(events: HistoryEventRef[]): HistoryEventRef[] {
  const byPosition = new Map(events.map((e) => [e.position, e]));
  return [...byPosition.values()].sort((a, b) => a.position - b.position);
}

/** Every node of the mesh that could reach `dst` (direction `to`), or that `src` could reach (`from`), with what. */
export function accessList(history: TenantHistory, node: HistoricalNode, direction: 'to' | 'from'): Array<{ node: HistoricalNode; reach: Reach }> {
  if (!history.inMesh(node)) return [];
  const policy = history.policy.compiled;
  const open = openOf(history);
  const own = policy.classOf(history.identity(node));
  const out: Array<{ node: HistoricalNode; reach: Reach }> = [];
  for (const other of history.nodes.values()) {
    if (other === node || !history.inMesh(other)) continue;
    const cls = policy.classOf(history.identity(other));
    const reach = direction === 'to' ? policy.reach(cls, own, open) : policy.reach(own, cls, open);
    if (reach.length) out.push({ node: other, reach });
  }
  return out.sort((a, b) => (a.node.name < b.node.name ? -1 : a.node.name > b.node.name ? 1 : 0));
}
