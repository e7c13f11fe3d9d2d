import {
  ChangeSet, CompiledPolicy, EMPTY_POLICY, NodeRegistered, PolicyDocument, RecordedEvent, Topology, TopologyNode,
} from '@meshgate/domain';
import type { ConfigPatch, NodeConfig } from '@meshgate/contracts';
import { SqlRunner } from '../database/sql.port';
import { Projection } from './projection';

export interface PublishedPatch {
  tenantId: string;
  nodeId: string;
  patch: ConfigPatch;
}

interface NodeConfigRow extends TopologyNode {
  tenantId: string;
  version: number;
}

/**
 * Per-node WireGuard config, versioned. Only versions and the topology inputs are stored; a full config is built on
 * demand from the in-memory topology (a 10,000-node full mesh would otherwise be ~15 GB of materialised configs).
 * Each event's change set bumps the version of exactly the nodes it changed and yields one patch per such node.
 */
export class ConfigProjection implements Projection {
  readonly name = 'config';
  readonly tables = ['node_configs', 'policies'];
  private topologies = new Map<string, Topology>();
  private policies = new Map<string, { version: number; document: PolicyDocument; compiled: CompiledPolicy }>();
  private nodes = new Map<string, NodeConfigRow>();
  private dirtyNodes = new Set<string>();
  private deletedNodes = new Set<string>();
  private dirtyPolicies = new Set<string>();
  private pending: PublishedPatch[] = [];
  private removed: string[] = [];

  /** `publish` gets, after each commit, the patches it produced and the nodes removed (their streams must end). */
  constructor(private readonly publish: (patches: PublishedPatch[], removed: string[]) => void = () => undefined) {}

  load(sql: SqlRunner): void {
    this.topologies.clear();
    this.policies.clear();
    this.nodes.clear();
    this.dirtyNodes.clear();
    this.deletedNodes.clear();
    this.dirtyPolicies.clear();
    this.pending = [];
    this.removed = [];
    for (const p of sql.iterate<{ tenant_id: string; version: number; document: string }>('SELECT * FROM policies')) {
      const document = JSON.parse(p.document) as PolicyDocument;
      this.policies.set(p.tenant_id, { version: p.version, document, compiled: new CompiledPolicy(document) });
    }
    for (const r of sql.iterate<Record<string, any>>('SELECT * FROM node_configs ORDER BY node_id')) {
      const row: NodeConfigRow = {
        id: r.node_id, tenantId: r.tenant_id, version: r.version, name: r.name, tags: JSON.parse(r.tags),
        publicKey: r.public_key, address: r.address, endpoint: r.endpoint, listenPort: r.listen_port,
      };
      this.nodes.set(row.id, row);
      this.topology(row.tenantId).restoreNode(row);
    }
  }

  apply(event: RecordedEvent): void {
    switch (event.type) {
      case 'NodeRegistered': {
        const d = event.data as NodeRegistered['data'];
        const row: NodeConfigRow = {
          id: d.nodeId, tenantId: d.tenantId, version: 1, name: d.name, tags: d.tags, publicKey: d.publicKey,
          address: d.address, endpoint: d.endpoint, listenPort: d.listenPort,
        };
        this.nodes.set(row.id, row);
        this.markDirty(row.id);
        this.bump(d.tenantId, this.topology(d.tenantId).addNode(row));
        return;
      }
      case 'NodeHeartbeatRecorded': {
        const d = event.data as { nodeId: string; endpoint?: string };
        const row = this.nodes.get(d.nodeId);
        if (!row || d.endpoint === undefined || d.endpoint === row.endpoint) return;
        row.endpoint = d.endpoint;
        this.markDirty(row.id);
        this.bump(row.tenantId, this.topology(row.tenantId).updateEndpoint(row.id, d.endpoint));
        return;
      }
      case 'NodeRemoved': {
        const d = event.data as { nodeId: string };
        const row = this.nodes.get(d.nodeId);
        if (!row) return;
        const changes = this.topology(row.tenantId).removeNode(row.id);
        this.nodes.delete(row.id);
        this.dirtyNodes.delete(row.id);
        this.deletedNodes.add(row.id);
        this.removed.push(row.id);
        this.bump(row.tenantId, changes);
        return;
      }
      case 'PolicyUpdated': {
        const d = event.data as { tenantId: string; version: number; policy: PolicyDocument };
        const compiled = new CompiledPolicy(d.policy);
        this.policies.set(d.tenantId, { version: d.version, document: d.policy, compiled });
        this.dirtyPolicies.add(d.tenantId);
        this.bump(d.tenantId, this.topology(d.tenantId).setPolicy(compiled));
        return;
      }
      default:
        return;
    }
  }

