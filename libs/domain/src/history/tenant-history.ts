import type { Actor, RecordedEvent } from '../shared/event';
import type { NodeKeyExpirySet, NodeRegistered, NodeRenamed, NodeRoutesApproved, NodeTagsChanged } from '../node/node';
import { compileStoredPolicy, DENY_ALL, EMPTY_POLICY, PolicyUpdated, ScheduleEvent } from '../policy/policy';
import { CompiledPolicy, Identity } from '../policy/evaluate';
import { canonicalTags } from '../policy/tag-owners';
import type { MemberAdded, MemberRemoved, MemberRoleChanged, InvitationAccepted, Role } from '../tenant/tenant';
import type { UserGroupsChanged, UserRegistered } from '../user/user';

/** An event as an answer names it: where it sits in the log, when, what and who. */
export interface HistoryEventRef {
  position: number;
  at: string;
  type: string;
  actor: Actor;
}
export const refOf = (e: RecordedEvent): HistoryEventRef => ({ position: e.position, at: e.recordedAt, type: e.type, actor: e.metadata.actor });

/**
 * The events that change who may reach what in a tenant. Everything else (heartbeats above all, which are most of the
 * log) leaves reachability alone, so a question about the past folds only these.
 */
export const TENANT_REACHABILITY_EVENTS: ReadonlySet<string> = new Set([
  'PolicyUpdated', 'ScheduleWindowOpened', 'ScheduleWindowClosed',
  'NodeRegistered', 'NodeRemoved', 'NodeTagsChanged', 'NodeRenamed', 'NodeRoutesApproved', 'NodeKeyRotated', 'NodeKeyExpired', 'NodeKeyExpirySet',
  'MemberAdded', 'InvitationAccepted', 'MemberRoleChanged', 'MemberRemoved',
]);
/** User events (no tenant): the email and IdP groups that owner selectors match. */
export const USER_REACHABILITY_EVENTS: ReadonlySet<string> = new Set(['UserRegistered', 'UserProvisioned', 'UserGroupsChanged']);

/** Where a user's own reachability events are indexed (they belong to no tenant). */
export const userScope = (userId: string): string => `user:${userId}`;

/**
 * The index key of a reachability event: its tenant, or `user:<id>` for a user's events; null for every other event.
 * Member events name their tenant in their data (an invitation is accepted in the registration's append).
 */
export function reachabilityScope(event: Pick<RecordedEvent, 'type' | 'data' | 'tenantId'>): string | null {
  if (USER_REACHABILITY_EVENTS.has(event.type)) return userScope((event.data as { userId: string }).userId);
  if (!TENANT_REACHABILITY_EVENTS.has(event.type)) return null;
  return (event.data as { tenantId?: string }).tenantId ?? event.tenantId;
}

/** A node as the tenant's history knows it at some position, with the events that made it so. */
export interface HistoricalNode {
  id: string;
  name: string;
  address: string;
  tags: string[];
  owner: string | null;
  advertisedRoutes?: string[];
  approvedRoutes?: string[];
  exitNode?: string;
  removed: boolean;
  keyExpired: boolean;
  keyExpiryDisabled: boolean;
  registeredBy: HistoryEventRef;
  /** The event that gave it its current tags: its registration or its latest retag. */
  tagsSetBy: HistoryEventRef;
  routesApprovedBy?: HistoryEventRef;
  /** Why it is out of the mesh, when it is: its removal, or its key's expiry. */
  leftBy?: HistoryEventRef;
}

export interface HistoricalPolicy {
  version: number;
  document: unknown;
  compiled: CompiledPolicy;
  /** Its PolicyUpdated; null before the first one (deny everything). */
  event: HistoryEventRef | null;
}

/**
 * A tenant's reachability inputs, folded event by event from its reachability events (and its members' user events)
 * in log order: the policy in force, the open schedule windows, the nodes and their owners' identities. Pure: the
 * same events give the same state, whoever folds them and whenever.
 */
