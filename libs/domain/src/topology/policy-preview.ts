import { CompiledPolicy, Identity, NO_SCHEDULES_OPEN, OpenSchedules } from '../policy/evaluate';
import { formatReach, reachMinus } from '../policy/ports';
import { Topology, TopologyNode } from './topology';

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
  before: CompiledPolicy,
  after: CompiledPolicy,
  topologyNodes: readonly TopologyNode[],
  { open = NO_SCHEDULES_OPEN, maxPairs = 1000 }: { open?: OpenSchedules; maxPairs?: number } = {},
): PolicyPreview {
  // The nodes whose config would change are exactly those a policy switch sends a change to: ask a scratch copy.
  const scratch = new Topology(before, open);
  for (const n of topologyNodes) scratch.restoreNode(n);
  const changedNodes = [...scratch.setPolicy(after).keys()].sort();
  const nodes = scratch.identities();
  const groups = new Map<string, { old: string; next: string; members: Identity[] }>();
  for (const n of nodes) {
    const [old, next] = [before.classOf(n), after.classOf(n)];
    const key = `${old}\u0000${next}`;
    const g = groups.get(key) ?? { old, next, members: [] };
    g.members.push(n);
    groups.set(key, g);
  }
  const preview: PolicyPreview = { gained: [], lost: [], changedNodes, truncated: false };
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
      for (const src of a.members) {
        if (preview.truncated) break; // the rest would only be counted, and could be 10⁸ pairs
        for (const dst of b.members) {
          if (src.id === dst.id) continue;
          if (gained.length) push(preview.gained, src, dst, formatReach(gained));
          if (lost.length) push(preview.lost, src, dst, formatReach(lost));
        }
      }
    }
  }
  return preview;
}
