import {
  applyHeartbeat, emptyHeartbeatBaseline, HeartbeatBaseline, heartbeatAt, heartbeatBaselineFromJson, HeartbeatBaselineJson,
  heartbeatBaselineToJson, highestAddress, ipToInt, laneOf, NodeRegistered, NodeRenamed, NodeRoutesApproved, NodeTagsChanged, nodeIdOfStream, NodeState, policyEngine, RecordedEvent,
  StoredHeartbeatEvent, streams, TenantNodeIndex, upcastHeartbeat,
} from '@meshgate/domain';
import {
  DEFAULT_NODE_KEY_EXPIRY_DAYS, NodeKeyExpirySet, NodeKeyRotated, nodeKeyExpiresAt, NodeWentOffline, TenantSettingsUpdated,
} from '@meshgate/domain';
import type { NodeView } from '@meshgate/contracts';
import { View } from './view';

export type NodeRowStatus = 'pending' | 'online' | 'offline' | 'removed';

export interface NodeRow {
  id: string;
  tenantId: string;
  name: string;
  publicKey: string;
  address: string;
  endpoint: string | null;
  listenPort: number;
  /** Where its heartbeats last said it may be dialled, and the address they came from (absent: not yet reported). */
  candidates?: string[];
  seenFrom?: string;
  /** Canonical (`tag:web`), old events' bare tags included. */
  tags: string[];
  /** The owning user's id; null: none (see NodeRegistered.owner). */
  owner: string | null;
  status: NodeRowStatus;
  lastSeenAt: string | null;
  tokenHash: string;
  streamVersion: number;
  registeredAt: string;
  rxBytes: number;
  txBytes: number;
  enrollmentKeyId: string | null;
  routing: NodeRouting;
  /** What its heartbeats last recorded: what the next one is compared with (see the domain's heartbeat.ts). */
  heartbeat: HeartbeatBaseline;
  keys: NodeKeys;
}

/** The node's key: when it was issued (registration or last rotation, by recordedAt), and its expiry. */
export interface NodeKeys {
  issuedAt: string;
  /** issuedAt + the tenant's nodeKeyExpiryDays; null while expiry is disabled for the node. */
  expiresAt: string | null;
  expired: boolean;
  expiryDisabled: boolean;
  ephemeral: boolean;
  /** Since when it is pending (never seen: its registration) or offline; null while online. */
  inactiveSince: string | null;
}

/** What a node says about routing, and what an admin approved of it. */
export interface NodeRouting {
  advertisedRoutes?: string[];
  approvedRoutes?: string[];
  exitNode?: string;
}

interface TenantIndex {
  live: Set<string>;
  byPublicKey: Map<string, string>;
  byName: Map<string, string>;
  /** The highest address ever allocated in each address lane (undefined: none); the highest of them is the tenant's. */
  lastInLane: Array<string | undefined>;
  keyExpiryDays: number;
}

type NodesSnapshot = {
  nodes: Array<Omit<NodeRow, 'heartbeat'> & { heartbeat: HeartbeatBaselineJson }>;
  /** Tenants' node key expiry, where set. */
  keyExpiryDays: Array<[string, number]>;
};

/**
 * Nodes as the API lists them, in memory (10,000 rows are a few MB), fed from the log in every replica. The row also
 * serves as the node aggregate's state: a node stream grows by one heartbeat every interval, so folding it on every
 * request would cost O(heartbeats so far).
 */
export class NodesView implements View {
  readonly name = 'nodes';
  private byId = new Map<string, NodeRow>();
  /** Rows by their stream's name: a compact heartbeat (most of the log) finds its row without parsing the name. */
  private byStream = new Map<string, NodeRow>();
  private tenants = new Map<string, TenantIndex>();

