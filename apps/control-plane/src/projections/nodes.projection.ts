import {
  ipToInt, NodeEvent, NodeRegistered, NodeRoutesApproved, NodeState, RecordedEvent, TenantNodeIndex,
} from '@meshgate/domain';
import type { NodeView } from '@meshgate/contracts';
import { SqlRunner } from '../database/sql.port';
import { Projection } from './projection';

export type NodeRowStatus = 'pending' | 'online' | 'offline' | 'removed';

export interface NodeRow {
  id: string;
  tenantId: string;
  name: string;
  publicKey: string;
  address: string;
  endpoint: string | null;
  listenPort: number;
  tags: string[];
  status: NodeRowStatus;
  lastSeenAt: string | null;
  tokenHash: string;
  streamVersion: number;
  registeredAt: string;
  rxBytes: number;
  txBytes: number;
  enrollmentKeyId: string | null;
  routing: NodeRouting;
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
  lastAddress: string | null;
}

/**
 * Nodes as the API lists them, held in memory (10,000 rows are a few MB) and written through to the `nodes` table.
 * The row also serves as the node aggregate's snapshot: a node stream grows by one heartbeat every interval, so
 * folding it on every request would cost O(heartbeats so far).
 */
export class NodesProjection implements Projection {
  readonly name = 'nodes';
  readonly tables = ['nodes'];
  private byId = new Map<string, NodeRow>();
  private tenants = new Map<string, TenantIndex>();
  private dirty = new Set<string>();

  load(sql: SqlRunner): void {
    this.byId.clear();
    this.tenants.clear();
    this.dirty.clear();
    for (const r of sql.iterate<Record<string, any>>('SELECT * FROM nodes')) {
      this.index({
        id: r.id, tenantId: r.tenant_id, name: r.name, publicKey: r.public_key, address: r.address, endpoint: r.endpoint,
        listenPort: r.listen_port, tags: JSON.parse(r.tags), status: r.status, lastSeenAt: r.last_seen_at,
        tokenHash: r.token_hash, streamVersion: r.stream_version, registeredAt: r.registered_at, rxBytes: r.rx_bytes,
        txBytes: r.tx_bytes, enrollmentKeyId: r.enrollment_key_id, routing: JSON.parse(r.routing),
      });
    }
  }

  apply(event: RecordedEvent): void {
    const e = event as unknown as RecordedEvent<NodeEvent>;
    switch (e.type) {
      case 'NodeRegistered': {
        const d = e.data as NodeRegistered['data'];
        this.index({
          id: d.nodeId, tenantId: d.tenantId, name: d.name, publicKey: d.publicKey, address: d.address,
          endpoint: d.endpoint, listenPort: d.listenPort, tags: d.tags, status: 'pending', lastSeenAt: null,
          tokenHash: d.tokenHash, streamVersion: e.streamVersion, registeredAt: e.recordedAt, rxBytes: 0, txBytes: 0,
          enrollmentKeyId: d.enrollmentKeyId,
          routing: { ...(d.advertisedRoutes ? { advertisedRoutes: d.advertisedRoutes } : {}), ...(d.exitNode ? { exitNode: d.exitNode } : {}) },
        });
        break;
      }
      case 'NodeRoutesApproved': {
        const row = this.byId.get(e.data.nodeId);
        if (!row) return;
        row.routing = { ...row.routing, approvedRoutes: (e.data as NodeRoutesApproved['data']).routes };
        break;
      }
      case 'NodeHeartbeatRecorded': {
        const row = this.byId.get(e.data.nodeId);
        if (!row) return;
        const d = e.data as { at: string; endpoint?: string; rxBytes?: number; txBytes?: number };
        row.status = 'online';
        row.lastSeenAt = d.at;
        if (d.endpoint !== undefined) row.endpoint = d.endpoint;
        if (d.rxBytes !== undefined) row.rxBytes = d.rxBytes;
        if (d.txBytes !== undefined) row.txBytes = d.txBytes;
        break;
      }
      case 'NodeWentOffline': {
        const row = this.byId.get(e.data.nodeId);
        if (row) row.status = 'offline';
        break;
      }
      case 'NodeRemoved': {
        const row = this.byId.get(e.data.nodeId);
        if (!row) return;
        row.status = 'removed';
        const t = this.tenants.get(row.tenantId)!;
        t.live.delete(row.id);
        t.byPublicKey.delete(row.publicKey);
        t.byName.delete(row.name);
        break;
      }
      default:
        return;
    }
    const row = this.byId.get((e.data as { nodeId: string }).nodeId);
    if (row) {
      row.streamVersion = e.streamVersion;
      this.dirty.add(row.id);
    }
  }

