import {
  ChangeSet, compileStoredPolicy, DENY_ALL, EMPTY_POLICY, InvitationAccepted, MemberAdded, MemberRemoved, MemberRoleChanged,
  NodeRegistered, NodeRenamed, NodeRoutesApproved, NodeTagsChanged, PeerRemovals, PeerUpserts, PolicyUpdated, policyEngine, nodeIdOfStream, RecordedEvent, Role,
  ScheduleEvent, StoredHeartbeatEvent, Topology, TopologyLink, TopologyNode, upcastHeartbeat, UserGroupsChanged, UserRegistered,
} from '@meshgate/domain';
import {
  DEFAULT_NODE_KEY_EXPIRY_DAYS, defaultTenantDomain, directCandidates, evolveRelayPaths, hostPort, NodeKeyExpirySet, NodeKeyRotated,
  nodeKeyExpiresAt, OVERLAY_PREFIX, RELAY_PAIR_PACKETS_PER_SECOND, RELAY_PAIR_RATE_MBIT, RELAY_REFLECT_PORT, RelayEvent, RelayPathsState,
  TenantCreated, TenantSettingsUpdated,
} from '@meshgate/domain';
import type { ConfigPatch, NodeConfig, NodeKeyStatus, RelayPath, RelayService } from '@meshgate/contracts';
import { View } from './view';

/**
 * Whether a node has an open config stream on this replica. Only those get a patch built at all: the others (and all
 * of them during start-up catch-up and replay) fetch a full config when they connect.
 */
export type Listening = (nodeId: string) => boolean;

const NOBODY: Listening = () => false;

/** An expired node's config: its interface, and nothing else until it rotates its key. */
function expiredConfig(row: { address: string; listenPort: number }): Omit<NodeConfig, 'version'> {
  return {
    interface: { address: `${row.address}/${OVERLAY_PREFIX}`, listenPort: row.listenPort }, peers: [], routes: [], servedRoutes: [], firewall: [], qos: [],
    reachableGroups: [],
  };
}

/** Config fields kept beside the topology (per node or per tenant): a patch carries those an event changed. */
type NodeFields = Pick<ConfigPatch, 'key' | 'dns' | 'reflectors' | 'relayPaths' | 'relay'>;
const NO_FIELDS: ReadonlyMap<string, (row: NodeConfigRow) => NodeFields> = new Map();
const ownerKey = (tenantId: string, userId: string) => `${tenantId}/${userId}`;
const sameGroups = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean =>
  (a ?? []).length === (b ?? []).length && (a ?? []).every((g, i) => g === b![i]);

interface NodeConfigRow extends TopologyNode {
  tenantId: string;
  /** When its key was registered or last rotated (that event's recordedAt). */
  keyIssuedAt?: string;
  /** Out of the topology (no peers, in no peer's config) until it rotates: see NodeKeyExpired. */
  keyExpired?: boolean;
  keyExpiryDisabled?: boolean;
  version: number;
  /** The owning user's id (null: none; see NodeRegistered.owner). `user`, `role` and `groups` are derived from it. */
  owner: string | null;
  /** What its heartbeats last reported as candidates, and the IP they came from; `candidates` is derived from these. */
  reportedCandidates?: string[];
  seenFrom?: string;
}

/** Where the row's node may be dialled (its `candidates` is this, derived from what its heartbeats reported). */
const candidatesOf = (row: NodeConfigRow): string[] =>
  directCandidates({ endpoint: row.endpoint, candidates: row.reportedCandidates, seenFrom: row.seenFrom, listenPort: row.listenPort });

/** The tenant's relaying: relay nodes (by id, as the policy names them) and the open relay paths. */
interface TenantRelays {
  relays: Set<string>;
  paths: RelayPathsState;
  /** Version of the tenant's relays stream (the relay path decider's expected version). */
  streamVersion: number;
}