  snapshot(): NodesSnapshot {
    return {
      nodes: [...this.byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1))
        .map((row) => ({ ...row, heartbeat: heartbeatBaselineToJson(row.heartbeat) })),
      keyExpiryDays: [...this.tenants].filter(([, t]) => t.keyExpiryDays !== DEFAULT_NODE_KEY_EXPIRY_DAYS)
        .map(([id, t]): [string, number] => [id, t.keyExpiryDays]).sort(([a], [b]) => (a < b ? -1 : 1)),
    };
  }

  restore(state: unknown): void {
    this.byId.clear();
    this.byStream.clear();
    this.tenants.clear();
    const s = (state as NodesSnapshot | undefined) ?? { nodes: [], keyExpiryDays: [] };
    for (const [tenantId, days] of s.keyExpiryDays) this.tenant(tenantId).keyExpiryDays = days;
    for (const row of s.nodes) this.index({ ...row, heartbeat: heartbeatBaselineFromJson(row.heartbeat) });
  }

  apply(event: RecordedEvent): void {
    if (event.type === 'NodeSeen') {
      const row = this.byStream.get(event.streamId);
      if (!row) return;
      this.markSeen(row, heartbeatAt(event as unknown as RecordedEvent<StoredHeartbeatEvent> & StoredHeartbeatEvent));
      row.streamVersion = event.streamVersion;
      return;
    }
    if (event.type === 'NodeRegistered') {
      const d = event.data as NodeRegistered['data'];
      this.index({
        id: d.nodeId, tenantId: d.tenantId, name: d.name, publicKey: d.publicKey, address: d.address,
        endpoint: d.endpoint, listenPort: d.listenPort, tags: policyEngine.canonicalTags(d.tags), owner: d.owner ?? null,
        status: 'pending', lastSeenAt: null,
        tokenHash: d.tokenHash, streamVersion: event.streamVersion, registeredAt: event.recordedAt, rxBytes: 0, txBytes: 0,
        enrollmentKeyId: d.enrollmentKeyId,
        routing: { ...(d.advertisedRoutes ? { advertisedRoutes: d.advertisedRoutes } : {}), ...(d.exitNode ? { exitNode: d.exitNode } : {}) },
        heartbeat: emptyHeartbeatBaseline,
        keys: {
          issuedAt: event.recordedAt, expiresAt: nodeKeyExpiresAt(event.recordedAt, this.tenant(d.tenantId).keyExpiryDays),
          expired: false, expiryDisabled: false, ephemeral: d.ephemeral === true, inactiveSince: event.recordedAt,
        },
      });
      return;
    }
    if (event.type === 'TenantSettingsUpdated') {
      const d = event.data as TenantSettingsUpdated['data'];
      const t = this.tenant(d.tenantId);
      t.keyExpiryDays = d.nodeKeyExpiryDays;
      for (const id of t.live) this.refreshExpiry(this.byId.get(id)!);
      return;
    }
    const nodeId = nodeIdOfStream(event.streamId);
    const row = nodeId === null ? undefined : this.byId.get(nodeId);
    if (!row) return;
    switch (event.type) {
      case 'NodeRoutesApproved':
        row.routing = { ...row.routing, approvedRoutes: (event.data as NodeRoutesApproved['data']).routes };
        break;
      case 'NodeTagsChanged':
        row.tags = (event.data as NodeTagsChanged['data']).tags;
        break;
      case 'NodeRenamed': {
        const names = this.tenants.get(row.tenantId)!.byName;
        names.delete(row.name);
        row.name = (event.data as NodeRenamed['data']).name;
        names.set(row.name, row.id);
        break;
      }
      case 'NodeHeartbeatRecorded': {
        const heartbeat = upcastHeartbeat(event as unknown as RecordedEvent<StoredHeartbeatEvent> & StoredHeartbeatEvent);
        this.markSeen(row, heartbeatAt(heartbeat));
        if (heartbeat.type === 'NodeHeartbeatRecorded') {
          const d = heartbeat.data;
          if (d.endpoint !== undefined) row.endpoint = d.endpoint;
          if (d.candidates !== undefined) row.candidates = d.candidates;
          if (d.seenFrom !== undefined) row.seenFrom = d.seenFrom;
          if (d.rxBytes !== undefined) row.rxBytes = d.rxBytes;
          if (d.txBytes !== undefined) row.txBytes = d.txBytes;
        }
        row.heartbeat = applyHeartbeat(row.heartbeat, heartbeat);
        break;
      }
      case 'NodeWentOffline':
        row.status = 'offline';
        row.keys.inactiveSince = (event.data as NodeWentOffline['data']).at;
        break;
      case 'NodeKeyRotated': {
        const d = event.data as NodeKeyRotated['data'];
        const t = this.tenants.get(row.tenantId)!;
        t.byPublicKey.delete(row.publicKey);
        t.byPublicKey.set(d.publicKey, row.id);
        row.publicKey = d.publicKey;
        row.keys.issuedAt = event.recordedAt;
        row.keys.expired = false;
        this.refreshExpiry(row);
        break;
      }
      case 'NodeKeyExpired':
        row.keys.expired = true;
        break;
      case 'NodeKeyExpirySet':
        row.keys.expiryDisabled = (event.data as NodeKeyExpirySet['data']).disabled;
        if (row.keys.expiryDisabled) row.keys.expired = false;
        this.refreshExpiry(row);
        break;
      case 'NodeRemoved': {
        row.status = 'removed';
        const t = this.tenants.get(row.tenantId)!;
        t.live.delete(row.id);
        t.byPublicKey.delete(row.publicKey);
        t.byName.delete(row.name);
        break;
      }
      default:
        break; // e.g. a reusable key's use, recorded with the node it enrolled: only the stream's version moves
    }
    // Every event on the node's stream moves its version (what the next decision on it expects).
    row.streamVersion = event.streamVersion;
  }

  /** What any heartbeat says of its node: online, seen at `at`. */
  private markSeen(row: NodeRow, at: string): void {
    row.status = 'online';
    row.lastSeenAt = at;
    row.keys.inactiveSince = null;
  }

  private tenant(tenantId: string): TenantIndex {
    let t = this.tenants.get(tenantId);
    if (!t) {
      this.tenants.set(tenantId, (t = {
        live: new Set(), byPublicKey: new Map(), byName: new Map(), lastInLane: [], keyExpiryDays: DEFAULT_NODE_KEY_EXPIRY_DAYS,
      }));
    }
    return t;
  }

  private refreshExpiry(row: NodeRow): void {
    row.keys.expiresAt = row.keys.expiryDisabled ? null : nodeKeyExpiresAt(row.keys.issuedAt, this.tenant(row.tenantId).keyExpiryDays);
  }

  private index(row: NodeRow): void {
    this.byId.set(row.id, row);
    this.byStream.set(streams.node(row.id), row);
    const t = this.tenant(row.tenantId);
    const lane = laneOf(row.address);
    const inLane = t.lastInLane[lane];
    if (inLane === undefined || ipToInt(row.address) > ipToInt(inLane)) t.lastInLane[lane] = row.address;
    if (row.status !== 'removed') {
      t.live.add(row.id);
      t.byPublicKey.set(row.publicKey, row.id);
      t.byName.set(row.name, row.id);
    }
  }

  // ---- queries ----

  /** A live (not removed) node of the tenant, or undefined: other tenants' nodes are invisible. */
  find(tenantId: string, nodeId: string): NodeRow | undefined {
    const row = this.byId.get(nodeId);
    return row && row.tenantId === tenantId && row.status !== 'removed' ? row : undefined;
  }

  /**
   * A live node of the tenant by id or by name (names are unique per tenant among live nodes; a name never looks
   * like a UUID, so the two cannot be confused).
   */
  resolve(tenantId: string, idOrName: string): NodeRow | undefined {
    const byName = this.tenants.get(tenantId)?.byName.get(idOrName);
    return this.find(tenantId, byName ?? idOrName);
  }

  /** Any live node by id, for node-token checks. */
  findLive(nodeId: string): NodeRow | undefined {
    const row = this.byId.get(nodeId);
    return row && row.status !== 'removed' ? row : undefined;
  }

  list(tenantId: string): NodeRow[] {
    const t = this.tenants.get(tenantId);
    if (!t) return [];
    return [...t.live].map((id) => this.byId.get(id)!).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The live node of the tenant holding this WireGuard public key. */
  idOfPublicKey(tenantId: string, publicKey: string): string | undefined {
    return this.tenants.get(tenantId)?.byPublicKey.get(publicKey);
  }

  tenantIndex(tenantId: string): TenantNodeIndex {
    const t = this.tenants.get(tenantId);
    return {
      publicKeyTaken: (key) => t?.byPublicKey.has(key) ?? false,
      nameTaken: (name) => t?.byName.has(name) ?? false,
      lastAllocatedAddress: t ? highestAddress(t.lastInLane) : null,
    };
  }

  /** The highest address ever allocated in the tenant's address lane, removed nodes' included. */
  lastAddressInLane(tenantId: string, lane: number): string | null {
    return this.tenants.get(tenantId)?.lastInLane[lane] ?? null;
  }

  /** The node aggregate's state, taken from this snapshot; a node of another tenant is absent (the decider 404s). */
  stateOf(nodeId: string, tenantId?: string): { state: NodeState; version: number } {
    const row = this.byId.get(nodeId);
    if (!row || (tenantId !== undefined && row.tenantId !== tenantId)) return { state: { status: 'absent', lastSeenAt: null, endpoint: null }, version: 0 };
    return {
      state: {
        status: row.status, lastSeenAt: row.lastSeenAt, endpoint: row.endpoint, publicKey: row.publicKey, name: row.name,
        ...(row.candidates ? { candidates: row.candidates } : {}), ...(row.seenFrom ? { seenFrom: row.seenFrom } : {}),
        advertisedRoutes: row.routing.advertisedRoutes, approvedRoutes: row.routing.approvedRoutes, heartbeat: row.heartbeat,
        keyIssuedAt: row.keys.issuedAt, keyExpired: row.keys.expired, keyExpiryDisabled: row.keys.expiryDisabled,
        ephemeral: row.keys.ephemeral, ...(row.keys.inactiveSince !== null ? { inactiveSince: row.keys.inactiveSince } : {}),
        tags: row.tags, owner: row.owner,
      },
      version: row.streamVersion,
    };
  }

  onlineNodes(): NodeRow[] {
    return [...this.byId.values()].filter((r) => r.status === 'online');
  }

  /** Live nodes whose key expires at or before `now` and has not been declared expired yet (the sweeper's work). */
  keysDue(now: Date): NodeRow[] {
    const at = now.toISOString();
    return [...this.byId.values()].filter((r) => r.status !== 'removed' && !r.keys.expired && r.keys.expiresAt !== null && r.keys.expiresAt <= at);
  }

  /** Ephemeral nodes inactive (pending or offline) since before `before`. */
  ephemeralInactiveSince(before: Date): NodeRow[] {
    const at = before.toISOString();
    return [...this.byId.values()].filter((r) => r.keys.ephemeral && r.status !== 'removed' && r.keys.inactiveSince !== null && r.keys.inactiveSince < at);
  }

  keyExpiryDaysOf(tenantId: string): number {
    return this.tenants.get(tenantId)?.keyExpiryDays ?? DEFAULT_NODE_KEY_EXPIRY_DAYS;
  }

  countByStatus(): Record<NodeRowStatus, number> {
    const counts: Record<NodeRowStatus, number> = { pending: 0, online: 0, offline: 0, removed: 0 };
    for (const r of this.byId.values()) counts[r.status]++;
    return counts;
  }

  /** Per tenant, its nodes that are not removed by status (for /metrics: one pass over the nodes). */
  countByTenant(): Map<string, Record<Exclude<NodeRowStatus, 'removed'>, number>> {
    const byTenant = new Map<string, Record<Exclude<NodeRowStatus, 'removed'>, number>>();
    for (const r of this.byId.values()) {
      if (r.status === 'removed') continue;
      let counts = byTenant.get(r.tenantId);
      if (!counts) byTenant.set(r.tenantId, (counts = { pending: 0, online: 0, offline: 0 }));
      counts[r.status]++;
    }
    return byTenant;
  }
}

export function toNodeView(r: NodeRow): NodeView {
  return {
    id: r.id, name: r.name, publicKey: r.publicKey, address: r.address, endpoint: r.endpoint, tags: r.tags, owner: r.owner,
    candidates: r.candidates ?? [], ...(r.seenFrom ? { seenFrom: r.seenFrom } : {}),
    status: r.status === 'removed' ? 'offline' : r.status, lastSeenAt: r.lastSeenAt,
    advertisedRoutes: r.routing.advertisedRoutes ?? [], approvedRoutes: r.routing.approvedRoutes ?? [],
    ...(r.routing.exitNode ? { exitNode: r.routing.exitNode } : {}),
    keyExpiresAt: r.keys.expiresAt, keyExpired: r.keys.expired, keyExpiryDisabled: r.keys.expiryDisabled, ephemeral: r.keys.ephemeral,
  };
}
