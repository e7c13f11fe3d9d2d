import { DomainError } from '../shared/domain-error';
import { DecideContext, Event } from '../shared/event';
import { nextAddress } from './ipam';
import { canonicalPrefix } from '../policy-engine/ip';
import { streams } from '../shared/streams';
import {
  applyHeartbeat, emptyHeartbeatBaseline, HeartbeatBaseline, heartbeatAt, heartbeatChanges, HeartbeatReport,
  NodeHeartbeatRecorded, NodeHeartbeatRecordedV1, NodeSeen, PeerStats, upcastHeartbeat,
} from './heartbeat';

export type NodeRegistered = Event<'NodeRegistered', {
  nodeId: string;
  tenantId: string;
  name: string;
  publicKey: string;
  address: string;
  endpoint: string | null;
  listenPort: number;
  tags: string[];
  /** sha256 of the node token; the token itself is shown once and never stored. */
  tokenHash: string;
  enrollmentKeyId: string | null;
  /** Prefixes the node offers to route (subnet router; 0.0.0.0/0 for an exit node): served once approved. */
  advertisedRoutes?: string[];
  /** Name of the exit node this node wants its internet traffic to go through. */
  exitNode?: string;
}>;
export type NodeWentOffline = Event<'NodeWentOffline', { nodeId: string; lastSeenAt: string | null; at: string }>;
export type NodeRemoved = Event<'NodeRemoved', { nodeId: string; publicKey: string }>;
/** An admin approved these advertised routes (the whole approved set, replacing the previous one). */
export type NodeRoutesApproved = Event<'NodeRoutesApproved', { nodeId: string; routes: string[] }>;
/** Node events as decided now. Heartbeats: `NodeHeartbeatRecorded` (what changed) or `NodeSeen` (see ./heartbeat). */
export type NodeEvent = NodeRegistered | NodeHeartbeatRecorded | NodeSeen | NodeWentOffline | NodeRemoved | NodeRoutesApproved;
/** Any node event a log may hold, old formats included: what evolve and {@link upcastNodeEvent} take. */
export type StoredNodeEvent = NodeEvent | NodeHeartbeatRecordedV1;
/**
 * A node event as decided or as the log returns it. `NodeSeen` and new `NodeHeartbeatRecorded` carry no time: evolve
 * dates them by `recordedAt` (a `RecordedEvent` has it), so evolve them as the log returns them.
 */
export type DatedNodeEvent = StoredNodeEvent & { readonly recordedAt?: string };

export type NodeStatus = 'absent' | 'pending' | 'online' | 'offline' | 'removed';

export type NodeState = {
  status: NodeStatus;
  lastSeenAt: string | null;
  endpoint: string | null;
  publicKey?: string;
  advertisedRoutes?: string[];
  approvedRoutes?: string[];
  /** What its heartbeats last recorded (besides `endpoint`): what the next heartbeat is compared with. Absent: empty. */
  heartbeat?: HeartbeatBaseline;
};
export const initialNodeState: NodeState = { status: 'absent', lastSeenAt: null, endpoint: null };

/** What registration must know about the rest of the tenant: answered by the nodes read model under a tenant lock. */
export interface TenantNodeIndex {
  publicKeyTaken(publicKey: string): boolean;
  nameTaken(name: string): boolean;
  lastAllocatedAddress: string | null;
}

export type RegisterNode = {
  type: 'RegisterNode';
  nodeId: string;
  tenantId: string;
  name: string;
  publicKey: string;
  endpoint?: string;
  listenPort?: number;
  tags: string[];
  tokenHash: string;
  enrollmentKeyId?: string;
  tenant: TenantNodeIndex;
  advertisedRoutes?: string[];
  exitNode?: string;
};
export type RecordHeartbeat = HeartbeatReport & {
  type: 'RecordHeartbeat';
  nodeId: string;
  /** The node's peers in its current config (by public key): a heartbeat may report on these and no others. */
  knownPeers: { has(publicKey: string): boolean };
};
export type MarkNodeOffline = { type: 'MarkNodeOffline'; nodeId: string; offlineBefore: Date };
export type RemoveNode = { type: 'RemoveNode'; nodeId: string };
/** Each of `routes` must be one the node advertised (compared as canonical prefixes). */
export type ApproveRoutes = { type: 'ApproveRoutes'; nodeId: string; routes: string[] };
export type NodeCommand = RegisterNode | RecordHeartbeat | MarkNodeOffline | RemoveNode | ApproveRoutes;