  flush(sql: SqlRunner): void {
    for (const id of this.dirty) {
      const r = this.byId.get(id)!;
      sql.run(
        `INSERT INTO nodes (id, tenant_id, name, public_key, address, endpoint, listen_port, tags, status, last_seen_at,
           token_hash, stream_version, registered_at, rx_bytes, tx_bytes, enrollment_key_id, routing)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET endpoint = excluded.endpoint, status = excluded.status,
           last_seen_at = excluded.last_seen_at, stream_version = excluded.stream_version,
           rx_bytes = excluded.rx_bytes, tx_bytes = excluded.tx_bytes, routing = excluded.routing`,
        [r.id, r.tenantId, r.name, r.publicKey, r.address, r.endpoint, r.listenPort, JSON.stringify(r.tags), r.status,
          r.lastSeenAt, r.tokenHash, r.streamVersion, r.registeredAt, r.rxBytes, r.txBytes, r.enrollmentKeyId, JSON.stringify(r.routing)],
      );
    }
    this.dirty.clear();
  }

  private index(row: NodeRow): void {
    this.byId.set(row.id, row);
    let t = this.tenants.get(row.tenantId);
    if (!t) this.tenants.set(row.tenantId, (t = { live: new Set(), byPublicKey: new Map(), byName: new Map(), lastAddress: null }));
    if (t.lastAddress === null || ipToInt(row.address) > ipToInt(t.lastAddress)) t.lastAddress = row.address;
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

  tenantIndex(tenantId: string): TenantNodeIndex {
    const t = this.tenants.get(tenantId);
    return {
      publicKeyTaken: (key) => t?.byPublicKey.has(key) ?? false,
      nameTaken: (name) => t?.byName.has(name) ?? false,
      lastAllocatedAddress: t?.lastAddress ?? null,
    };
  }

  /** The node aggregate's state, taken from this snapshot; a node of another tenant is absent (the decider 404s). */
  stateOf(nodeId: string, tenantId?: string): { state: NodeState; version: number } {
    const row = this.byId.get(nodeId);
    if (!row || (tenantId !== undefined && row.tenantId !== tenantId)) return { state: { status: 'absent', lastSeenAt: null, endpoint: null }, version: 0 };
    return {
      state: {
        status: row.status, lastSeenAt: row.lastSeenAt, endpoint: row.endpoint, publicKey: row.publicKey,
        advertisedRoutes: row.routing.advertisedRoutes, approvedRoutes: row.routing.approvedRoutes,
      },
      version: row.streamVersion,
    };
  }

  onlineNodes(): NodeRow[] {
    return [...this.byId.values()].filter((r) => r.status === 'online');
  }

  countByStatus(): Record<NodeRowStatus, number> {
    const counts: Record<NodeRowStatus, number> = { pending: 0, online: 0, offline: 0, removed: 0 };
    for (const r of this.byId.values()) counts[r.status]++;
    return counts;
  }
}

export function toNodeView(r: NodeRow): NodeView {
  return {
    id: r.id, name: r.name, publicKey: r.publicKey, address: r.address, endpoint: r.endpoint, tags: r.tags,
    status: r.status === 'removed' ? 'offline' : r.status, lastSeenAt: r.lastSeenAt,
    advertisedRoutes: r.routing.advertisedRoutes ?? [], approvedRoutes: r.routing.approvedRoutes ?? [],
    ...(r.routing.exitNode ? { exitNode: r.routing.exitNode } : {}),
  };
}