export class TenantHistory {
  policy: HistoricalPolicy = { version: 0, document: EMPTY_POLICY, compiled: DENY_ALL, event: null };
  /** Open windows, each with the event that opened it; closed ones with the event that closed them last. */
  readonly open = new Map<string, HistoryEventRef>();
  readonly closed = new Map<string, HistoryEventRef>();
  readonly nodes = new Map<string, HistoricalNode>();
  private readonly emails = new Map<string, string>();
  private readonly groups = new Map<string, { groups: string[]; event: HistoryEventRef }>();
  private readonly roles = new Map<string, { role: Role; event: HistoryEventRef }>();
  /** The last event applied. */
  last: HistoryEventRef | null = null;

  constructor(readonly tenantId: string) {}

  apply(event: RecordedEvent): void {
    const ref = refOf(event);
    this.last = ref;
    switch (event.type) {
      case 'PolicyUpdated': {
        const d = event.data as PolicyUpdated['data'];
        this.policy = { version: d.version, document: d.policy, compiled: compileStoredPolicy(d.policy), event: ref };
        return;
      }
      case 'ScheduleWindowOpened':
      case 'ScheduleWindowClosed': {
        const d = event.data as ScheduleEvent['data'];
        if (event.type === 'ScheduleWindowOpened') {
          this.open.set(d.schedule, ref);
        } else {
          this.open.delete(d.schedule);
          this.closed.set(d.schedule, ref);
        }
        return;
      }
      case 'NodeRegistered': {
        const d = event.data as NodeRegistered['data'];
        this.nodes.set(d.nodeId, {
          id: d.nodeId, name: d.name, address: d.address, tags: canonicalTags(d.tags), owner: d.owner ?? null,
          ...(d.advertisedRoutes ? { advertisedRoutes: d.advertisedRoutes } : {}), ...(d.exitNode ? { exitNode: d.exitNode } : {}),
          removed: false, keyExpired: false, keyExpiryDisabled: false, registeredBy: ref, tagsSetBy: ref,
        });
        return;
      }
      case 'UserRegistered':
      case 'UserProvisioned':
        this.emails.set((event.data as UserRegistered['data']).userId, (event.data as UserRegistered['data']).email);
        return;
      case 'UserGroupsChanged': {
        const d = event.data as UserGroupsChanged['data'];
        this.groups.set(d.userId, { groups: [...d.groups], event: ref });
        return;
      }
      case 'MemberAdded':
      case 'InvitationAccepted':
      case 'MemberRoleChanged': {
        const d = event.data as MemberAdded['data'] | InvitationAccepted['data'] | MemberRoleChanged['data'];
        if (d.tenantId === this.tenantId) this.roles.set(d.userId, { role: d.role, event: ref });
        return;
      }
      case 'MemberRemoved': {
        const d = event.data as MemberRemoved['data'];
        if (d.tenantId === this.tenantId) this.roles.delete(d.userId);
        return;
      }
      default:
        this.applyNodeEvent(event, ref);
    }
  }

  private applyNodeEvent(event: RecordedEvent, ref: HistoryEventRef): void {
    const node = this.nodes.get((event.data as { nodeId?: string }).nodeId ?? '');
    if (!node) return;
    switch (event.type) {
      case 'NodeRemoved':
        node.removed = true;
        node.leftBy = ref;
        return;
      case 'NodeTagsChanged':
        node.tags = (event.data as NodeTagsChanged['data']).tags;
        node.tagsSetBy = ref;
        return;
      case 'NodeRenamed':
        // Node-name selectors follow the new name; the node is found under its name at the instant asked about.
        node.name = (event.data as NodeRenamed['data']).name;
        return;
      case 'NodeRoutesApproved':
        node.approvedRoutes = (event.data as NodeRoutesApproved['data']).routes;
        node.routesApprovedBy = ref;
        return;
      // As the node-config view: an expired key takes the node out of the mesh until a rotation or an exemption.
      case 'NodeKeyExpired':
        if (!node.keyExpired) {
          node.keyExpired = true;
          node.leftBy = ref;
        }
        return;
      case 'NodeKeyRotated':
        node.keyExpired = false;
        if (!node.removed) delete node.leftBy;
        return;
      case 'NodeKeyExpirySet':
        node.keyExpiryDisabled = (event.data as NodeKeyExpirySet['data']).disabled;
        if (node.keyExpiryDisabled && node.keyExpired) {
          node.keyExpired = false;
          if (!node.removed) delete node.leftBy;
        }
        return;
      default:
        return;
    }
  }

