import { Injectable, NotFoundException } from '@nestjs/common';
import { baselinePeer, policyEngine, TopologyLink } from '@meshgate/domain';
import type { TopologyEdgeEnd, TopologyEdgeView, TopologyLiveState, TopologyNodeView, TopologyPage } from '@meshgate/contracts';
import { LiveStats } from '../nodes/live-stats';
import { NodeConfigView } from '../projections/node-config.view';
import { NodeRow, NodesView } from '../projections/nodes.view';

export interface TopologyFilter {
  /** A node's id or name: that node alone. */
  node?: string;
  tag?: string;
  /** The last name of the previous page. */
  after?: string;
}

/**
 * The design card's topology read model, composed from the views every replica keeps (nodes, node configs) and this
 * replica's live heartbeat figures: no replay, and per request O(N log N) for the page (nodes sorted by name) plus the
 * peerings of the page's nodes, each decided once per pair of classes by the topology.
 */
@Injectable()
export class TopologyReadModel {
  constructor(private readonly nodes: NodesView, private readonly configs: NodeConfigView, private readonly live: LiveStats) {}

  page(tenantId: string, filter: TopologyFilter, limit: number): TopologyPage {
    let rows: NodeRow[];
    if (filter.node !== undefined) {
      const row = this.nodes.resolve(tenantId, filter.node);
      if (!row) throw new NotFoundException('node not found');
      rows = [row];
    } else rows = this.nodes.list(tenantId);
    if (filter.tag !== undefined) {
      const [tag] = policyEngine.canonicalTags([filter.tag]);
      rows = rows.filter((r) => r.tags.includes(tag));
    }
    if (filter.after !== undefined) rows = rows.filter((r) => r.name > filter.after!);
    const page = rows.slice(0, limit);
    const edges = new Map<string, TopologyEdgeView>();
    for (const row of page) {
      for (const link of this.configs.linksOf(row.id)) {
        const peer = this.nodes.find(tenantId, link.peerId);
        if (!peer) continue;
        const edge = this.edge(row, peer, link);
        if (!edges.has(edge.id)) edges.set(edge.id, edge);
      }
    }
    return {
      nodes: page.map(nodeView),
      edges: [...edges.values()],
      nextCursor: rows.length > limit ? page[page.length - 1].name : null,
    };
  }

  private edge(row: NodeRow, peer: NodeRow, link: TopologyLink): TopologyEdgeView {
    const mine = this.end(row, peer, link.reachOut, link.routesVia);
    const theirs = this.end(peer, row, link.reachIn, link.routesFor);
    const [a, b] = row.id < peer.id ? [mine, theirs] : [theirs, mine];
    return { id: `${a.nodeId}~${b.nodeId}`, a, b, up: !!(a.live?.handshakeEstablished || b.live?.handshakeEstablished) };
  }

  private end(row: NodeRow, other: NodeRow, reach: string, routesVia: string[]): TopologyEdgeEnd {
    return { nodeId: row.id, name: row.name, reach, routesVia, live: this.liveState(row, other) };
  }

  /** What `row` last said about `other`; a node not online says nothing current. */
  private liveState(row: NodeRow, other: NodeRow): TopologyLiveState | null {
    const recorded = baselinePeer(row.heartbeat, other.publicKey);
    const lastHandshakeAt = this.live.lastHandshakeAt(row.id, other.publicKey);
    if (!recorded && lastHandshakeAt === undefined) return null;
    return {
      handshakeEstablished: row.status === 'online' && !!recorded?.handshakeEstablished,
      lastHandshakeAt: lastHandshakeAt ?? null,
      rxBytes: recorded?.rxBytes ?? 0,
      txBytes: recorded?.txBytes ?? 0,
      countersRecordedAt: recorded?.countersRecordedAt ?? null,
    };
  }
}

function nodeView(r: NodeRow): TopologyNodeView {
  return {
    id: r.id, name: r.name, address: r.address, status: r.status === 'removed' ? 'offline' : r.status, endpoint: r.endpoint,
    tags: r.tags, owner: r.owner, lastSeenAt: r.lastSeenAt, keyExpired: r.keys.expired,
  };
}