interface TenantPolicy {
  version: number;
  document: unknown;
  text?: string;
  compiled: policyEngine.CompiledPolicy;
  /** Schedule windows open now, as the ScheduleWindowOpened/Closed events say; and that stream's version. */
  open: Set<string>;
  scheduleVersion: number;
}

interface NodeConfigSnapshot {
  policies: Array<{ tenantId: string; version: number; document: unknown; text?: string; open: string[]; scheduleVersion: number }>;
  nodes: NodeConfigRow[];
  /** Tenants' node key expiry, where set (TenantSettingsUpdated); the others have the default. */
  keyExpiryDays?: Array<[string, number]>;
  /** userId → email, and `<tenantId>/<userId>` → role: what owner selectors need, from the directory's events. */
  emails: Array<[string, string]>;
  roles: Array<[string, Role]>;
  /** userId → IdP groups as of the user's latest sign-on (UserGroupsChanged), for `idp:` group members; non-empty only. */
  idpGroups: Array<[string, string[]]>;
  /** Tenants' mesh domains (TenantCreated's name, or TenantSettingsUpdated's domain); absent from older snapshots. */
  domains?: Array<[string, string]>;
  relayPaths?: Array<{ tenantId: string; streamVersion: number; paths: Array<[string, RelayPathsState extends ReadonlyMap<string, infer P> ? P : never]> }>;
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
  private keyExpiryDays = new Map<string, number>();
  /** The directory as owner selectors see it (part of this view's state, fed from the same log). */
  private emails = new Map<string, string>();
  private roles = new Map<string, Role>();
  private idpGroups = new Map<string, string[]>();
  /** `<tenantId>/<userId>` → ids of the live nodes that user owns (derived: rebuilt on restore). */
  private owned = new Map<string, Set<string>>();
  private domains = new Map<string, string>();
  /** Relay nodes are derived (policy and identities), paths come from the relays stream. */
  private relaying = new Map<string, TenantRelays>();

  constructor(private readonly listening: Listening = NOBODY) {}

  snapshot(): NodeConfigSnapshot {
    return {
      // Sorted: a snapshot is compared (replay --full) and restored in one canonical order.
      policies: [...this.policies].sort(([a], [b]) => (a < b ? -1 : 1)).map(([tenantId, p]) => ({
        tenantId, version: p.version, document: p.document, text: p.text, open: [...p.open].sort(), scheduleVersion: p.scheduleVersion,
      })),
      nodes: [...this.nodes.values()].sort((a, b) => (a.id < b.id ? -1 : 1)),
      keyExpiryDays: [...this.keyExpiryDays].sort(([a], [b]) => (a < b ? -1 : 1)),
      emails: [...this.emails].sort(([a], [b]) => (a < b ? -1 : 1)),
      roles: [...this.roles].sort(([a], [b]) => (a < b ? -1 : 1)),
      idpGroups: [...this.idpGroups].sort(([a], [b]) => (a < b ? -1 : 1)),
      domains: [...this.domains].sort(([a], [b]) => (a < b ? -1 : 1)),
      relayPaths: [...this.relaying].filter(([, r]) => r.streamVersion > 0).sort(([a], [b]) => (a < b ? -1 : 1)).map(([tenantId, r]) => ({
        tenantId, streamVersion: r.streamVersion, paths: [...r.paths].sort(([a], [b]) => (a < b ? -1 : 1)),
      })),
    };
  }

