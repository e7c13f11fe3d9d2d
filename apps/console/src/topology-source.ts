import type { TopologyEdgeView, TopologyNodeView, TopologyPage } from '@meshgate/contracts';
import { api } from './api-client';

export interface Mesh {
  nodes: TopologyNodeView[];
  edges: TopologyEdgeView[];
}

/** The largest page GET /api/v1/topology serves (TOPOLOGY_MAX_LIMIT: a value, not a type, so not imported). */
const PAGE = 500;

/**
 * The whole mesh from GET /api/v1/topology, page by page (two pages at 1,000 nodes). A peering between nodes on two
 * pages comes with both: kept once, by its id.
 */
export async function loadMesh(): Promise<Mesh> {
  const nodes: TopologyNodeView[] = [];
  const edges = new Map<string, TopologyEdgeView>();
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? `limit=${PAGE}` : `limit=${PAGE}&cursor=${encodeURIComponent(cursor)}`;
    const page: TopologyPage = (await api<TopologyPage>('GET', `/api/v1/topology?${query}`)).body;
    nodes.push(...page.nodes);
    for (const edge of page.edges) edges.set(edge.id, edge);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return { nodes, edges: [...edges.values()] };
}

/** How a peering's traffic may flow: both ends may open connections, or one only (the other just answers). */
export function reachability(edge: TopologyEdgeView): 'both' | 'a-to-b' | 'b-to-a' | 'none' {
  const a = edge.a.reach !== 'nothing';
  const b = edge.b.reach !== 'nothing';
  return a && b ? 'both' : a ? 'a-to-b' : b ? 'b-to-a' : 'none';
}

/** What the ends' heartbeats say of the link: a live handshake, reported without one, or not reported yet. */
export function linkState(edge: TopologyEdgeView): 'up' | 'down' | 'unreported' {
  if (edge.up) return 'up';
  return edge.a.live || edge.b.live ? 'down' : 'unreported';
}
