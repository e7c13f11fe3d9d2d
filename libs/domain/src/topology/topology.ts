import { OVERLAY_PREFIX } from '../node/ipam';
import { CompiledPolicy, Identity, isExitRoute, matchesClass, NO_SCHEDULES_OPEN, OpenSchedules, splitClass } from '../policy/evaluate';
import { excludePrefixes, formatPrefix, parsePrefix, prefixContains } from '@meshgate/contracts/ip';
import { formatPorts, formatReach, hasPorts, protoName, Reach } from '../policy/ports';
import type { Role } from '../tenant/tenant';
import { PeerRemovals, PeerUpserts } from './shared-lists';

/** The slice of a node the mesh needs; the wire shapes (contracts) mirror the types below. */
export interface TopologyNode {
  id: string;
  name: string;
  tags: readonly string[];
  publicKey: string;
  address: string;
  endpoint: string | null;
  listenPort: number;
  /** Where the node may be dialled directly, best first (see PeerConfig.candidates); absent or empty: unknown. */
  candidates?: readonly string[];
  /**
   * The owner's email and tenant role while the owner is a member (see Identity): part of the node's identity, so
   * nodes of different owners are different classes only when the policy names owners at all.
   */
  user?: string;
  role?: Role;
  /** The owner's IdP groups (see Identity.groups): only those the policy names as `idp:` members matter. */
  groups?: readonly string[];
  /** Prefixes the node offers to route, and those an admin approved (autoApprovers approve in the policy). */
  advertisedRoutes?: readonly string[];
  approvedRoutes?: readonly string[];
  /** Name of the exit node this node sends its internet traffic through. */
  exitNode?: string;
}

export interface Peer {
  publicKey: string;
  endpoint: string | null;
  allowedIps: string[];
  persistentKeepalive: number;
  /** The peer's identity class, as a short id: what firewall and QoS rules name. */
  group: string;
  /** The peer's node name (what mesh DNS answers). */
  name: string;
  candidates?: string[];
}
export interface FirewallRule { action: 'accept'; srcGroups: string[]; src: string[]; proto: string; ports?: string; dst?: string[] }
export interface QosRule { dstGroups: string[]; dst: string[]; rateMbit: number }
export interface Route { destination: string; via: string }

/** What a node enforces besides its peer list. Sized by the policy and its classes, never by the node count. */
export interface PolicyParts {
  routes: Route[];
  servedRoutes: string[];
  firewall: FirewallRule[];
  qos: QosRule[];
  /** Groups of the classes this node may open anything at: what its DNS answers names of. */
  reachableGroups: string[];
}
/** The config fields a node takes from its class (shared with its class mates); the others are its own. */
export const PART_NAMES = ['routes', 'servedRoutes', 'firewall', 'qos', 'reachableGroups'] as const;

/** What changed in one node's config: peers added or updated, peers removed (by key), and the parts that changed. */
export interface NodeChange {
  upserted: PeerUpserts;
  removed: PeerRemovals;
  parts: Partial<PolicyParts>;
}
export type ChangeSet = Map<string, NodeChange>;

/**
 * One peering of a node, seen from that node: what it may open at the peer and the peer at it ("tcp:22 udp:53",
 * "nothing"), and the prefixes each reaches through the other (subnet router, exit node).
 */
export interface TopologyLink {
  peerId: string;
  reachOut: string;
  reachIn: string;
  routesVia: string[];
  routesFor: string[];
}

export interface NodeMeshConfig extends PolicyParts {
  interface: { address: string; listenPort: number };
  peers: Peer[];
}

/** Keeps NAT mappings open: agents behind NAT must be reachable by peers that dial them. */
export const PERSISTENT_KEEPALIVE_SECONDS = 25;

/**
 * A mesh class: nodes the policy cannot tell apart (same policy class), serving the same routes and using the
 * same exit node. Peering, firewall, QoS and routes are decided per class; members differ only in key and address.
 */
interface MeshClass {
  key: string;
  policyCls: string;
  /** Canonical prefixes the members serve. A router's class also carries its name, so it is the only member. */
  served: string[];
  routerName?: string;
  exitVia?: string;
  group: string;
  members: Set<string>;
  peers: Set<MeshClass>;
  /** Parts as last computed (lazily): compared on every change that may affect them, so patches carry real changes. */
  parts?: { value: PolicyParts; json: Record<(typeof PART_NAMES)[number], string> };
}

