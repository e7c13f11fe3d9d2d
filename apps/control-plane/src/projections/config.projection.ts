import {
  ChangeSet, compileStoredPolicy, DENY_ALL, EMPTY_POLICY, NodeRegistered, NodeRoutesApproved, PolicyUpdated, policyEngine,
  RecordedEvent, ScheduleEvent, Topology, TopologyNode,
} from '@meshgate/domain';
import type { ConfigPatch, NodeConfig } from '@meshgate/contracts';
import { SqlRunner } from '../database/sql.port';
import { Projection } from './projection';

/**
 * Where patches go after each commit. Only nodes with an open stream get a patch built at all: the others (and all
 * of them during start-up catch-up and replay) fetch a full config when they connect.
 */
export interface ConfigSubscribers {
  listening(nodeId: string): boolean;
  publish(nodeId: string, patch: ConfigPatch): void;
  /** The node was removed: its streams must end. */
  close(nodeId: string): void;
}

const NOBODY: ConfigSubscribers = { listening: () => false, publish: () => undefined, close: () => undefined };

interface NodeConfigRow extends TopologyNode {
  tenantId: string;
  version: number;
}

interface TenantPolicy {
  version: number;
  document: unknown;
  text?: string;
  compiled: policyEngine.CompiledPolicyV2;
  /** Schedule windows open now, as the ScheduleWindowOpened/Closed events say; and that stream's version. */
  open: Set<string>;
  scheduleVersion: number;
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
  private policies = new Map<string, TenantPolicy>();
  private nodes = new Map<string, NodeConfigRow>();
  private dirtyNodes = new Set<string>();
  private deletedNodes = new Set<string>();
  private dirtyPolicies = new Set<string>();
  private pending: Array<{ nodeId: string; patch: ConfigPatch }> = [];
  private removed: string[] = [];

  constructor(private readonly subscribers: ConfigSubscribers = NOBODY) {}

