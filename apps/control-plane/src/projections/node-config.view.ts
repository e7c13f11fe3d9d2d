import {
  ChangeSet, compileStoredPolicy, DENY_ALL, EMPTY_POLICY, NodeRegistered, NodeRoutesApproved, PolicyUpdated, policyEngine,
  nodeIdOfStream, RecordedEvent, ScheduleEvent, StoredHeartbeatEvent, Topology, TopologyNode, upcastHeartbeat,
} from '@meshgate/domain';
import type { ConfigPatch, NodeConfig } from '@meshgate/contracts';
import { View } from './view';

/**
 * Whether a node has an open config stream on this replica. Only those get a patch built at all: the others (and all
 * of them during start-up catch-up and replay) fetch a full config when they connect.
 */
export type Listening = (nodeId: string) => boolean;

const NOBODY: Listening = () => false;

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

interface NodeConfigSnapshot {
  policies: Array<{ tenantId: string; version: number; document: unknown; text?: string; open: string[]; scheduleVersion: number }>;
  nodes: NodeConfigRow[];
}

/**
 * Per-node WireGuard config, versioned, in memory and fed from the log in every replica (so every replica numbers a
 * node's versions alike, and an agent may resume on any of them). Only versions and the topology inputs are held; a
 * full config is built on demand from the topology (a 10,000-node full mesh would otherwise be ~15 GB of configs).
 * Each event's change set bumps the version of exactly the nodes it changed and yields one patch per such node.
 */
export class NodeConfigView implements View {
  readonly name = 'node-config';
  private topologies = new Map<string, Topology>();
  private policies = new Map<string, TenantPolicy>();
  private nodes = new Map<string, NodeConfigRow>();
  private pending: Array<{ nodeId: string; patch: ConfigPatch }> = [];
  private removed: string[] = [];

  constructor(private readonly listening: Listening = NOBODY) {}

  snapshot(): NodeConfigSnapshot {
    return {
      // Sorted: a snapshot is compared (replay --full) and restored in one canonical order.
      policies: [...this.policies].sort(([a], [b]) => (a < b ? -1 : 1)).map(([tenantId, p]) => ({
        tenantId, version: p.version, document: p.document, text: p.text, open: [...p.open].sort(), scheduleVersion: p.scheduleVersion,
      })),
      nodes: [...this.nodes.values()].sort((a, b) => (a.id < b.id ? -1 : 1)),
    };
  }

  restore(state: unknown): void {
    this.topologies.clear();
    this.policies.clear();
    this.nodes.clear();
    this.pending = [];
    this.removed = [];
    const s = (state as NodeConfigSnapshot | undefined) ?? { policies: [], nodes: [] };
    for (const p of s.policies) {
      this.policies.set(p.tenantId, {
        version: p.version, document: p.document, ...(p.text !== undefined ? { text: p.text } : {}),
        compiled: compileStoredPolicy(p.document), open: new Set(p.open), scheduleVersion: p.scheduleVersion,
      });
    }
    for (const row of s.nodes) {
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
        this.bump(this.topology(d.tenantId).addNode(row));
        return;
      }
      case 'NodeHeartbeatRecorded': {
        const d = upcastHeartbeat(event as unknown as RecordedEvent<StoredHeartbeatEvent> & StoredHeartbeatEvent).data as { endpoint?: string };
        const row = this.nodes.get(nodeIdOfStream(event.streamId) ?? '');
        if (!row || d.endpoint === undefined || d.endpoint === row.endpoint) return;
        row.endpoint = d.endpoint;
        this.bump(this.topology(row.tenantId).updateEndpoint(row.id, d.endpoint));
        return;
      }
      case 'NodeRemoved': {
        const d = event.data as { nodeId: string };
        const row = this.nodes.get(d.nodeId);
        if (!row) return;
        const changes = this.topology(row.tenantId).removeNode(row.id);
        this.nodes.delete(row.id);
        this.removed.push(row.id);
        this.bump(changes);
        return;
      }
      case 'NodeRoutesApproved': {
        const d = event.data as NodeRoutesApproved['data'];
        const row = this.nodes.get(d.nodeId);
        if (!row) return;
        row.approvedRoutes = d.routes;
        const { advertisedRoutes, approvedRoutes, exitNode } = row;
        this.bump(this.topology(row.tenantId).updateNode(row.id, { advertisedRoutes, approvedRoutes, exitNode }));
        return;
      }
      case 'PolicyUpdated': {
        const d = event.data as PolicyUpdated['data'];
        const compiled = compileStoredPolicy(d.policy);
        const previous = this.tenantPolicy(d.tenantId);
        this.policies.set(d.tenantId, { ...previous, version: d.version, document: d.policy, text: d.text, compiled });
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
        this.bump(this.topology(e.data.tenantId).setOpenSchedules(p.open));
        return;
      }
      default:
        return;
    }
  }

  /** What the events applied since the last call changed for nodes with an open stream (the push reactor sends it). */
  drainPushes(): { patches: Array<{ nodeId: string; patch: ConfigPatch }>; removed: string[] } {
    const pushes = { patches: this.pending, removed: this.removed };
    this.pending = [];
    this.removed = [];
    return pushes;
  }

  // ---- queries ----

  policyOf(tenantId: string): Readonly<TenantPolicy> & { open: ReadonlySet<string> } {
    return this.tenantPolicy(tenantId);
  }

  /** Tenants whose policy names schedules, or that have a window open (the scheduler's work list). */
  tenantsWithSchedules(): string[] {
    return [...this.policies.entries()].filter(([, p]) => p.open.size > 0 || p.compiled.policy.schedules.size > 0).map(([t]) => t);
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

  arePeers(nodeId: string, otherId: string): boolean {
    const row = this.nodes.get(nodeId);
    return !!row && this.topology(row.tenantId).arePeers(nodeId, otherId);
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

  /** One version step for every node the change set touched, and a patch for those with an open stream. */
  private bump(changes: ChangeSet): void {
    for (const [nodeId, change] of changes) {
      const row = this.nodes.get(nodeId);
      if (!row || (change.upserted.size === 0 && change.removed.size === 0 && Object.keys(change.parts).length === 0)) continue;
      const baseVersion = row.version;
      row.version += 1;
      if (!this.listening(nodeId)) continue;
      this.pending.push({
        nodeId,
        patch: { version: row.version, baseVersion, peersUpserted: [...change.upserted.values()], peersRemoved: [...change.removed], ...change.parts },
      });
    }
  }
}