type ClassKey = Pick<MeshClass, 'key' | 'policyCls' | 'served' | 'routerName' | 'exitVia'>;

function meshClass(k: ClassKey): MeshClass {
  return { ...k, group: groupId(k.key), members: new Set(), peers: new Set() };
}

/** A node in the mesh; it is its own policy Identity, so a policy change classifies it without a copy. */
interface MeshNode extends TopologyNode, Identity {
  cls: MeshClass;
}

const meshNode = (input: TopologyNode, cls: MeshClass): MeshNode => ({ ...copy(input), addresses: [input.address], cls });

/** Nodes moving from one class to another in a policy edit (the same class object never appears twice). */
type ClassMove = { old: MeshClass; next: MeshClass; ids: string[] };

/**
 * The mesh of one tenant, kept in memory. Every mutation returns the change set of the nodes whose config it
 * changed, computed from what the change touched, never by diffing full configs:
 * - a join into an existing class: the newcomer is upserted at the members of its peer classes; rules name
 *   classes, so nobody's rules change;
 * - a join that creates a class (or a leave that empties one): additionally the parts of the classes that see it
 *   are recomputed and sent when they differ;
 * - a router coming or going: routes are recomputed for every class (routers are few);
 * - a policy edit or a schedule window: nodes are regrouped by (old class, new class) and work is per pair of
 *   such groups plus the size of the answer.
 */
export class Topology {
  private readonly nodes = new Map<string, MeshNode>();
  private readonly classes = new Map<string, MeshClass>();
  /** Classes that serve routes, sorted by router name; dropped whenever one comes or goes. */
  private routers: MeshClass[] | undefined;

  constructor(private policy: CompiledPolicy, private open: OpenSchedules = NO_SCHEDULES_OPEN) {}

  get size(): number {
    return this.nodes.size;
  }

  get classCount(): number {
    return this.classes.size;
  }

  has(nodeId: string): boolean {
    return this.nodes.has(nodeId);
  }

  addNode(input: TopologyNode): ChangeSet {
    if (this.nodes.has(input.id)) throw new Error(`node ${input.id} is already in the topology`);
    const changes: ChangeSet = new Map();
    const node = this.insert(input, changes);
    this.tellPeersOf(node, changes, (change) => change.upserted.set(node.publicKey, peerOf(node)));
    changes.delete(node.id); // the newcomer gets its full config on connect
    return changes;
  }

  /** Loads a node known from storage at start-up: no change set, so a restart costs O(N), not O(N²). */
  restoreNode(input: TopologyNode): void {
    if (this.nodes.has(input.id)) throw new Error(`node ${input.id} is already in the topology`);
    const probe = this.classFor(input);
    const node = meshNode(input, this.classes.get(probe.key) ?? probe);
    this.nodes.set(node.id, node);
    if (node.cls === probe) {
      this.linkPeers(probe);
      this.register(probe);
      for (const cls of this.classes.values()) cls.parts = undefined; // a new class can change anyone's rules
    }
    node.cls.members.add(node.id);
  }

  removeNode(nodeId: string): ChangeSet {
    const node = this.nodes.get(nodeId);
    if (!node) return new Map();
    const changes: ChangeSet = new Map();
    this.tellPeersOf(node, changes, (change) => change.removed.add(node.publicKey));
    changes.delete(nodeId);
    this.extract(node, changes);
    return changes;
  }

  /**
   * A node reported a new endpoint, or its direct candidates changed (its NAT mapping, its local addresses; absent:
   * unchanged): every peer must dial the new one. One change set for both, so one heartbeat is one version step.
   */
  updateEndpoint(nodeId: string, endpoint: string | null, candidates?: readonly string[]): ChangeSet {
    const node = this.nodes.get(nodeId);
    const sameCandidates = candidates === undefined || sameList(node?.candidates ?? [], candidates);
    if (!node || (node.endpoint === endpoint && sameCandidates)) return new Map();
    node.endpoint = endpoint;
    if (!sameCandidates) node.candidates = [...candidates!];
    return this.redial(node);
  }