  /** In the mesh: registered, not removed, key not expired. */
  inMesh(node: HistoricalNode): boolean {
    return !node.removed && !node.keyExpired;
  }

  /** The live node of that name, else the latest one that had it; or the node with that id. */
  find(ref: string): HistoricalNode | undefined {
    const byId = this.nodes.get(ref);
    if (byId) return byId;
    let found: HistoricalNode | undefined;
    for (const node of this.nodes.values()) {
      if (node.name !== ref) continue;
      if (!node.removed) return node;
      if (!found || node.registeredBy.position > found.registeredBy.position) found = node;
    }
    return found;
  }

  /** The node whose overlay address this is (live first). */
  findByAddress(address: string): HistoricalNode | undefined {
    let found: HistoricalNode | undefined;
    for (const node of this.nodes.values()) {
      if (node.address !== address) continue;
      if (!node.removed) return node;
      found = node;
    }
    return found;
  }

  /** The node as the policy sees it: its owner's email, role and IdP groups while the owner is a member. */
  identity(node: HistoricalNode): Identity {
    const role = node.owner !== null ? this.roles.get(node.owner)?.role : undefined;
    const email = node.owner !== null ? this.emails.get(node.owner) : undefined;
    const owned = role !== undefined && email !== undefined;
    const groups = owned ? this.groups.get(node.owner!)?.groups : undefined;
    return {
      id: node.id, name: node.name, tags: node.tags, addresses: [node.address],
      ...(owned ? { user: email, role } : {}), ...(groups?.length ? { groups } : {}),
      ...(node.advertisedRoutes ? { advertisedRoutes: node.advertisedRoutes } : {}),
      ...(node.approvedRoutes ? { approvedRoutes: node.approvedRoutes } : {}),
      ...(node.exitNode ? { exitNode: node.exitNode } : {}),
    };
  }

  /**
   * The events that put the node where the policy finds it: its registration, the retag that gave it its tags and,
   * for an untagged node, its owner's membership (role) and IdP groups.
   */
  identityEvents(node: HistoricalNode): HistoryEventRef[] {
    const out = [node.registeredBy];
    if (node.tagsSetBy !== node.registeredBy) out.push(node.tagsSetBy);
    if (node.tags.length === 0 && node.owner !== null) {
      const role = this.roles.get(node.owner);
      if (role) out.push(role.event);
      const groups = this.groups.get(node.owner);
      if (groups) out.push(groups.event);
    }
    return out.sort((a, b) => a.position - b.position);
  }
}

/** The users a tenant's events name (its members, its nodes' owners): whose user events its history also folds. */
export function usersNamedBy(events: Iterable<Pick<RecordedEvent, 'type' | 'data'>>): string[] {
  const ids = new Set<string>();
  for (const e of events) {
    if (e.type === 'NodeRegistered') {
      const owner = (e.data as NodeRegistered['data']).owner;
      if (owner) ids.add(owner);
    } else if (e.type === 'MemberAdded' || e.type === 'InvitationAccepted' || e.type === 'MemberRoleChanged') {
      ids.add((e.data as { userId: string }).userId);
    }
  }
  return [...ids].sort();
}