export const DEFAULT_LISTEN_PORT = 51820;

/** Prefixes as the policy compares them ("10.1.0.7/24" → "10.1.0.0/24"), deduplicated and sorted. */
function canonicalRoutes(routes: readonly string[]): string[] {
  const out = routes.map((r) => {
    const canonical = r.includes('/') ? canonicalPrefix(r) : null;
    if (!canonical) throw new DomainError('ROUTE_INVALID', 'INVALID', `${r} is not an IP prefix`);
    return canonical;
  });
  return [...new Set(out)].sort();
}

const notFound = () => new DomainError('NODE_NOT_FOUND', 'NOT_FOUND', 'node not found');
const isLive = (s: NodeState) => s.status === 'pending' || s.status === 'online' || s.status === 'offline';

export const decideNode = (command: NodeCommand, state: NodeState, ctx: DecideContext): NodeEvent[] => {
  switch (command.type) {
    case 'RegisterNode':
      return registerNode(command, state);
    case 'RecordHeartbeat': {
      if (!isLive(state)) throw notFound();
      if (command.peers) checkReportedPeers(command.peers, command.knownPeers);
      const changes = heartbeatChanges(state.heartbeat ?? emptyHeartbeatBaseline, state.endpoint, command, ctx.now);
      // Coming online (first heartbeat, or back from offline) is material in itself.
      if (state.status === 'online' && Object.keys(changes).length === 0) return [{ type: 'NodeSeen', data: {} }];
      return [{ type: 'NodeHeartbeatRecorded', data: changes }];
    }
    case 'MarkNodeOffline': {
      // Idempotent: the sweeper may race a heartbeat; a node seen since the cut-off stays online.
      if (state.status !== 'online') return [];
      if (state.lastSeenAt !== null && new Date(state.lastSeenAt) >= command.offlineBefore) return [];
      return [{ type: 'NodeWentOffline', data: { nodeId: command.nodeId, lastSeenAt: state.lastSeenAt, at: ctx.now.toISOString() } }];
    }
    case 'RemoveNode': {
      if (!isLive(state) || !state.publicKey) throw notFound();
      return [{ type: 'NodeRemoved', data: { nodeId: command.nodeId, publicKey: state.publicKey } }];
    }
    case 'ApproveRoutes': {
      if (!isLive(state)) throw notFound();
      const routes = canonicalRoutes(command.routes);
      const unknown = routes.filter((r) => !(state.advertisedRoutes ?? []).includes(r));
      if (unknown.length) {
        throw new DomainError('ROUTE_NOT_ADVERTISED', 'INVALID', `the node does not advertise ${unknown.join(', ')}`);
      }
      if (JSON.stringify(routes) === JSON.stringify(state.approvedRoutes ?? [])) return [];
      return [{ type: 'NodeRoutesApproved', data: { nodeId: command.nodeId, routes } }];
    }
    default: {
      const _exhaustive: never = command;
      throw new Error(`unknown command ${JSON.stringify(_exhaustive)}`);
    }
  }
};

/**
 * Every heartbeat is kept in the log for ever, so what it may carry is bounded by the node's real mesh: each reported
 * peer must be one of its peers now, at most once. An agent that still holds a peer the control plane just removed
 * gets this refusal until it has applied the patch (its next heartbeat).
 */