  /**
   * The node was renamed. A policy may name nodes (node-name selectors, routers, exit nodes), so its class may change:
   * then as updateNode; otherwise only its peers get its entry under the new name.
   */
  renameNode(nodeId: string, name: string): ChangeSet {
    const node = this.nodes.get(nodeId);
    if (!node || node.name === name) return new Map();
    if (this.classKeyOf({ ...node, name }).key !== node.cls.key) return this.reclassify(node, { name });
    node.name = name;
    return this.redial(node);
  }

  private redial(node: MeshNode): ChangeSet {
    const nodeId = node.id;
    const changes: ChangeSet = new Map();
    this.tellPeersOf(node, changes, (change) => change.upserted.set(node.publicKey, peerOf(node)));
    changes.delete(nodeId);
    return changes;
  }

  /** The node rotated its WireGuard key: every peer drops the old key and gets the node under the new one. */
  rotateKey(nodeId: string, publicKey: string): ChangeSet {
    const node = this.nodes.get(nodeId);
    if (!node || node.publicKey === publicKey) return new Map();
    const previous = node.publicKey;
    node.publicKey = publicKey;
    const changes: ChangeSet = new Map();
    this.tellPeersOf(node, changes, (change) => {
      change.removed.add(previous);
      change.upserted.set(publicKey, peerOf(node));
    });
    changes.delete(nodeId);
    return changes;
  }

  /**
   * A node's identity changed: its routing (advertised or approved routes, exit node choice), its tags (a retag),
   * its owner's email, role or IdP groups (a role change, a member leaving, a sign-on with other groups). Rare, so
   * done as a leave and a rejoin when the class changes; the node's own change is the difference between its configs
   * before and after.
   */
  updateNode(nodeId: string, edit: Partial<Pick<TopologyNode, 'advertisedRoutes' | 'approvedRoutes' | 'exitNode' | 'tags' | 'user' | 'role' | 'groups'>>): ChangeSet {
    const node = this.nodes.get(nodeId);
    if (!node) return new Map();
    const next: TopologyNode = { ...copy(node), ...edit };
    if (this.classFor(next).key === node.cls.key) {
      Object.assign(node, copy(next), { cls: node.cls });
      return new Map();
    }
    return this.reclassify(node, edit);
  }

  /** The node moves to another class: a leave and a rejoin, its own change the difference between its configs. */
  private reclassify(node: MeshNode, edit: Partial<TopologyNode>): ChangeSet {
    const nodeId = node.id;
    const next: TopologyNode = { ...copy(node), ...edit };
    const before = this.configOf(nodeId)!;
    const oldPeer = peerOf(node);
    const changes = this.removeNode(nodeId);
    const joined = this.addNode(next);
    const newPeer = peerOf(this.nodes.get(nodeId)!);
    for (const [id, change] of joined) {
      const earlier = changes.get(id);
      if (earlier?.removed.has(oldPeer.publicKey) && change.upserted.has(newPeer.publicKey) && samePeer(oldPeer, newPeer)) {
        earlier.removed.delete(oldPeer.publicKey);
        change.upserted.delete(newPeer.publicKey);
      }
      mergeChange(changeFor(changes, id), change);
    }
    const after = this.configOf(nodeId)!;
    const own = diffConfigs(before, after);
    if (own) changes.set(nodeId, own);
    for (const [id, change] of changes) if (isEmpty(change)) changes.delete(id);
    return changes;
  }

  /** Switches to a new policy. */
  setPolicy(policy: CompiledPolicy): ChangeSet {
    return this.reconfigure(policy, this.open);
  }

  /** A schedule window opened or closed: the same policy under another set of open schedules. */
  setOpenSchedules(open: OpenSchedules): ChangeSet {
    return this.reconfigure(this.policy, new Set(open));
  }

  /** The node's peers, sorted by public key so equal configs serialise equally. */
  peersOf(nodeId: string): Peer[] {
    const node = this.nodes.get(nodeId);
    if (!node) return [];
    const peers: Peer[] = [];
    for (const cls of node.cls.peers) {
      for (const id of cls.members) if (id !== nodeId) peers.push(peerOf(this.nodes.get(id)!));
    }
    return peers.sort(byKey);
  }