  flush(sql: SqlRunner): void {
    for (const id of this.deletedNodes) sql.run('DELETE FROM node_configs WHERE node_id = ?', [id]);
    for (const id of this.dirtyNodes) {
      const r = this.nodes.get(id)!;
      sql.run(
        `INSERT INTO node_configs (node_id, tenant_id, version, name, tags, public_key, address, endpoint, listen_port)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (node_id) DO UPDATE SET version = excluded.version, endpoint = excluded.endpoint`,
        [r.id, r.tenantId, r.version, r.name, JSON.stringify(r.tags), r.publicKey, r.address, r.endpoint, r.listenPort],
      );
    }
    for (const tenantId of this.dirtyPolicies) {
      const p = this.policies.get(tenantId)!;
      sql.run(
        `INSERT INTO policies (tenant_id, version, document) VALUES (?, ?, ?)
         ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version, document = excluded.document`,
        [tenantId, p.version, JSON.stringify(p.document)],
      );
    }
    this.deletedNodes.clear();
    this.dirtyNodes.clear();
    this.dirtyPolicies.clear();
  }

  afterCommit(): void {
    if (this.pending.length === 0 && this.removed.length === 0) return;
    const patches = this.pending;
    const removed = this.removed;
    this.pending = [];
    this.removed = [];
    this.publish(patches, removed);
  }

  // ---- queries ----

  policyOf(tenantId: string): { version: number; document: PolicyDocument } {
    const p = this.policies.get(tenantId);
    return p ? { version: p.version, document: p.document } : { version: 0, document: EMPTY_POLICY };
  }

  versionOf(nodeId: string): number | undefined {
    return this.nodes.get(nodeId)?.version;
  }

  /** The full config, built from the topology: O(peers of this node). */
  configOf(nodeId: string): NodeConfig | undefined {
    const row = this.nodes.get(nodeId);
    if (!row) return undefined;
    const topology = this.topology(row.tenantId);
    return {
      version: row.version,
      interface: topology.interfaceOf(nodeId)!,
      peers: topology.peersOf(nodeId),
      routes: [],
      servedRoutes: [],
      firewall: [],
      qos: [],
    };
  }

  private topology(tenantId: string): Topology {
    let t = this.topologies.get(tenantId);
    if (!t) {
      const compiled = this.policies.get(tenantId)?.compiled ?? new CompiledPolicy(EMPTY_POLICY);
      this.topologies.set(tenantId, (t = new Topology(compiled)));
    }
    return t;
  }

  private markDirty(nodeId: string): void {
    this.dirtyNodes.add(nodeId);
  }

  /** One version step and one patch for every node the change set touched. */
  private bump(tenantId: string, changes: ChangeSet): void {
    for (const [nodeId, change] of changes) {
      const row = this.nodes.get(nodeId);
      if (!row || (change.upserted.size === 0 && change.removed.size === 0)) continue;
      const baseVersion = row.version;
      row.version += 1;
      this.markDirty(nodeId);
      this.pending.push({
        tenantId,
        nodeId,
        patch: { version: row.version, baseVersion, peersUpserted: [...change.upserted.values()], peersRemoved: [...change.removed] },
      });
    }
  }
}
