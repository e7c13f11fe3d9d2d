import { DomainError } from '../shared/domain-error';
import { DecideContext, Event } from '../shared/event';
import { nextAddress, nextAddressInLane } from './ipam';
import { canonicalPrefix } from '@meshgate/contracts/ip';
import { canonicalTags, OWNS_NO_TAG, TagOwnership, unownedTags } from '../policy/tag-owners';
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
  /** `tag:web` (old events may hold a bare `web`: read them through canonicalTags). */
  tags: string[];
  /**
   * The user who owns the node: who registered it with a user token, or who created the (untagged) enrollment key
   * it used. null: no user owns it (enrolled with a tagged key: owned by its tags, as in Tailscale; or with a key
   * whose creator is not recorded). Absent in events from before owners were recorded: read as null. A tagged node
   * is identified by its tags whoever owns it; a node without an owning member matches only `*`, its name, its
   * address (prefixes, hosts) and its tags (with autogroup:tagged).
   */
  owner?: string | null;
  /** sha256 of the node token; the token itself is shown once and never stored. */
  tokenHash: string;
  enrollmentKeyId: string | null;
  /** Prefixes the node offers to route (subnet router; 0.0.0.0/0 for an exit node): served once approved. */
  advertisedRoutes?: string[];
  /** Name of the exit node this node wants its internet traffic to go through. */
  exitNode?: string;
  /** Enrolled with an ephemeral key: removed (NodeRemoved, by the sweeper) once inactive for the ephemeral TTL. */
  ephemeral?: true;
}>;
export type NodeWentOffline = Event<'NodeWentOffline', { nodeId: string; lastSeenAt: string | null; at: string }>;
export type NodeRemoved = Event<'NodeRemoved', { nodeId: string; publicKey: string }>;
/** An owner or admin retagged the node (the whole tag set, canonical and sorted, replacing the previous one). */
export type NodeTagsChanged = Event<'NodeTagsChanged', { nodeId: string; tags: string[] }>;
/** An owner or admin renamed the node: its name in policies (node-name selectors) and in the mesh's DNS. */
export type NodeRenamed = Event<'NodeRenamed', { nodeId: string; name: string; previousName: string }>;
/** An admin approved these advertised routes (the whole approved set, replacing the previous one). */
export type NodeRoutesApproved = Event<'NodeRoutesApproved', { nodeId: string; routes: string[] }>;
/** The node replaced its WireGuard key (with its node token). The key's age counts from this event's recordedAt. */
export type NodeKeyRotated = Event<'NodeKeyRotated', { nodeId: string; publicKey: string; previousPublicKey: string }>;
/**
 * The sweeper found the node's key older than the tenant's expiry (`issuedAt` + nodeKeyExpiryDays ≤ `at`): the node
 * leaves every peer's config and its own has no peers, until it rotates its key (or an admin disables its expiry).
 */
export type NodeKeyExpired = Event<'NodeKeyExpired', { nodeId: string; publicKey: string; issuedAt: string; at: string }>;
/** An admin turned key expiry off (`disabled: true`; an expired node comes back at once) or on again for the node. */
export type NodeKeyExpirySet = Event<'NodeKeyExpirySet', { nodeId: string; disabled: boolean }>;
/** Node events as decided now. Heartbeats: `NodeHeartbeatRecorded` (what changed) or `NodeSeen` (see ./heartbeat). */
export type NodeEvent = NodeRegistered | NodeHeartbeatRecorded | NodeSeen | NodeWentOffline | NodeRemoved | NodeRoutesApproved
  | NodeTagsChanged | NodeRenamed
  | NodeKeyRotated | NodeKeyExpired | NodeKeyExpirySet;
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
  name?: string;
  /** Where its heartbeats last said it may be dialled, and the address they last came from (see HeartbeatChanges). */
  candidates?: string[];
  seenFrom?: string;
  publicKey?: string;
  advertisedRoutes?: string[];
  approvedRoutes?: string[];
  /** Canonical tags, and the owning user (null or absent: none), for retagging. */
  tags?: string[];
  owner?: string | null;
  /** What its heartbeats last recorded (besides `endpoint`): what the next heartbeat is compared with. Absent: empty. */
  heartbeat?: HeartbeatBaseline;
  /** When the current key was registered or rotated to (the event's recordedAt); absent when not known. */
  keyIssuedAt?: string;
  keyExpired?: boolean;
  keyExpiryDisabled?: boolean;
  ephemeral?: boolean;
  /** Since when a pending (never seen) or offline node has been inactive; absent when online. */
  inactiveSince?: string;
};
export const initialNodeState: NodeState = { status: 'absent', lastSeenAt: null, endpoint: null };