  /** Whether the two nodes are each other's peers: O(1), for checking what a node reports without listing its peers. */
  arePeers(nodeId: string, otherId: string): boolean {
    const node = this.nodes.get(nodeId);
    const other = this.nodes.get(otherId);
    return !!node && !!other && node !== other && node.cls.peers.has(other.cls);
  }

  /**
   * The node's peerings, sorted by peer id: O(its peers), the reach decided once per pair of classes and the routes
   * read from both classes' cached parts.
   */
  linksOf(nodeId: string): TopologyLink[] {
    const node = this.nodes.get(nodeId);
    if (!node) return [];
    const links: TopologyLink[] = [];
    const mine = this.parts(node.cls).value.routes;
    for (const cls of node.cls.peers) {
      const reachOut = formatReach(this.policy.reach(node.cls.policyCls, cls.policyCls, this.open));
      const reachIn = formatReach(this.policy.reach(cls.policyCls, node.cls.policyCls, this.open));
      const theirs = this.parts(cls).value.routes;
      for (const id of cls.members) {
        if (id === nodeId) continue;
        const peer = this.nodes.get(id)!;
        links.push({
          peerId: id, reachOut, reachIn,
          routesVia: mine.filter((r) => r.via === peer.address).map((r) => r.destination),
          routesFor: theirs.filter((r) => r.via === node.address).map((r) => r.destination),
        });
      }
    }
    return links.sort((a, b) => (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0));
  }

  interfaceOf(nodeId: string): { address: string; listenPort: number } | null {
    const node = this.nodes.get(nodeId);
    return node ? { address: `${node.address}/${OVERLAY_PREFIX}`, listenPort: node.listenPort } : null;
  }

  partsOf(nodeId: string): PolicyParts | null {
    const node = this.nodes.get(nodeId);
    return node ? this.parts(node.cls).value : null;
  }

  configOf(nodeId: string): NodeMeshConfig | null {
    const iface = this.interfaceOf(nodeId);
    if (!iface) return null;
    return { interface: iface, peers: this.peersOf(nodeId), ...this.partsOf(nodeId)! };
  }

  /** The node as the topology holds it (for previews and policy tests). */
  identityOf(nodeId: string): Identity | null {
    const node = this.nodes.get(nodeId);
    return node ? identity(node) : null;
  }

  /** Every node as its policy Identity: the nodes themselves, not copies (a policy PUT asks for all 10,000 before it commits). */
  identities(): readonly Readonly<Identity>[] {
    return [...this.nodes.values()];
  }

  /** The nodes as given (copies), e.g. to build a scratch topology for a preview. */
  topologyNodes(): TopologyNode[] {
    return [...this.nodes.values()].map(copy);
  }

  // ---- membership ----

  private insert(input: TopologyNode, changes: ChangeSet): MeshNode {
    const probe = this.classFor(input);
    const existing = this.classes.get(probe.key);
    const node = meshNode(input, existing ?? probe);
    if (existing) {
      this.nodes.set(node.id, node);
      existing.members.add(node.id);
      return node;
    }
    // A new class: the classes that see it may get new rules or routes. Their current parts are pinned first so
    // the comparison afterwards is against what their members hold (parts read the registered classes, not peers).
    this.linkPeers(probe);
    const pinned = probe.served.length > 0 ? [...this.classes.values()] : this.affectedBy(probe);
    for (const cls of pinned) this.parts(cls);
    this.nodes.set(node.id, node);
    this.register(probe);
    probe.members.add(node.id);
    this.refresh(pinned, changes);
    return node;
  }

  private extract(node: MeshNode, changes: ChangeSet): void {
    const cls = node.cls;
    this.nodes.delete(node.id);
    cls.members.delete(node.id);
    if (cls.members.size > 0) return;
    const affected = (cls.served.length > 0 ? [...this.classes.values()] : this.affectedBy(cls)).filter((c) => c !== cls);
    for (const c of affected) this.parts(c);
    this.classes.delete(cls.key);
    if (cls.served.length > 0) this.routers = undefined;
    for (const other of cls.peers) other.peers.delete(cls);
    this.refresh(affected, changes);
  }

