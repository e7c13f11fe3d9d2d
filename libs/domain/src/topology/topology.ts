import { CompiledPolicy } from '../policy/compiled-policy';
import { OVERLAY_PREFIX } from '../node/ipam';

/** The slice of a node that peers need; the wire shapes (contracts) are built from these by the caller. */
export interface TopologyNode {
  id: string;
  name: string;
  tags: readonly string[];
  publicKey: string;
  address: string;
  endpoint: string | null;
  listenPort: number;
}

export interface Peer {
  publicKey: string;
  endpoint: string | null;
  allowedIps: string[];
  persistentKeepalive: number;
}

/** What changed in one node's config: peers added or updated, peers removed (by public key). */
export interface NodeChange {
  upserted: Map<string, Peer>;
  removed: Set<string>;
}
export type ChangeSet = Map<string, NodeChange>;

/** Keeps NAT mappings open: agents behind NAT must be reachable by peers that dial them. */
export const PERSISTENT_KEEPALIVE_SECONDS = 25;

/**
 * The mesh of one tenant, kept in memory: nodes grouped by identity class, and which classes peer with which.
 * Every mutation returns the change set of the nodes whose config it changed — computed from what the change
 * touched (one node's peer classes, or the class pairs a policy edit flipped), never by diffing full configs.
 */
export class Topology {
  private readonly nodes = new Map<string, TopologyNode & { cls: string }>();
  private readonly members = new Map<string, Set<string>>();
  private readonly peerClasses = new Map<string, Set<string>>();

  constructor(private policy: CompiledPolicy) {}

  get size(): number {
    return this.nodes.size;
  }

  has(nodeId: string): boolean {
    return this.nodes.has(nodeId);
  }

  addNode(node: TopologyNode): ChangeSet {
    if (this.nodes.has(node.id)) throw new Error(`node ${node.id} is already in the topology`);
    const cls = this.policy.classOf(node);
    this.joinClass(node.id, cls);
    this.nodes.set(node.id, { ...node, tags: [...node.tags], cls });
    return this.tellPeersOf(node.id, (change) => change.upserted.set(node.publicKey, peerOf(node)));
  }

  /** Loads a node known from storage at start-up: no change set, so a restart costs O(N), not O(N²). */
  restoreNode(node: TopologyNode): void {
    if (this.nodes.has(node.id)) throw new Error(`node ${node.id} is already in the topology`);
    const cls = this.policy.classOf(node);
    this.joinClass(node.id, cls);
    this.nodes.set(node.id, { ...node, tags: [...node.tags], cls });
  }

  removeNode(nodeId: string): ChangeSet {
    const node = this.nodes.get(nodeId);
    if (!node) return new Map();
    const changes = this.tellPeersOf(nodeId, (change) => change.removed.add(node.publicKey));
    this.nodes.delete(nodeId);
    this.leaveClass(nodeId, node.cls);
    return changes;
  }

  /** A node reported a new endpoint: every peer must dial the new one. */
  updateEndpoint(nodeId: string, endpoint: string | null): ChangeSet {
    const node = this.nodes.get(nodeId);
    if (!node || node.endpoint === endpoint) return new Map();
    node.endpoint = endpoint;
    return this.tellPeersOf(nodeId, (change) => change.upserted.set(node.publicKey, peerOf(node)));
  }

  /**
   * Switches to a new policy. Nodes are grouped by (old class, new class); only pairs of such groups whose peering
   * flipped produce changes, so the cost is the number of class pairs plus the size of the answer.
   */
  setPolicy(policy: CompiledPolicy): ChangeSet {
    const groups = new Map<string, { oldCls: string; newCls: string; ids: string[] }>();
    for (const node of this.nodes.values()) {
      const newCls = policy.classOf(node);
      const key = `${node.cls}\u0000${newCls}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { oldCls: node.cls, newCls, ids: [] }));
      group.ids.push(node.id);
    }
    const changes: ChangeSet = new Map();
    const list = [...groups.values()];
    const newPeers = new Map<string, boolean>();
    for (const a of list) {
      for (const b of list) {
        const before = this.peerClasses.get(a.oldCls)?.has(b.oldCls) ?? false;
        const pairKey = `${a.newCls}\u0000${b.newCls}`;
        let after = newPeers.get(pairKey);
        if (after === undefined) newPeers.set(pairKey, (after = policy.arePeers(a.newCls, b.newCls)));
        if (before === after) continue;
        for (const id of a.ids) {
          for (const otherId of b.ids) {
            if (id === otherId) continue;
            const other = this.nodes.get(otherId)!;
            const change = changeFor(changes, id);
            if (after) change.upserted.set(other.publicKey, peerOf(other));
            else change.removed.add(other.publicKey);
          }
        }
      }
    }
    this.policy = policy;
    this.members.clear();
    this.peerClasses.clear();
    for (const group of list) {
      for (const id of group.ids) {
        this.nodes.get(id)!.cls = group.newCls;
        this.joinClass(id, group.newCls);
      }
    }
    return changes;
  }

  /** The node's peers, sorted by public key so equal configs serialise equally. */
  peersOf(nodeId: string): Peer[] {
    const node = this.nodes.get(nodeId);
    if (!node) return [];
    const peers: Peer[] = [];
    for (const cls of this.peerClasses.get(node.cls) ?? []) {
      for (const id of this.members.get(cls) ?? []) {
        if (id !== nodeId) peers.push(peerOf(this.nodes.get(id)!));
      }
    }
    return peers.sort((a, b) => (a.publicKey < b.publicKey ? -1 : a.publicKey > b.publicKey ? 1 : 0));
  }

  interfaceOf(nodeId: string): { address: string; listenPort: number } | null {
    const node = this.nodes.get(nodeId);
    return node ? { address: `${node.address}/${OVERLAY_PREFIX}`, listenPort: node.listenPort } : null;
  }

  private tellPeersOf(nodeId: string, edit: (change: NodeChange) => void): ChangeSet {
    const node = this.nodes.get(nodeId)!;
    const changes: ChangeSet = new Map();
    for (const cls of this.peerClasses.get(node.cls) ?? []) {
      for (const id of this.members.get(cls) ?? []) {
        if (id !== nodeId) edit(changeFor(changes, id));
      }
    }
    return changes;
  }

  private joinClass(nodeId: string, cls: string): void {
    let members = this.members.get(cls);
    if (!members) {
      this.members.set(cls, (members = new Set()));
      // A class seen for the first time: decide its peering with every existing class once.
      const peers = new Set<string>();
      for (const other of this.members.keys()) {
        if (this.policy.arePeers(cls, other)) {
          peers.add(other);
          this.peerClasses.get(other)?.add(cls);
        }
      }
      this.peerClasses.set(cls, peers);
    }
    members.add(nodeId);
  }

  private leaveClass(nodeId: string, cls: string): void {
    const members = this.members.get(cls);
    if (!members) return;
    members.delete(nodeId);
    if (members.size > 0) return;
    this.members.delete(cls);
    for (const other of this.peerClasses.get(cls) ?? []) this.peerClasses.get(other)?.delete(cls);
    this.peerClasses.delete(cls);
  }
}

function peerOf(node: TopologyNode): Peer {
  return {
    publicKey: node.publicKey,
    endpoint: node.endpoint,
    allowedIps: [`${node.address}/32`],
    persistentKeepalive: PERSISTENT_KEEPALIVE_SECONDS,
  };
}

function changeFor(changes: ChangeSet, nodeId: string): NodeChange {
  let change = changes.get(nodeId);
  if (!change) changes.set(nodeId, (change = { upserted: new Map(), removed: new Set() }));
  return change;
}