/** What registration must know about the rest of the tenant: answered by the nodes read model under a tenant lock. */
export interface TenantNodeIndex {
  publicKeyTaken(publicKey: string): boolean;
  nameTaken(name: string): boolean;
  lastAllocatedAddress: string | null;
  /** Set while this replica races others for the tenant's addresses: allocate in this lane (see ipam's lanes). */
  addressLane?: { lane: number; lastAllocated: string | null };
}

export type RegisterNode = {
  type: 'RegisterNode';
  nodeId: string;
  tenantId: string;
  name: string;
  publicKey: string;
  endpoint?: string;
  listenPort?: number;
  /** Tags asked for (`tag:web` or `web`). */
  tags: string[];
  /** The owning user, or null (see NodeRegistered.owner). Absent: null. */
  owner?: string | null;
  /**
   * Tags the enrollment key grants (vetted when the key was made): the node gets them all. Any other tag asked for
   * must be one `tagOwnership` lets the registering principal own.
   */
  grantedTags?: string[];
  /** tagOwners as they apply to the registering principal (a user, or a tagged key acting as its tags). Absent: owns none. */
  tagOwnership?: TagOwnership;
  tokenHash: string;
  enrollmentKeyId?: string;
  tenant: TenantNodeIndex;
  advertisedRoutes?: string[];
  exitNode?: string;
  /** The enrollment key is ephemeral. */
  ephemeral?: boolean;
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
/** The node's new WireGuard key; rotating to the key it holds is a no-op (an agent retrying after a crash). */
export type RotateNodeKey = { type: 'RotateNodeKey'; nodeId: string; publicKey: string; tenant: Pick<TenantNodeIndex, 'publicKeyTaken'> };
/** The sweeper's check against the tenant's expiry (ctx.now is the sweeper's clock). */
export type ExpireNodeKey = { type: 'ExpireNodeKey'; nodeId: string; expiryDays: number };
export type SetNodeKeyExpiry = { type: 'SetNodeKeyExpiry'; nodeId: string; disabled: boolean };
/** The sweeper's check of an ephemeral node: removed once inactive (pending or offline) since before `inactiveBefore`. */
export type RemoveEphemeralNode = { type: 'RemoveEphemeralNode'; nodeId: string; inactiveBefore: Date };
/** Replaces the node's tags; each tag it does not carry yet must be one `tagOwnership` lets the actor own. */
export type RetagNode = { type: 'RetagNode'; nodeId: string; tags: string[]; tagOwnership: TagOwnership };
/** A new name, unique among the tenant's live nodes (the node-identities unique index is the guarantee). */
export type RenameNode = { type: 'RenameNode'; nodeId: string; name: string; tenant: Pick<TenantNodeIndex, 'nameTaken'> };
export type NodeCommand = RegisterNode | RecordHeartbeat | MarkNodeOffline | RemoveNode | ApproveRoutes | RetagNode | RenameNode
  | RotateNodeKey | ExpireNodeKey | SetNodeKeyExpiry | RemoveEphemeralNode;

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
/** 403 naming each tag the principal may not put on a node. */
function refuseUnowned(tags: readonly string[]): void {
  if (tags.length) {
    throw new DomainError('TAG_NOT_OWNED', 'FORBIDDEN', `${tags.join(', ')}: not yours to assign (see tagOwners in the policy)`);
  }
}
const isLive = (s: NodeState) => s.status === 'pending' || s.status === 'online' || s.status === 'offline';

export const decideNode = (command: NodeCommand, state: NodeState, ctx: DecideContext): NodeEvent[] => {
  switch (command.type) {
    case 'RegisterNode':
      return registerNode(command, state);
    case 'RecordHeartbeat': {
      if (!isLive(state)) throw notFound();
      if (command.peers) checkReportedPeers(command.peers, command.knownPeers);
      const changes = heartbeatChanges(state.heartbeat ?? emptyHeartbeatBaseline, state, command, ctx.now);
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
    case 'RetagNode':
      return retagNode(command, state);
    case 'RenameNode': {
      if (!isLive(state)) throw notFound();
      if (command.name === state.name) return [];
      if (command.tenant.nameTaken(command.name)) throw new DomainError('NODE_NAME_TAKEN', 'CONFLICT', 'name is already used by another node in this tenant');
      return [{ type: 'NodeRenamed', data: { nodeId: command.nodeId, name: command.name, previousName: state.name ?? '' } }];
    }
    case 'RotateNodeKey':
    case 'ExpireNodeKey':
    case 'SetNodeKeyExpiry':
    case 'RemoveEphemeralNode':
      return decideNodeKey(command, state, ctx);
    default: {
      const _exhaustive: never = command;
      throw new Error(`unknown command ${JSON.stringify(_exhaustive)}`);
    }
  }
};

const DAY_MS = 24 * 3600 * 1000;

/** When a key issued at `issuedAt` expires under a tenant expiry of `expiryDays` (ISO time). */
export function nodeKeyExpiresAt(issuedAt: string, expiryDays: number): string {
  return new Date(new Date(issuedAt).getTime() + expiryDays * DAY_MS).toISOString();
}

function decideNodeKey(
  command: RotateNodeKey | ExpireNodeKey | SetNodeKeyExpiry | RemoveEphemeralNode, state: NodeState, ctx: DecideContext,
): NodeEvent[] {
  switch (command.type) {
    case 'RotateNodeKey': {
      if (!isLive(state) || !state.publicKey) throw notFound();
      if (command.publicKey === state.publicKey) return [];
      if (command.tenant.publicKeyTaken(command.publicKey)) {
        throw new DomainError('PUBLIC_KEY_TAKEN', 'CONFLICT', 'publicKey is already registered in this tenant');
      }
      return [{ type: 'NodeKeyRotated', data: { nodeId: command.nodeId, publicKey: command.publicKey, previousPublicKey: state.publicKey } }];
    }
    case 'ExpireNodeKey': {
      // Idempotent and silent: the sweeper asks about every node, most of them fresh.
      if (!isLive(state) || !state.publicKey || !state.keyIssuedAt || state.keyExpired || state.keyExpiryDisabled) return [];
      if (new Date(nodeKeyExpiresAt(state.keyIssuedAt, command.expiryDays)) > ctx.now) return [];
      return [{ type: 'NodeKeyExpired', data: { nodeId: command.nodeId, publicKey: state.publicKey, issuedAt: state.keyIssuedAt, at: ctx.now.toISOString() } }];
    }
    case 'SetNodeKeyExpiry': {
      if (!isLive(state)) throw notFound();
      if (command.disabled === !!state.keyExpiryDisabled) return [];
      return [{ type: 'NodeKeyExpirySet', data: { nodeId: command.nodeId, disabled: command.disabled } }];
    }
    case 'RemoveEphemeralNode': {
      if (!state.ephemeral || !state.publicKey || (state.status !== 'pending' && state.status !== 'offline')) return [];
      if (!state.inactiveSince || new Date(state.inactiveSince) >= command.inactiveBefore) return [];
      return [{ type: 'NodeRemoved', data: { nodeId: command.nodeId, publicKey: state.publicKey } }];
    }
  }
}

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

function retagNode(command: RetagNode, state: NodeState): NodeEvent[] {
  if (!isLive(state)) throw notFound();
  const current = canonicalTags(state.tags ?? []);
  const tags = canonicalTags(command.tags);
  refuseUnowned(unownedTags(command.tagOwnership, tags.filter((t) => !current.includes(t))));
  if (tags.length === 0 && !state.owner) {
    throw new DomainError('NODE_OWNER_REQUIRED', 'INVALID', 'tags: this node has no user owner (enrolled with a tagged key): it must keep a tag');
  }
  if (JSON.stringify(tags) === JSON.stringify(current)) return [];
  return [{ type: 'NodeTagsChanged', data: { nodeId: command.nodeId, tags } }];
}

function registerNode(command: RegisterNode, state: NodeState): NodeEvent[] {
  if (state.status !== 'absent') throw new DomainError('NODE_EXISTS', 'CONFLICT', 'node already exists');
  if (command.tenant.publicKeyTaken(command.publicKey)) {
    throw new DomainError('PUBLIC_KEY_TAKEN', 'CONFLICT', 'publicKey is already registered in this tenant');
  }
  if (command.tenant.nameTaken(command.name)) {
    throw new DomainError('NODE_NAME_TAKEN', 'CONFLICT', 'name is already used by another node in this tenant');
  }
  const granted = canonicalTags(command.grantedTags ?? []);
  const asked = canonicalTags(command.tags);
  refuseUnowned(unownedTags(command.tagOwnership ?? OWNS_NO_TAG, asked.filter((t) => !granted.includes(t))));
  const tags = canonicalTags([...granted, ...asked]);
  return [{
    type: 'NodeRegistered',
    data: {
      nodeId: command.nodeId,
      tenantId: command.tenantId,
      name: command.name,
      publicKey: command.publicKey,
      address: command.tenant.addressLane
        ? nextAddressInLane(command.tenant.addressLane.lastAllocated, command.tenant.addressLane.lane)
        : nextAddress(command.tenant.lastAllocatedAddress),
      endpoint: command.endpoint ?? null,
      listenPort: command.listenPort ?? DEFAULT_LISTEN_PORT,
      tags,
      ...(command.owner !== undefined ? { owner: command.owner } : {}),
      tokenHash: command.tokenHash,
      enrollmentKeyId: command.enrollmentKeyId ?? null,
      ...(command.advertisedRoutes?.length ? { advertisedRoutes: canonicalRoutes(command.advertisedRoutes) } : {}),
      ...(command.exitNode ? { exitNode: command.exitNode } : {}),
      ...(command.ephemeral ? { ephemeral: true as const } : {}),
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
        status: 'pending', lastSeenAt: null, endpoint: event.data.endpoint, publicKey: event.data.publicKey, name: event.data.name,
        advertisedRoutes: event.data.advertisedRoutes, heartbeat: emptyHeartbeatBaseline,
        ...(event.recordedAt ? { keyIssuedAt: event.recordedAt, inactiveSince: event.recordedAt } : {}),
        ...(event.data.ephemeral ? { ephemeral: true } : {}),
        tags: canonicalTags(event.data.tags), owner: event.data.owner ?? null,
      };
    case 'NodeHeartbeatRecorded': {
      const upcast = upcastHeartbeat(event);
      return {
        ...state, status: 'online', lastSeenAt: heartbeatAt(upcast), endpoint: upcast.data.endpoint ?? state.endpoint,
        ...(upcast.data.candidates ? { candidates: upcast.data.candidates } : {}),
        ...(upcast.data.seenFrom ? { seenFrom: upcast.data.seenFrom } : {}),
        heartbeat: applyHeartbeat(state.heartbeat ?? emptyHeartbeatBaseline, upcast), inactiveSince: undefined,
      };
    }
    case 'NodeSeen':
      return { ...state, status: 'online', lastSeenAt: heartbeatAt(event), inactiveSince: undefined };
    case 'NodeWentOffline':
      return { ...state, status: 'offline', inactiveSince: event.data.at };
    case 'NodeRemoved':
      return { ...state, status: 'removed', heartbeat: emptyHeartbeatBaseline };
    case 'NodeRoutesApproved':
      return { ...state, approvedRoutes: event.data.routes };
    case 'NodeTagsChanged':
      return { ...state, tags: event.data.tags };
    case 'NodeRenamed':
      return { ...state, name: event.data.name };
    case 'NodeKeyRotated':
      return { ...state, publicKey: event.data.publicKey, keyExpired: false, ...(event.recordedAt ? { keyIssuedAt: event.recordedAt } : {}) };
    case 'NodeKeyExpired':
      return { ...state, keyExpired: true };
    case 'NodeKeyExpirySet':
      return { ...state, keyExpiryDisabled: event.data.disabled, ...(event.data.disabled ? { keyExpired: false } : {}) };
    default:
      return state;
  }
};