  /** Classes whose parts may change when `cls` appears or disappears: its peers and the QoS sources aiming at it. */
  private affectedBy(cls: MeshClass): MeshClass[] {
    const out = new Set<MeshClass>(cls.peers);
    out.delete(cls);
    const clsSet = splitClass(cls.policyCls);
    for (const q of this.policy.qos) {
      if (!matchesClass(q.dst, clsSet)) continue;
      for (const other of this.classes.values()) if (other !== cls && matchesClass(q.src, splitClass(other.policyCls))) out.add(other);
    }
    return [...out];
  }

  /** Recomputes the parts of `classes` and records, for their members, the parts that differ from before. */
  private refresh(classes: Iterable<MeshClass>, changes: ChangeSet): void {
    for (const cls of classes) {
      const before = cls.parts;
      cls.parts = undefined;
      if (!before || cls.members.size === 0) continue;
      const after = this.parts(cls);
      for (const name of PART_NAMES) {
        if (before.json[name] === after.json[name]) continue;
        for (const id of cls.members) (changeFor(changes, id).parts as Record<string, unknown>)[name] = after.value[name];
      }
    }
  }

  private classFor(node: TopologyNode): MeshClass {
    return meshClass(this.classKeyOf(node));
  }

  /** What decides the node's class, without building one: a policy change asks it of every node. */
  private classKeyOf(node: TopologyNode | MeshNode): ClassKey {
    const id = 'addresses' in node ? node : identity(node);
    const policyCls = this.policy.classOf(id);
    const served = this.policy.servedRoutes(id);
    const routerName = served.length ? node.name : undefined;
    const exitVia = node.exitNode || undefined;
    const key = served.length === 0 && !exitVia ? policyCls
      : [policyCls, served.length ? `\u0001serves:${served.join(',')}\u0001name:${node.name}` : '', exitVia ? `\u0001exit:${exitVia}` : ''].join('');
    return { key, policyCls, served, routerName, exitVia };
  }

  /** A class seen for the first time: decides its peering with every registered class (and itself) once. */
  private linkPeers(cls: MeshClass): void {
    for (const other of [...this.classes.values(), cls]) {
      if (this.peering(cls, other)) {
        cls.peers.add(other);
        other.peers.add(cls);
      }
    }
  }

  private register(cls: MeshClass): void {
    this.classes.set(cls.key, cls);
    if (cls.served.length > 0) this.routers = undefined;
  }

  /** Peers when either may reach the other, or one uses a route the other serves. */
  private peering(a: MeshClass, b: MeshClass): boolean {
    return this.policy.arePeers(a.policyCls, b.policyCls, this.open) || this.usesRoutesOf(a, b) || this.usesRoutesOf(b, a);
  }

  private usesRoutesOf(user: MeshClass, router: MeshClass): boolean {
    if (user === router) return false;
    return router.served.some((r) => (!isExitRoute(r) || user.exitVia === router.routerName) && this.policy.mayUseRoute(user.policyCls, r, this.open));
  }

  private tellPeersOf(node: MeshNode, changes: ChangeSet, edit: (change: NodeChange) => void): void {
    for (const cls of node.cls.peers) {
      for (const id of cls.members) if (id !== node.id) edit(changeFor(changes, id));
    }
  }

  // ---- policy edits and schedule windows ----