  restore(state: unknown): void {
    this.topologies.clear();
    this.policies.clear();
    this.nodes.clear();
    this.pending = [];
    this.removed = [];
    this.owned.clear();
    this.keyExpiryDays = new Map((state as NodeConfigSnapshot | undefined)?.keyExpiryDays ?? []);
    const s = (state as NodeConfigSnapshot | undefined) ?? { policies: [], nodes: [], emails: [], roles: [], idpGroups: [] };
    this.emails = new Map(s.emails);
    this.roles = new Map(s.roles);
    this.idpGroups = new Map(s.idpGroups);
    this.domains = new Map(s.domains ?? []);
    this.relaying.clear();
    for (const r of s.relayPaths ?? []) this.relaysOf(r.tenantId).paths = new Map(r.paths);
    for (const r of s.relayPaths ?? []) this.relaysOf(r.tenantId).streamVersion = r.streamVersion;
    for (const p of s.policies) {
      this.policies.set(p.tenantId, {
        version: p.version, document: p.document, ...(p.text !== undefined ? { text: p.text } : {}),
        compiled: compileStoredPolicy(p.document), open: new Set(p.open), scheduleVersion: p.scheduleVersion,
      });
    }
    for (const row of s.nodes) {
      this.nodes.set(row.id, row);
      this.own(row);
      if (!row.keyExpired) this.topology(row.tenantId).restoreNode(row);
      if (this.isRelay(row)) this.relaysOf(row.tenantId).relays.add(row.id);
    }
  }