  load(sql: SqlRunner): void {
    this.topologies.clear();
    this.policies.clear();
    this.nodes.clear();
    this.dirtyNodes.clear();
    this.deletedNodes.clear();
    this.dirtyPolicies.clear();
    this.pending = [];
    this.removed = [];
    for (const p of sql.iterate<Record<string, any>>('SELECT * FROM policies')) {
      const document = JSON.parse(p.document);
      this.policies.set(p.tenant_id, {
        version: p.version, document, ...(p.text !== null ? { text: p.text } : {}), compiled: compileStoredPolicy(document),
        open: new Set(JSON.parse(p.open_schedules)), scheduleVersion: p.schedule_version,
      });
    }
    for (const r of sql.iterate<Record<string, any>>('SELECT * FROM node_configs ORDER BY node_id')) {
      const row: NodeConfigRow = {
        id: r.node_id, tenantId: r.tenant_id, version: r.version, name: r.name, tags: JSON.parse(r.tags),
        publicKey: r.public_key, address: r.address, endpoint: r.endpoint, listenPort: r.listen_port, ...JSON.parse(r.routing),
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
          ...(d.advertisedRoutes ? { advertisedRoutes: d.advertisedRoutes } : {}), ...(d.exitNode ? { exitNode: d.exitNode } : {}),
        };
        this.nodes.set(row.id, row);
        this.markDirty(row.id);
        this.bump(this.topology(d.tenantId).addNode(row));
        return;
      }
      case 'NodeHeartbeatRecorded': {
        const d = event.data as { nodeId: string; endpoint?: string };
        const row = this.nodes.get(d.nodeId);
        if (!row || d.endpoint === undefined || d.endpoint === row.endpoint) return;
        row.endpoint = d.endpoint;
        this.markDirty(row.id);
        this.bump(this.topology(row.tenantId).updateEndpoint(row.id, d.endpoint));
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
        this.bump(changes);
        return;
      }
      case 'NodeRoutesApproved': {
        const d = event.data as NodeRoutesApproved['data'];
        const row = this.nodes.get(d.nodeId);
        if (!row) return;
        row.approvedRoutes = d.routes;
        this.markDirty(row.id);
        const { advertisedRoutes, approvedRoutes, exitNode } = row;
        this.bump(this.topology(row.tenantId).updateNode(row.id, { advertisedRoutes, approvedRoutes, exitNode }));
        return;
      }
      case 'PolicyUpdated': {
        const d = event.data as PolicyUpdated['data'];
        const compiled = compileStoredPolicy(d.policy);
        const previous = this.tenantPolicy(d.tenantId);
        this.policies.set(d.tenantId, { ...previous, version: d.version, document: d.policy, text: d.text, compiled });
        this.dirtyPolicies.add(d.tenantId);
        this.bump(this.topology(d.tenantId).setPolicy(compiled));
        return;
      }
      case 'ScheduleWindowOpened':
      case 'ScheduleWindowClosed': {
        const e = event as unknown as RecordedEvent<ScheduleEvent>;
        const p = this.tenantPolicy(e.data.tenantId);
        if (e.type === 'ScheduleWindowOpened') p.open.add(e.data.schedule);
        else p.open.delete(e.data.schedule);
        p.scheduleVersion = e.streamVersion;
        this.policies.set(e.data.tenantId, p);
        this.dirtyPolicies.add(e.data.tenantId);
        this.bump(this.topology(e.data.tenantId).setOpenSchedules(p.open));
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
        `INSERT INTO node_configs (node_id, tenant_id, version, name, tags, public_key, address, endpoint, listen_port, routing)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (node_id) DO UPDATE SET version = excluded.version, endpoint = excluded.endpoint, routing = excluded.routing`,
        [r.id, r.tenantId, r.version, r.name, JSON.stringify(r.tags), r.publicKey, r.address, r.endpoint, r.listenPort,
          JSON.stringify({ advertisedRoutes: r.advertisedRoutes, approvedRoutes: r.approvedRoutes, exitNode: r.exitNode })],
      );
    }
    for (const tenantId of this.dirtyPolicies) {
      const p = this.policies.get(tenantId)!;
      sql.run(
        `INSERT INTO policies (tenant_id, version, document, text, open_schedules, schedule_version) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version, document = excluded.document, text = excluded.text,
           open_schedules = excluded.open_schedules, schedule_version = excluded.schedule_version`,
        [tenantId, p.version, JSON.stringify(p.document), p.text ?? null, JSON.stringify([...p.open].sort()), p.scheduleVersion],
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
    for (const { nodeId, patch } of patches) this.subscribers.publish(nodeId, patch);
    for (const nodeId of removed) this.subscribers.close(nodeId);
  }

  // ---- queries ----

  policyOf(tenantId: string): Readonly<TenantPolicy> & { open: ReadonlySet<string> } {
    return this.tenantPolicy(tenantId);
  }

  /** Tenants whose policy names schedules, or that have a window open (the scheduler's work list). */
  tenantsWithSchedules(): string[] {
    return [...this.policies.entries()].filter(([, p]) => p.open.size > 0 || Object.keys(p.compiled.policy.schedules).length > 0).map(([t]) => t);
  }

  /** The tenant's nodes as the policy sees them (for policy tests). */
  identitiesOf(tenantId: string): policyEngine.Identity[] {
    return this.topology(tenantId).identities();
  }

  /** The tenant's nodes as the topology holds them (for previews on a scratch copy). */
  topologyNodesOf(tenantId: string): TopologyNode[] {
    return this.topology(tenantId).topologyNodes();
  }

  versionOf(nodeId: string): number | undefined {
    return this.nodes.get(nodeId)?.version;
  }

  /** The full config, built from the topology: O(peers of this node). */
  configOf(nodeId: string): NodeConfig | undefined {
    const row = this.nodes.get(nodeId);
    if (!row) return undefined;
    return { version: row.version, ...this.topology(row.tenantId).configOf(nodeId)! };
  }

  private tenantPolicy(tenantId: string): TenantPolicy {
    return this.policies.get(tenantId)
      ?? { version: 0, document: EMPTY_POLICY, compiled: DENY_ALL, open: new Set(), scheduleVersion: 0 };
  }

  private topology(tenantId: string): Topology {
    let t = this.topologies.get(tenantId);
    if (!t) {
      const p = this.tenantPolicy(tenantId);
      this.topologies.set(tenantId, (t = new Topology(p.compiled, new Set(p.open))));
    }
    return t;
  }

  private markDirty(nodeId: string): void {
    this.dirtyNodes.add(nodeId);
  }

  /** One version step for every node the change set touched, and a patch for those with an open stream. */
  private bump(changes: ChangeSet): void {
    for (const [nodeId, change] of changes) {
      const row = this.nodes.get(nodeId);
      if (!row || (change.upserted.size === 0 && change.removed.size === 0 && Object.keys(change.parts).length === 0)) continue;
      const baseVersion = row.version;
      row.version += 1;
      this.markDirty(nodeId);
      if (!this.subscribers.listening(nodeId)) continue;
      this.pending.push({
        nodeId,
        patch: { version: row.version, baseVersion, peersUpserted: [...change.upserted.values()], peersRemoved: [...change.removed], ...change.parts },
      });
    }
  }
}