  private reconfigure(policy: CompiledPolicy, open: OpenSchedules): ChangeSet {
    for (const cls of this.classes.values()) this.parts(cls); // pin what members hold now
    const reclassify = !policy.classifiesLike(this.policy);
    this.policy = policy;
    this.open = open;
    const { fresh, groups } = reclassify ? this.classifyAgain() : this.keepClasses();
    const nextClasses = [...fresh.values()];
    // Peering is symmetric: decided once per unordered pair.
    nextClasses.forEach((a, i) => {
      for (let j = i; j < nextClasses.length; j++) {
        const b = nextClasses[j];
        if (this.peering(a, b)) (a.peers.add(b), b.peers.add(a));
      }
    });
    const changes: ChangeSet = new Map();
    // Every receiver of a group's members gets the same entry objects (serialised once per change downstream).
    const entries = new Map<ClassMove, Peer[]>();
    const entriesOf = (b: ClassMove) => {
      let made = entries.get(b);
      if (!made) entries.set(b, (made = b.ids.map((id) => ({ ...peerOf(this.nodes.get(id)!), group: b.next.group }))));
      return made;
    };
    for (const a of groups) {
      for (const b of groups) {
        const before = a.old.peers.has(b.old);
        const after = a.next.peers.has(b.next);
        const regrouped = b.old.group !== b.next.group;
        if (before === after && !(after && regrouped)) continue;
        // A change of many pairs (a full mesh opened or closed) is N² entries: each receiver gets the group's shared list.
        const added = after ? entriesOf(b) : null;
        const removedKeys = added ? null : b.ids.map((otherId) => this.nodes.get(otherId)!.publicKey);
        a.ids.forEach((id, i) => {
          if (b.ids.length === 1 && b.ids[0] === id) return;
          const change = changeFor(changes, id);
          // Groups are disjoint: a receiver is in b only when b is its own group, at the same index.
          const own = a === b ? i : -1;
          if (added) change.upserted.addShared(added, own);
          else change.removed.addShared(removedKeys!, own);
        });
      }
    }
    this.classes.clear();
    this.routers = undefined;
    for (const cls of nextClasses) this.register(cls);
    for (const g of groups) for (const id of g.ids) this.nodes.get(id)!.cls = g.next;
    for (const g of groups) {
      const [before, after] = [g.old.parts!, this.parts(g.next)];
      for (const name of PART_NAMES) {
        if (before.json[name] === after.json[name]) continue;
        for (const id of g.ids) (changeFor(changes, id).parts as Record<string, unknown>)[name] = after.value[name];
      }
    }
    return changes;
  }

  /** Each node classified under the new policy: old class → new class → the move between them, found without a key string per node. */
  private classifyAgain(): { fresh: Map<string, MeshClass>; groups: ClassMove[] } {
    const fresh = new Map<string, MeshClass>();
    const groups: ClassMove[] = [];
    const moves = new Map<MeshClass, Map<MeshClass, ClassMove>>();
    for (const node of this.nodes.values()) {
      const probe = this.classKeyOf(node);
      let next = fresh.get(probe.key);
      if (!next) fresh.set(probe.key, (next = meshClass(probe)));
      next.members.add(node.id);
      let from = moves.get(node.cls);
      if (!from) moves.set(node.cls, (from = new Map()));
      let group = from.get(next);
      if (!group) (from.set(next, (group = { old: node.cls, next, ids: [] })), groups.push(group));
      group.ids.push(node.id);
    }
    return { fresh, groups };
  }

  /** Every node keeps its class (the policy classifies alike): each class moves whole; peering and parts are decided again. */
  private keepClasses(): { fresh: Map<string, MeshClass>; groups: ClassMove[] } {
    const fresh = new Map<string, MeshClass>();
    const groups: ClassMove[] = [];
    for (const old of this.classes.values()) {
      const next = meshClass({ key: old.key, policyCls: old.policyCls, served: old.served, routerName: old.routerName, exitVia: old.exitVia });
      next.members = new Set(old.members);
      fresh.set(next.key, next);
      groups.push({ old, next, ids: [...old.members] });
    }
    return { fresh, groups };
  }

  // ---- per-class parts ----

  private parts(cls: MeshClass): NonNullable<MeshClass['parts']> {
    if (!cls.parts) {
      const value: PolicyParts = {
        routes: this.routesOf(cls), servedRoutes: [...cls.served], firewall: this.firewallOf(cls), qos: this.qosOf(cls), reachableGroups: this.reachableFrom(cls),
      };
      cls.parts = {
        value,
        json: {
          routes: JSON.stringify(value.routes), servedRoutes: JSON.stringify(value.servedRoutes), firewall: JSON.stringify(value.firewall),
          qos: JSON.stringify(value.qos), reachableGroups: JSON.stringify(value.reachableGroups),
        },
      };
    }
    return cls.parts;
  }