  apply(event: RecordedEvent): void {
    switch (event.type) {
      case 'NodeRegistered': {
        const d = event.data as NodeRegistered['data'];
        const row: NodeConfigRow = {
          id: d.nodeId, tenantId: d.tenantId, version: 1, name: d.name, tags: policyEngine.canonicalTags(d.tags), publicKey: d.publicKey,
          address: d.address, endpoint: d.endpoint, listenPort: d.listenPort, owner: d.owner ?? null,
          ...this.ownerIdentity(d.tenantId, d.owner ?? null),
          ...(d.advertisedRoutes ? { advertisedRoutes: d.advertisedRoutes } : {}), ...(d.exitNode ? { exitNode: d.exitNode } : {}),
        };
        row.keyIssuedAt = event.recordedAt;
        this.nodes.set(row.id, row);
        this.own(row);
        this.bump(this.topology(d.tenantId).addNode(row));
        this.recheckRelay(row);
        return;
      }
      case 'TenantCreated': {
        const d = event.data as TenantCreated['data'];
        this.domains.set(d.tenantId, defaultTenantDomain(d.name, d.tenantId));
        return;
      }
      case 'RelayPathOpened':
      case 'RelayPathClosed':
        this.applyRelayEvent(event as unknown as RecordedEvent<RelayEvent>);
        return;
      case 'NodeTagsChanged': {
        const d = event.data as NodeTagsChanged['data'];
        const row = this.nodes.get(d.nodeId);
        if (!row) return;
        row.tags = d.tags;
        this.bump(this.topology(row.tenantId).updateNode(row.id, { tags: d.tags }));
        this.recheckRelay(row);
        return;
      }
      case 'NodeRenamed': {
        const d = event.data as NodeRenamed['data'];
        const row = this.nodes.get(d.nodeId);
        if (!row) return;
        row.name = d.name;
        // Its peers get its entry under the new name, and its own config its new DNS name.
        this.bump(this.topology(row.tenantId).renameNode(row.id, d.name), this.fieldsFor([row.id], (r) => ({ dns: this.dnsOf(r) })));
        this.recheckRelay(row);
        return;
      }
      case 'UserRegistered':
      case 'UserProvisioned': {
        const d = event.data as UserRegistered['data'];
        // A user registers once, before owning any node: nothing to re-identify.
        this.emails.set(d.userId, d.email);
        return;
      }
      case 'UserGroupsChanged': {
        const d = event.data as UserGroupsChanged['data'];
        if (d.groups.length > 0) this.idpGroups.set(d.userId, [...d.groups]);
        else this.idpGroups.delete(d.userId);
        // The user's nodes, in every tenant they own nodes in (tenants in order, so every replica bumps alike).
        const suffix = `/${d.userId}`;
        const tenants = [...this.owned.keys()].filter((k) => k.endsWith(suffix)).map((k) => k.slice(0, -suffix.length)).sort();
        for (const tenantId of tenants) this.reidentify(tenantId, d.userId);
        return;
      }
      case 'MemberAdded':
      case 'InvitationAccepted':
      case 'MemberRoleChanged': {
        const d = event.data as MemberAdded['data'] | InvitationAccepted['data'] | MemberRoleChanged['data'];
        this.roles.set(ownerKey(d.tenantId, d.userId), d.role);
        this.reidentify(d.tenantId, d.userId);
        return;
      }
      case 'MemberRemoved': {
        const d = event.data as MemberRemoved['data'];
        this.roles.delete(ownerKey(d.tenantId, d.userId));
        this.reidentify(d.tenantId, d.userId);
        return;
      }
      case 'NodeKeyRotated':
      case 'NodeKeyExpired':
      case 'NodeKeyExpirySet':
      case 'TenantSettingsUpdated':
        this.applyKeyEvent(event);
        return;
      case 'NodeHeartbeatRecorded': {
        const d = upcastHeartbeat(event as unknown as RecordedEvent<StoredHeartbeatEvent> & StoredHeartbeatEvent).data as {
          endpoint?: string; candidates?: string[]; seenFrom?: string;
        };
        const row = this.nodes.get(nodeIdOfStream(event.streamId) ?? '');
        if (!row) return;
        if (d.endpoint === undefined && d.candidates === undefined && d.seenFrom === undefined) return;
        const relayBefore = this.relayHostOf(row);
        if (d.endpoint !== undefined) row.endpoint = d.endpoint;
        if (d.candidates !== undefined) row.reportedCandidates = d.candidates;
        if (d.seenFrom !== undefined) row.seenFrom = d.seenFrom;
        row.candidates = candidatesOf(row);
        this.bump(this.topology(row.tenantId).updateEndpoint(row.id, row.endpoint, row.candidates));
        if (this.relayHostOf(row) !== relayBefore && this.relaysOf(row.tenantId).relays.has(row.id)) this.relaysMoved(row.tenantId);
        return;
      }
      case 'NodeRemoved': {
        const d = event.data as { nodeId: string };
        const row = this.nodes.get(d.nodeId);
        if (!row) return;
        this.keepingForwards(row.tenantId, () => {
          const changes = this.topology(row.tenantId).removeNode(row.id);
          this.nodes.delete(row.id);
          if (row.owner) this.owned.get(ownerKey(row.tenantId, row.owner))?.delete(row.id);
          this.removed.push(row.id);
          this.bump(changes);
        });
        if (this.relaysOf(row.tenantId).relays.delete(row.id)) this.relaysMoved(row.tenantId);
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
        this.keepingForwards(d.tenantId, () => this.bump(this.topology(d.tenantId).setPolicy(compiled)));
        this.recountRelays(d.tenantId);
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
  identitiesOf(tenantId: string): readonly Readonly<policyEngine.Identity>[] {
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

  /** The node's peerings with what each side may reach and route through the other (topology read model). */
  linksOf(nodeId: string): TopologyLink[] {
    const row = this.nodes.get(nodeId);
    return row ? this.topology(row.tenantId).linksOf(nodeId) : [];
  }

  /** The full config, built from the topology: O(peers of this node). */
  configOf(nodeId: string): NodeConfig | undefined {
    const row = this.nodes.get(nodeId);
    if (!row) return undefined;
    const key = this.keyOf(row);
    const dns = this.dnsOf(row);
    if (row.keyExpired) return { version: row.version, ...expiredConfig(row), key, dns };
    const relay = this.relayServiceOf(row);
    return {
      version: row.version, ...this.topology(row.tenantId).configOf(nodeId)!, key, dns,
      reflectors: this.reflectorsOf(row.tenantId), relayPaths: this.relayPathsOf(row), ...(relay ? { relay } : {}),
    };
  }

  /** What the relay path decider needs: the open paths of the tenant and the version of its relays stream. */
  relayPathsState(tenantId: string): { paths: RelayPathsState; version: number } {
    const r = this.relaysOf(tenantId);
    return { paths: r.paths, version: r.streamVersion };
  }

  /** Relay nodes of the tenant that can serve now: named by the policy, key valid, with an address to be dialled at. */
  usableRelays(tenantId: string): string[] {
    return [...this.relaysOf(tenantId).relays].filter((id) => {
      const row = this.nodes.get(id);
      return !!row && !row.keyExpired && this.relayHostOf(row) !== undefined;
    }).sort();
  }

  isLive(nodeId: string): boolean {
    const row = this.nodes.get(nodeId);
    return !!row && !row.keyExpired;
  }

  /** The host a relay node is dialled at, or undefined when it has none. */
  relayHostOfNode(nodeId: string): string | undefined {
    const row = this.nodes.get(nodeId);
    return row ? this.relayHostOf(row) : undefined;
  }

  seenFromOf(nodeId: string): string | undefined {
    return this.nodes.get(nodeId)?.seenFrom;
  }

  /** The tenant's node key expiry in days. */
  keyExpiryDaysOf(tenantId: string): number {
    return this.keyExpiryDays.get(tenantId) ?? DEFAULT_NODE_KEY_EXPIRY_DAYS;
  }

  private keyOf(row: NodeConfigRow): NodeKeyStatus {
    const expiresAt = row.keyExpiryDisabled || !row.keyIssuedAt ? null : nodeKeyExpiresAt(row.keyIssuedAt, this.keyExpiryDaysOf(row.tenantId));
    return { issuedAt: row.keyIssuedAt ?? '', expiresAt, expired: !!row.keyExpired };
  }

  /**
   * Key events. The node's own config always gets its new `key` status; a rotation replaces the key at every peer;
   * an expiry takes the node out of the topology (peers drop it, its own config loses every peer and rule) and a
   * rotation or an expiry exemption puts it back (peers get it, its own config gets them all).
   */
  private applyKeyEvent(event: RecordedEvent): void {
    if (event.type === 'TenantSettingsUpdated') {
      const d = event.data as TenantSettingsUpdated['data'];
      if (d.domain !== undefined && d.domain !== this.domainOf(d.tenantId)) {
        this.domains.set(d.tenantId, d.domain);
        const ids = [...this.nodes.values()].filter((r) => r.tenantId === d.tenantId).map((r) => r.id).sort();
        this.bump(new Map(), this.fieldsFor(ids, (row) => ({ dns: this.dnsOf(row) })));
      }
      if (this.keyExpiryDaysOf(d.tenantId) === d.nodeKeyExpiryDays) return;
      this.keyExpiryDays.set(d.tenantId, d.nodeKeyExpiryDays);
      const ids = [...this.nodes.values()].filter((r) => r.tenantId === d.tenantId && !r.keyExpiryDisabled).map((r) => r.id).sort();
      this.bump(new Map(), this.keyFields(ids));
      return;
    }
    const row = this.nodes.get((event.data as { nodeId: string }).nodeId);
    if (!row) return;
    const topology = this.topology(row.tenantId);
    const own = this.keyFields([row.id]);
    switch (event.type) {
      case 'NodeKeyRotated': {
        const d = event.data as NodeKeyRotated['data'];
        row.keyIssuedAt = event.recordedAt;
        if (row.keyExpired) {
          row.publicKey = d.publicKey;
          row.keyExpired = false;
          this.bump(this.rejoin(row), own);
        } else {
          row.publicKey = d.publicKey;
          this.bump(topology.rotateKey(row.id, d.publicKey), own);
        }
        return;
      }
      case 'NodeKeyExpired': {
        if (row.keyExpired) return;
        this.keepingForwards(row.tenantId, () => {
          const before = topology.configOf(row.id);
          row.keyExpired = true;
          const changes = topology.removeNode(row.id);
          if (before) {
            changes.set(row.id, {
              upserted: new PeerUpserts(), removed: new PeerRemovals(before.peers.map((p) => p.publicKey)),
              parts: { routes: [], servedRoutes: [], firewall: [], qos: [], reachableGroups: [] },
            });
          }
          this.bump(changes, own);
        });
        return;
      }
      case 'NodeKeyExpirySet': {
        row.keyExpiryDisabled = (event.data as NodeKeyExpirySet['data']).disabled;
        if (row.keyExpiryDisabled && row.keyExpired) {
          row.keyExpired = false;
          this.bump(this.rejoin(row), own);
        } else {
          this.bump(new Map(), own);
        }
        return;
      }
      default:
        return;
    }
  }

  /** An expired node back in the topology: its peers get it, and its own change is its whole config. */
  private rejoin(row: NodeConfigRow): ChangeSet {
    const topology = this.topology(row.tenantId);
    const changes = topology.addNode(row);
    const config = topology.configOf(row.id)!;
    changes.set(row.id, {
      upserted: new PeerUpserts(config.peers), removed: new PeerRemovals(),
      parts: { routes: config.routes, servedRoutes: config.servedRoutes, firewall: config.firewall, qos: config.qos, reachableGroups: config.reachableGroups },
    });
    return changes;
  }

  /**
   * tagOwners of the tenant's current policy as they apply to a principal: a user (by id, with the role of their
   * token), or a tagged enrollment key (its tags).
   */
  tagOwnershipOf(tenantId: string, who: { userId?: string; role?: Role; tags?: readonly string[] }): policyEngine.TagOwnership {
    const email = who.userId !== undefined ? this.emails.get(who.userId) : undefined;
    const groups = who.userId !== undefined ? this.idpGroups.get(who.userId) : undefined;
    return policyEngine.tagOwnership(this.tenantPolicy(tenantId).compiled.policy, { email, role: who.role, groups, tags: who.tags });
  }

  /** The tenant's members as policy tests see them (email → role), for stand-ins of users without nodes. */
  usersOf(tenantId: string): Map<string, Role> {
    const users = new Map<string, Role>();
    const prefix = `${tenantId}/`;
    for (const [key, role] of this.roles) {
      const email = key.startsWith(prefix) ? this.emails.get(key.slice(prefix.length)) : undefined;
      if (email !== undefined) users.set(email, role);
    }
    return users;
  }

  /**
   * What owner selectors see of a node owned by `owner`: its email, role and IdP groups while the owner is a member.
   * The groups split classes only for the `idp:` members a policy names (classOf considers only the policy's atoms).
   */
  private ownerIdentity(tenantId: string, owner: string | null): Pick<TopologyNode, 'user' | 'role' | 'groups'> {
    const role = owner === null ? undefined : this.roles.get(ownerKey(tenantId, owner));
    const email = owner === null ? undefined : this.emails.get(owner);
    if (role === undefined || email === undefined) return {};
    const groups = this.idpGroups.get(owner!);
    return { user: email, role, ...(groups ? { groups: [...groups] } : {}) };
  }

  private own(row: NodeConfigRow): void {
    if (!row.owner) return;
    const key = ownerKey(row.tenantId, row.owner);
    let ids = this.owned.get(key);
    if (!ids) this.owned.set(key, (ids = new Set()));
    ids.add(row.id);
  }

  /**
   * The user's membership, role or IdP groups changed: their nodes in the tenant move to the classes their new
   * identity gives them, and every config that sees the move is bumped. O(the user's nodes × their peers).
   */
  private reidentify(tenantId: string, userId: string): void {
    for (const id of [...(this.owned.get(ownerKey(tenantId, userId)) ?? [])].sort()) {
      const row = this.nodes.get(id);
      if (!row) continue;
      const { user, role, groups } = this.ownerIdentity(row.tenantId, row.owner);
      if (user === row.user && role === row.role && sameGroups(groups, row.groups)) continue;
      delete row.user;
      delete row.role;
      delete row.groups;
      Object.assign(row, user !== undefined ? { user, role } : {}, groups ? { groups } : {});
      this.bump(this.topology(row.tenantId).updateNode(row.id, { user, role, groups }));
    }
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

  /**
   * One version step for every node the change set touched or `fields` names, and a patch for those with an open
   * stream. `fields` are built only for those (a tenant-wide change costs its patches, not a config per node).
   */
  private bump(changes: ChangeSet, fields: ReadonlyMap<string, (row: NodeConfigRow) => NodeFields> = NO_FIELDS): void {
    for (const id of fields.keys()) if (!changes.has(id)) changes.set(id, { upserted: new PeerUpserts(), removed: new PeerRemovals(), parts: {} });
    for (const [nodeId, change] of changes) {
      const row = this.nodes.get(nodeId);
      const extra = fields.get(nodeId);
      if (!row || (!extra && change.upserted.size === 0 && change.removed.size === 0 && Object.keys(change.parts).length === 0)) continue;
      const baseVersion = row.version;
      row.version += 1;
      if (!this.listening(nodeId)) continue;
      this.pending.push({
        nodeId,
        patch: { version: row.version, baseVersion, peersUpserted: change.upserted.list(), peersRemoved: change.removed.list(), ...change.parts,
          ...(extra ? extra(row) : {}) },
      });
    }
  }

  private fieldsFor(ids: Iterable<string>, build: (row: NodeConfigRow) => NodeFields): Map<string, (row: NodeConfigRow) => NodeFields> {
    return new Map([...ids].map((id) => [id, build]));
  }

  private keyFields(ids: Iterable<string>): Map<string, (row: NodeConfigRow) => NodeFields> {
    return this.fieldsFor(ids, (row) => ({ key: this.keyOf(row) }));
  }

  // ---- names and relaying ----

  domainOf(tenantId: string): string {
    return this.domains.get(tenantId) ?? defaultTenantDomain('', tenantId);
  }

  private dnsOf(row: NodeConfigRow): NonNullable<NodeConfig['dns']> {
    return { domain: this.domainOf(row.tenantId), name: row.name };
  }

  private relaysOf(tenantId: string): TenantRelays {
    let r = this.relaying.get(tenantId);
    if (!r) this.relaying.set(tenantId, (r = { relays: new Set(), paths: new Map(), streamVersion: 0 }));
    return r;
  }

  private isRelay(row: NodeConfigRow): boolean {
    const identity = this.topology(row.tenantId).identityOf(row.id);
    return !!identity && this.tenantPolicy(row.tenantId).compiled.isRelay(identity);
  }

  /** The host a relay is dialled at (its first direct candidate's), or undefined when it has none. */
  private relayHostOf(row: NodeConfigRow): string | undefined {
    const first = (row.candidates?.length ? row.candidates : candidatesOf(row))[0];
    return first === undefined ? undefined : first.slice(0, first.lastIndexOf(':'));
  }

  /** A node came or its identity changed: it joins or leaves the tenant's relays. */
  private recheckRelay(row: NodeConfigRow): void {
    const relays = this.relaysOf(row.tenantId).relays;
    const is = this.isRelay(row);
    if (is === relays.has(row.id)) return;
    if (is) relays.add(row.id);
    else relays.delete(row.id);
    this.relaysMoved(row.tenantId, [row.id]);
  }

  /** The policy changed: which nodes are relays is decided again (O(nodes of the tenant), as the policy change is). */
  private recountRelays(tenantId: string): void {
    const relays = this.relaysOf(tenantId).relays;
    // No relays before and none chosen now: nothing to ask of every node.
    if (relays.size === 0 && !this.tenantPolicy(tenantId).compiled.hasRelays) return;
    const next = new Set([...this.nodes.values()].filter((r) => r.tenantId === tenantId && this.isRelay(r)).map((r) => r.id));
    const changed = [...new Set([...relays, ...next])].filter((id) => relays.has(id) !== next.has(id));
    if (changed.length === 0) return;
    this.relaysOf(tenantId).relays = next;
    this.relaysMoved(tenantId, changed);
  }

  /**
   * The set of relays (or a relay's address) changed: every node of the tenant gets the new reflectors and relay
   * paths, and the relays that came or went their relay service. Rare (relays are few and fixed), so O(tenant).
   */
  private relaysMoved(tenantId: string, changedRelays: readonly string[] = []): void {
    const ids = [...this.nodes.values()].filter((r) => r.tenantId === tenantId).map((r) => r.id).sort();
    const changed = new Set(changedRelays);
    this.bump(new Map(), this.fieldsFor(ids, (row) => ({
      reflectors: this.reflectorsOf(tenantId), relayPaths: this.relayPathsOf(row),
      ...(changed.has(row.id) ? { relay: this.relayServiceOf(row) ?? null } : {}),
    })));
  }

  private applyRelayEvent(event: RecordedEvent<RelayEvent>): void {
    const d = event.data;
    const r = this.relaysOf(d.tenantId);
    r.paths = evolveRelayPaths(r.paths, event);
    r.streamVersion = event.streamVersion;
    const touched = [...d.nodes].filter((id) => this.nodes.has(id));
    const fields = this.fieldsFor(touched, (row) => ({ relayPaths: this.relayPathsOf(row) }));
    if (this.nodes.has(d.relayNodeId)) fields.set(d.relayNodeId, (row) => ({ relay: this.relayServiceOf(row) ?? null }));
    this.bump(new Map(), fields);
  }

  private reflectorsOf(tenantId: string): string[] {
    return this.usableRelays(tenantId).map((id) => hostPort(this.relayHostOf(this.nodes.get(id)!)!, RELAY_REFLECT_PORT));
  }

  /** The node's relayed peers: for each open path it is in, the peer's key and the relay's address with its port. */
  private relayPathsOf(row: NodeConfigRow): RelayPath[] {
    const out: RelayPath[] = [];
    for (const p of this.relaysOf(row.tenantId).paths.values()) {
      const side = p.nodes.indexOf(row.id);
      const peer = this.nodes.get(p.nodes[1 - side]);
      const relay = this.nodes.get(p.relayNodeId);
      const host = relay && !relay.keyExpired ? this.relayHostOf(relay) : undefined;
      if (side < 0 || !peer || host === undefined) continue;
      out.push({ publicKey: peer.publicKey, endpoint: hostPort(host, p.ports[side]) });
    }
    return out.sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1));
  }

  /**
   * Runs `apply` (an event that may end pairs' peering or remove their nodes) and sends the relays whose forwards it
   * changed their new service. Decided by comparing before and after within the event, so every replica bumps alike.
   */
  private keepingForwards(tenantId: string, apply: () => void): void {
    const relayIds = [...new Set([...this.relaysOf(tenantId).paths.values()].map((p) => p.relayNodeId))];
    const forwardsOf = (id: string) => {
      const row = this.nodes.get(id);
      return row ? JSON.stringify(this.relayServiceOf(row)?.forwards ?? []) : '';
    };
    const before = relayIds.map(forwardsOf);
    apply();
    const changed = relayIds.filter((id, i) => this.nodes.has(id) && forwardsOf(id) !== before[i]);
    if (changed.length) this.bump(new Map(), this.fieldsFor(changed, (row) => ({ relay: this.relayServiceOf(row) ?? null })));
  }

  private relayServiceOf(row: NodeConfigRow): RelayService | undefined {
    if (!this.relaysOf(row.tenantId).relays.has(row.id)) return undefined;
    // A path whose node went, or whose pair stopped peering, is closed only by the next decision on the relays
    // stream: the relay stops forwarding it at once.
    const forwards = [...this.relaysOf(row.tenantId).paths.values()]
      .filter((p) => p.relayNodeId === row.id && this.arePeers(p.nodes[0], p.nodes[1]))
      .sort((a, b) => a.ports[0] - b.ports[0]).map((p) => ({ ports: p.ports, sources: p.sources }));
    return { reflectPort: RELAY_REFLECT_PORT, forwards, pairRateMbit: RELAY_PAIR_RATE_MBIT, pairPacketsPerSecond: RELAY_PAIR_PACKETS_PER_SECOND };
  }
}
