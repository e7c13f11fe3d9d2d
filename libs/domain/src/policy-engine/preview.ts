import { CompiledPolicyV2, Identity, matchesClass, NO_SCHEDULES_OPEN, OpenSchedules, splitClass } from './evaluate';
import { PolicyConfigBuilder } from './firewall';
import { formatReach, reachMinus } from './ports';

/**
 * What a candidate document would change, without storing it (POST /api/v1/policies/preview): node pairs and ports
 * gained and lost, and the nodes whose config would change. Nodes are grouped by (class before, class after), so the
 * reachability work is per pair of such groups — the cost of a preview is the number of groups squared plus the size
 * of the answer; the pair lists are capped (`truncated`), the changed-node list never is.
 */
export interface PairChange {
  src: string;
  dst: string;
  /** "tcp:22 udp:53": what was gained or lost. */
  reach: string;
}
export interface PolicyPreview {
  gained: PairChange[];
  lost: PairChange[];
  /** Ids of nodes whose config (peers, firewall, QoS or routes) would change, sorted. */
  changedNodes: string[];
  truncated: boolean;
}

export function previewPolicy(
  before: CompiledPolicyV2,
  after: CompiledPolicyV2,
  nodes: readonly Identity[],
  { open = NO_SCHEDULES_OPEN, maxPairs = 1000 }: { open?: OpenSchedules; maxPairs?: number } = {},
): PolicyPreview {
  const groups = new Map<string, { old: string; next: string; members: Identity[] }>();
  for (const n of nodes) {
    const [old, next] = [before.classOf(n), after.classOf(n)];
    const key = `${old}\u0000${next}`;
    const g = groups.get(key) ?? { old, next, members: [] };
    g.members.push(n);
    groups.set(key, g);
  }
  const preview: PolicyPreview = { gained: [], lost: [], changedNodes: [], truncated: false };
  const changed = new Set<string>();
  const list = [...groups.values()];
  const push = (into: PairChange[], src: Identity, dst: Identity, reach: string) => {
    if (preview.gained.length + preview.lost.length >= maxPairs) preview.truncated = true;
    else into.push({ src: src.name, dst: dst.name, reach });
  };
  for (const a of list) {
    for (const b of list) {
      const r0 = before.reach(a.old, b.old, open);
      const r1 = after.reach(a.next, b.next, open);
      const [gained, lost] = [reachMinus(r1, r0), reachMinus(r0, r1)];
      if (!gained.length && !lost.length) continue;
      // The destination's inbound firewall changes; peering (both configs) only if it flipped.
      const flipped = before.arePeers(a.old, b.old, open) !== after.arePeers(a.next, b.next, open);
      for (const src of a.members) {
        for (const dst of b.members) {
          if (src.id === dst.id) continue;
          changed.add(dst.id);
          if (flipped) changed.add(src.id);
          if (gained.length) push(preview.gained, src, dst, formatReach(gained));
          if (lost.length) push(preview.lost, src, dst, formatReach(lost));
        }
      }
    }
  }
  for (const id of qosAndRouteChanges(before, after, nodes, open)) changed.add(id);
  preview.changedNodes = [...changed].sort();
  return preview;
}

/** Nodes whose routes, QoS rules or forwarding rules differ. Only nodes the QoS/route parts can concern are built. */
function qosAndRouteChanges(before: CompiledPolicyV2, after: CompiledPolicyV2, nodes: readonly Identity[], open: OpenSchedules): string[] {
  const [b0, b1] = [new PolicyConfigBuilder(before, nodes, open), new PolicyConfigBuilder(after, nodes, open)];
  const usesRoutes = before.policy.routes.length + after.policy.routes.length > 0 || nodes.some((n) => n.advertisedRoutes?.length);
  const qosDst = (p: CompiledPolicyV2, n: Identity) => p.qos.some((q) => matchesClass(q.dst, splitClass(p.classOf(n))));
  const out: string[] = [];
  for (const n of nodes) {
    const same = (f: (b: PolicyConfigBuilder) => unknown) => JSON.stringify(f(b0)) === JSON.stringify(f(b1));
    if (usesRoutes && !same((b) => b.routesFor(n))) out.push(n.id);
    else if ((qosDst(before, n) || qosDst(after, n)) && !same((b) => b.qosFor(n))) out.push(n.id);
    else if ((before.servedRoutes(n).length || after.servedRoutes(n).length) && !same((b) => b.firewallFor(n))) out.push(n.id);
  }
  return out;
}