  /** Inbound rules for members of `to`: one rule per (dst, proto, ports), naming the source classes that get it. */
  private firewallOf(to: MeshClass): FirewallRule[] {
    const rules = new RuleSet();
    for (const from of this.classes.values()) rules.add(this.policy.reach(from.policyCls, to.policyCls, this.open), { group: from.group });
    for (const prefix of this.policy.sourcePrefixes) {
      rules.add(this.policy.reachFromPrefix(prefix, to.policyCls, this.open), { prefix });
    }
    // Forwarded traffic: each destination named inside a served prefix is decided on its own and the wider one
    // applies only to what is left of it, so the rules are disjoint and "accept if any rule matches" is exact.
    for (const route of to.served) {
      const dsts = [...this.policy.destinationsWithin(route), route].map((d) => parsePrefix(d)!);
      for (const dst of dsts) {
        const inner = dsts.filter((o) => o !== dst && prefixContains(dst, o) && o.bits > dst.bits);
        const region = excludePrefixes(dst, inner).map(formatPrefix);
        if (!region.length) continue;
        for (const from of this.classes.values()) {
          if (from === to) continue;
          if (isExitRoute(route) && from.exitVia !== to.routerName) continue;
          rules.add(this.policy.reachPrefix(from.policyCls, formatPrefix(dst), this.open), { group: from.group }, region);
        }
      }
    }
    return rules.toRules();
  }

  /** Groups of the classes (its own included) `from` may open anything at, sorted. */
  private reachableFrom(from: MeshClass): string[] {
    const out: string[] = [];
    for (const to of this.classes.values()) if (this.policy.reach(from.policyCls, to.policyCls, this.open).length > 0) out.push(to.group);
    return out.sort();
  }

  /** Egress limits for members of `from`: per active QoS entry, the destination classes it names. */
  private qosOf(from: MeshClass): QosRule[] {
    const fromSet = splitClass(from.policyCls);
    const out: QosRule[] = [];
    for (const q of this.policy.qos) {
      if (!this.policy.isActive(q.schedule, this.open) || !matchesClass(q.src, fromSet)) continue;
      const dstGroups = new Set<string>();
      for (const to of this.classes.values()) if (matchesClass(q.dst, splitClass(to.policyCls))) dstGroups.add(to.group);
      const dst = [...new Set(q.dst.prefixes.map(formatPrefix))].sort();
      if (dstGroups.size || dst.length) out.push({ dstGroups: [...dstGroups].sort(), dst, rateMbit: q.rateMbit });
    }
    return out;
  }

  /** One router per prefix (the first by name): the primary. */
  private routesOf(user: MeshClass): Route[] {
    this.routers ??= [...this.classes.values()].filter((c) => c.served.length).sort((a, b) => (a.routerName! < b.routerName! ? -1 : 1));
    const taken = new Map<string, string>();
    for (const router of this.routers) {
      if (router === user || router.members.size === 0) continue;
      const via = this.nodes.get(router.members.values().next().value!)!.address;
      for (const route of router.served) {
        if (taken.has(route)) continue;
        if (isExitRoute(route) && user.exitVia !== router.routerName) continue;
        if (this.policy.mayUseRoute(user.policyCls, route, this.open)) taken.set(route, via);
      }
    }
    return [...taken.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([destination, via]) => ({ destination, via }));
  }
}

function identity(node: TopologyNode): Identity {
  return {
    id: node.id, name: node.name, tags: node.tags, user: node.user, role: node.role, groups: node.groups, addresses: [node.address],
    advertisedRoutes: node.advertisedRoutes, approvedRoutes: node.approvedRoutes, exitNode: node.exitNode,
  };
}

function copy(node: TopologyNode): TopologyNode {
  return {
    id: node.id, name: node.name, tags: [...node.tags], publicKey: node.publicKey, address: node.address, endpoint: node.endpoint,
    listenPort: node.listenPort, candidates: node.candidates?.length ? [...node.candidates] : undefined, user: node.user, role: node.role, groups: node.groups ? [...node.groups] : undefined, advertisedRoutes: node.advertisedRoutes ? [...node.advertisedRoutes] : undefined,
    approvedRoutes: node.approvedRoutes ? [...node.approvedRoutes] : undefined, exitNode: node.exitNode,
  };
}