function checkReportedPeers(peers: readonly PeerStats[], known: RecordHeartbeat['knownPeers']): void {
  const seen = new Set<string>();
  const foreign: string[] = [];
  peers.forEach((peer, i) => {
    if (seen.has(peer.publicKey)) throw new DomainError('PEER_REPORTED_TWICE', 'INVALID', `peers.${i}.publicKey is reported twice`);
    seen.add(peer.publicKey);
    if (!known.has(peer.publicKey)) foreign.push(`peers.${i}.publicKey`);
  });
  if (foreign.length) {
    const named = foreign.length > 5 ? `${foreign.slice(0, 5).join(', ')} and ${foreign.length - 5} more` : foreign.join(', ');
    throw new DomainError('PEER_NOT_IN_CONFIG', 'INVALID', `${named}: not a peer of this node in its current config`);
  }
}

function registerNode(command: RegisterNode, state: NodeState): NodeEvent[] {
  if (state.status !== 'absent') throw new DomainError('NODE_EXISTS', 'CONFLICT', 'node already exists');
  if (command.tenant.publicKeyTaken(command.publicKey)) {
    throw new DomainError('PUBLIC_KEY_TAKEN', 'CONFLICT', 'publicKey is already registered in this tenant');
  }
  if (command.tenant.nameTaken(command.name)) {
    throw new DomainError('NODE_NAME_TAKEN', 'CONFLICT', 'name is already used by another node in this tenant');
  }
  return [{
    type: 'NodeRegistered',
    data: {
      nodeId: command.nodeId,
      tenantId: command.tenantId,
      name: command.name,
      publicKey: command.publicKey,
      address: nextAddress(command.tenant.lastAllocatedAddress),
      endpoint: command.endpoint ?? null,
      listenPort: command.listenPort ?? DEFAULT_LISTEN_PORT,
      tags: [...new Set(command.tags)].sort(),
      tokenHash: command.tokenHash,
      enrollmentKeyId: command.enrollmentKeyId ?? null,
      ...(command.advertisedRoutes?.length ? { advertisedRoutes: canonicalRoutes(command.advertisedRoutes) } : {}),
      ...(command.exitNode ? { exitNode: command.exitNode } : {}),
    },
  }];
}

/**
 * The current shape of a stored node event: an old-format `NodeHeartbeatRecorded` (nodeId, at, full peers) becomes
 * the changes shape (see upcastHeartbeat); any other event is returned as is. Other properties (a RecordedEvent's
 * position, recordedAt…) are kept, so a projection can upcast what the log returns before it reads the data.
 */
export function upcastNodeEvent<E extends StoredNodeEvent>(event: E): NodeEvent & Omit<E, 'type' | 'data'> {
  return event.type === 'NodeHeartbeatRecorded' ? upcastHeartbeat(event) : (event as NodeEvent & E);
}

/** The node id of a `node-<id>` stream (new heartbeat events carry none: the stream names the node), or null. */
export function nodeIdOfStream(streamId: string): string | null {
  const prefix = streams.node('');
  return streamId.startsWith(prefix) ? streamId.slice(prefix.length) : null;
}

export const evolveNode = (state: NodeState, event: DatedNodeEvent): NodeState => {
  switch (event.type) {
    case 'NodeRegistered':
      return {
        status: 'pending', lastSeenAt: null, endpoint: event.data.endpoint, publicKey: event.data.publicKey,
        advertisedRoutes: event.data.advertisedRoutes, heartbeat: emptyHeartbeatBaseline,
      };
    case 'NodeHeartbeatRecorded': {
      const upcast = upcastHeartbeat(event);
      return {
        ...state, status: 'online', lastSeenAt: heartbeatAt(upcast), endpoint: upcast.data.endpoint ?? state.endpoint,
        heartbeat: applyHeartbeat(state.heartbeat ?? emptyHeartbeatBaseline, upcast),
      };
    }
    case 'NodeSeen':
      return { ...state, status: 'online', lastSeenAt: heartbeatAt(event) };
    case 'NodeWentOffline':
      return { ...state, status: 'offline' };
    case 'NodeRemoved':
      return { ...state, status: 'removed', heartbeat: emptyHeartbeatBaseline };
    case 'NodeRoutesApproved':
      return { ...state, approvedRoutes: event.data.routes };
    default:
      return state;
  }
};
