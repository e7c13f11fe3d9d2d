import { Type } from 'class-transformer';
import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { NODE_REF_PATTERN } from './audit-history.dto';
import { NODE_NAME_PATTERN, NodeStatus, TAG_PATTERN } from './nodes.dto';
import { IsOmittable } from './omittable.decorator';

export const TOPOLOGY_MAX_LIMIT = 500;
export const TOPOLOGY_DEFAULT_LIMIT = 100;

/** GET /api/v1/topology: nodes by name, a page at a time, each with every peering it has. */
export class TopologyQueryDto {
  /** Only this node (its id or name) and its peerings. */
  @IsOmittable() @IsString() @Matches(NODE_REF_PATTERN, { message: 'node must be a node id (UUID) or a node name' })
  node?: string;
  /** Only nodes carrying this tag (`tag:web`, or a bare `web`). */
  @IsOmittable() @IsString() @Matches(TAG_PATTERN, { message: 'tag must be "tag:<name>" (or a bare <name>), the name lowercase letters, digits and dashes' })
  tag?: string;
  /** Nodes per page (their peerings come with them); 100 when left out. */
  @IsOmittable() @Type(() => Number) @IsInt() @Min(1) @Max(TOPOLOGY_MAX_LIMIT) limit?: number;
  /** `nextCursor` of the previous page: the page continues after that node name. */
  @IsOmittable() @IsString() @Matches(NODE_NAME_PATTERN, { message: 'cursor must be a cursor returned by a previous page' })
  cursor?: string;
}

export interface TopologyNodeView {
  id: string;
  name: string;
  address: string;
  status: NodeStatus;
  endpoint: string | null;
  /** `tag:web`. */
  tags: string[];
  /** Id of the owning user; null for a node no user owns. */
  owner: string | null;
  lastSeenAt: string | null;
  /** An expired key takes the node out of the mesh: it has no peerings until it rotates. */
  keyExpired: boolean;
}

/** What one end of a peering heard of the other in its heartbeats. */
export interface TopologyLiveState {
  /** A WireGuard handshake younger than 180 s, as the end's heartbeats last recorded. */
  handshakeEstablished: boolean;
  /**
   * The last handshake the end reported; null when there was none, or when another replica took the end's latest
   * heartbeat (this one keeps only the heartbeats it took: ask again, or read `handshakeEstablished`).
   */
  lastHandshakeAt: string | null;
  /** Bytes received from and sent to the other end, as last recorded (within 10 % or 5 minutes of the live figure). */
  rxBytes: number;
  txBytes: number;
  /** When those counters were recorded; null: never. */
  countersRecordedAt: string | null;
}

/** One end of a peering. */
export interface TopologyEdgeEnd {
  nodeId: string;
  name: string;
  /** What this end may open at the other ("tcp:22 udp:53", "icmp", "nothing"). */
  reach: string;
  /** Prefixes this end reaches through the other (the other is its subnet router or exit node). */
  routesVia: string[];
  /** null: nothing of the other is known from this end's heartbeats (it has not reported on it yet). */
  live: TopologyLiveState | null;
}

/** A WireGuard peering between two nodes: each is in the other's config. */
export interface TopologyEdgeView {
  /** `<a.nodeId>~<b.nodeId>`, a's id the smaller: the same edge on every page it appears on. */
  id: string;
  a: TopologyEdgeEnd;
  b: TopologyEdgeEnd;
  /** Either end reports an established handshake. */
  up: boolean;
}

export interface TopologyPage {
  nodes: TopologyNodeView[];
  /** Every peering of the page's nodes (a peer may be on another page, or filtered out). */
  edges: TopologyEdgeView[];
  nextCursor: string | null;
}