function peerOf(node: MeshNode): Peer {
  const peer: Peer = {
    publicKey: node.publicKey,
    endpoint: node.endpoint ?? node.candidates?.[0] ?? null,
    allowedIps: [`${node.address}/32`],
    persistentKeepalive: PERSISTENT_KEEPALIVE_SECONDS,
    group: node.cls.group,
    name: node.name,
  };
  if (node.candidates?.length) peer.candidates = [...node.candidates];
  return peer;
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

const samePeer = (a: Peer, b: Peer) => JSON.stringify(a) === JSON.stringify(b);
const byKey = (a: Peer, b: Peer) => (a.publicKey < b.publicKey ? -1 : a.publicKey > b.publicKey ? 1 : 0);
const isEmpty = (c: NodeChange) => c.upserted.size === 0 && c.removed.size === 0 && Object.keys(c.parts).length === 0;

function changeFor(changes: ChangeSet, nodeId: string): NodeChange {
  let change = changes.get(nodeId);
  if (!change) changes.set(nodeId, (change = { upserted: new PeerUpserts(), removed: new PeerRemovals(), parts: {} }));
  return change;
}

/** Applies `later` on top of `into`: the later word on a peer or a part wins. */
function mergeChange(into: NodeChange, later: NodeChange): void {
  for (const key of later.removed) {
    into.upserted.delete(key);
    into.removed.add(key);
  }
  for (const [key, peer] of later.upserted) {
    into.removed.delete(key);
    into.upserted.set(key, peer);
  }
  Object.assign(into.parts, later.parts);
}

function diffConfigs(before: NodeMeshConfig, after: NodeMeshConfig): NodeChange | null {
  const change: NodeChange = { upserted: new PeerUpserts(), removed: new PeerRemovals(), parts: {} };
  const old = new Map(before.peers.map((p) => [p.publicKey, p]));
  const now = new Map(after.peers.map((p) => [p.publicKey, p]));
  for (const key of old.keys()) if (!now.has(key)) change.removed.add(key);
  for (const [key, peer] of now) if (!old.has(key) || !samePeer(old.get(key)!, peer)) change.upserted.set(key, peer);
  for (const name of PART_NAMES) {
    if (JSON.stringify(before[name]) !== JSON.stringify(after[name])) (change.parts as Record<string, unknown>)[name] = after[name];
  }
  return isEmpty(change) ? null : change;
}

/** A short, stable id for a class key (cyrb53): what agents name their address sets after. */
export function groupId(key: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < key.length; i++) {
    const ch = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return `g${(4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36)}`;
}

/** Rules keyed by (dst, proto, ports), sources merged — so a class of 1,000 nodes is one group in one rule. */
class RuleSet {
  private readonly rules = new Map<string, { dst?: string[]; proto: number; ports?: string; groups: Set<string>; prefixes: Set<string> }>();

  add(reach: Reach, src: { group?: string; prefix?: string }, dst?: string[]): void {
    for (const { proto, ports } of reach) {
      const portText = hasPorts(proto) ? formatPorts(ports) : undefined;
      const key = `${dst?.join(',') ?? ''}|${proto}|${portText ?? '*'}`;
      let rule = this.rules.get(key);
      if (!rule) this.rules.set(key, (rule = { dst, proto, ports: portText, groups: new Set(), prefixes: new Set() }));
      if (src.group) rule.groups.add(src.group);
      if (src.prefix) rule.prefixes.add(src.prefix);
    }
  }

  toRules(): FirewallRule[] {
    const text = (x?: string | string[]) => (Array.isArray(x) ? x.join(',') : x ?? '');
    const sorted = [...this.rules.values()].sort((a, b) =>
      text(a.dst).localeCompare(text(b.dst)) || a.proto - b.proto || text(a.ports).localeCompare(text(b.ports)));
    return sorted.map((r) => ({
      action: 'accept' as const,
      srcGroups: [...r.groups].sort(),
      src: [...r.prefixes].sort(),
      proto: protoName(r.proto),
      ...(r.ports !== undefined ? { ports: r.ports } : {}),
      ...(r.dst !== undefined ? { dst: r.dst } : {}),
    }));
  }
}
