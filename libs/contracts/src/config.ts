/**
 * What a node is told about its own WireGuard interface and peers. The control plane builds it; the agent applies it.
 * A node's `version` rises only when the content changes.
 */
export interface InterfaceConfig {
  /** Overlay address with the mesh prefix, e.g. "100.64.0.7/10": the prefix routes the whole overlay into the interface. */
  address: string;
  listenPort: number;
}

export interface PeerConfig {
  publicKey: string;
  /** "host:port" the peer can be dialled at, or null when it has not told us (it will dial us). */
  endpoint: string | null;
  allowedIps: string[];
  /** Seconds; 0 disables keepalive. */
  persistentKeepalive: number;
  /**
   * The peer's policy group (its identity class). Firewall and QoS rules name groups rather than addresses, so a
   * node joining an existing group changes its peers' peer lists, never their rules.
   */
  group?: string;
  /** The peer's node name: `<name>.<dns.domain>` resolves to it where the peer's group is in `reachableGroups`. */
  name?: string;
  /**
   * Every "host:port" the peer may be dialled at directly, best first: its reflexive address (its NAT's mapping of
   * its WireGuard port, learnt from a relay's reflector), the address the control plane saw it at with its listen
   * port, then its local addresses. `endpoint` is the first of them (or the endpoint the peer was configured with).
   */
  candidates?: string[];
}

/**
 * A prefix reached through a peer (subnet router, or exit node for 0.0.0.0/0). `via` is that peer's overlay
 * address: the agent adds `destination` to the peer's AllowedIPs and routes it into the interface.
 */
export interface RouteConfig { destination: string; via: string }

/**
 * Inbound filtering on the WireGuard interface: default drop, accept when a rule matches. Replies to the node's own
 * connections pass; everything a peer initiates is checked packet by packet, so a rule that goes away cuts the
 * connections opened under it.
 */
export interface FirewallRule {
  action: 'accept';
  /** Peer groups (PeerConfig.group) whose overlay addresses may send. */
  srcGroups: string[];
  /** Source prefixes outside the overlay (LANs behind subnet routers). */
  src: string[];
  /** "tcp", "udp", "icmp", "ipv6-icmp", "sctp", or an IANA protocol number. */
  proto: string;
  /** "22", "80,443", "8000-8100"; absent means all ports (and always for protocols without ports). */
  ports?: string;
  /** Absent: traffic to this node. Present: traffic this node forwards into these prefixes (within servedRoutes). */
  dst?: string[];
}

/** Egress limit on the interface: traffic from this node to these destinations shares `rateMbit`. */
export interface QosRule { dstGroups: string[]; dst: string[]; rateMbit: number }

/**
 * The node's WireGuard key as the control plane sees it: registered or last rotated at `issuedAt`, expiring at
 * `expiresAt` (null: expiry disabled for this node); the agent rotates before then (POST /api/v1/nodes/:id/key). An expired node has no peers and is in no
 * peer's config until it rotates.
 */
export interface NodeKeyStatus { issuedAt: string; expiresAt: string | null; expired: boolean }

/** A peer reached through a relay: this node dials the peer at the relay's `endpoint` (relay address, this side's port). */
export interface RelayPath { publicKey: string; endpoint: string }

/**
 * One relayed pair on a relay node. A datagram arriving on `ports[i]` from the IP `sources[i]` goes out of
 * `ports[1 - i]` to the address last seen sending to that port; anything from another IP is dropped. The relay
 * forwards sealed WireGuard datagrams and holds no key.
 */
export interface RelayForward { ports: [number, number]; sources: [string, string] }

/** What a relay node serves: its reflector (the reflexive-address question, STUN binding) and its forwards. */
export interface RelayService {
  reflectPort: number;
  forwards: RelayForward[];
  /** Per pair, both directions together. */
  pairRateMbit: number;
  pairPacketsPerSecond: number;
}

/** Names in the mesh: the node answers DNS for `<node-name>.<domain>` on its overlay address. */
export interface DnsConfig { domain: string; name: string }

export interface NodeConfig {
  version: number;
  interface: InterfaceConfig;
  peers: PeerConfig[];
  routes: RouteConfig[];
  /** Prefixes this node forwards for its peers (subnet router / exit node): forwarding on, masquerade out. */
  servedRoutes: string[];
  firewall: FirewallRule[];
  qos: QosRule[];
  /** Always sent by this control plane; absent from older ones. */
  key?: NodeKeyStatus;
  /** Peer groups this node may open anything at (its DNS answers their members' names; NXDOMAIN for the rest). */
  reachableGroups?: string[];
  dns?: DnsConfig;
  /** "host:port" of the tenant's relay reflectors (STUN), for learning this node's reflexive address. */
  reflectors?: string[];
  /** Peers this node reaches through a relay (allocated at its or the peer's request). */
  relayPaths?: RelayPath[];
  /** Present on relay nodes only. */
  relay?: RelayService;
}

/** A change from `baseVersion` to `version`; a client not at `baseVersion` must fetch the full config. */
export interface ConfigPatch {
  version: number;
  baseVersion: number;
  interface?: InterfaceConfig;
  peersUpserted: PeerConfig[];
  peersRemoved: string[];
  /** Present when changed; each replaces the whole list (they are sized by policy groups, not by nodes). */
  routes?: RouteConfig[];
  servedRoutes?: string[];
  firewall?: FirewallRule[];
  qos?: QosRule[];
  key?: NodeKeyStatus;
  reachableGroups?: string[];
  dns?: DnsConfig;
  reflectors?: string[];
  relayPaths?: RelayPath[];
  /** `null`: the node is no longer a relay. */
  relay?: RelayService | null;
}

/** SSE event names on GET /api/v1/nodes/:id/config/stream. `id:` of each event is the config version. */
export const SSE_EVENT_CONFIG = 'config';
export const SSE_EVENT_PATCH = 'patch';
export const SSE_PING_INTERVAL_MS = 15_000;

/** Applies a patch to a full config (used by the agent and by tests). Throws if the patch does not follow `config`. */
export function applyPatch(config: NodeConfig, patch: ConfigPatch): NodeConfig {
  if (patch.baseVersion !== config.version) {
    throw new Error(`patch base ${patch.baseVersion} does not follow version ${config.version}`);
  }
  const removed = new Set(patch.peersRemoved);
  const upserted = new Map(patch.peersUpserted.map((p) => [p.publicKey, p]));
  const peers = config.peers.filter((p) => !removed.has(p.publicKey) && !upserted.has(p.publicKey));
  peers.push(...upserted.values());
  peers.sort((a, b) => (a.publicKey < b.publicKey ? -1 : a.publicKey > b.publicKey ? 1 : 0));
  return {
    ...config,
    version: patch.version,
    interface: patch.interface ?? config.interface,
    peers,
    routes: patch.routes ?? config.routes,
    servedRoutes: patch.servedRoutes ?? config.servedRoutes ?? [],
    firewall: patch.firewall ?? config.firewall,
    qos: patch.qos ?? config.qos,
    ...(patch.key ?? config.key ? { key: patch.key ?? config.key } : {}),
    ...optional('reachableGroups', patch.reachableGroups ?? config.reachableGroups),
    ...optional('dns', patch.dns ?? config.dns),
    ...optional('reflectors', patch.reflectors ?? config.reflectors),
    ...optional('relayPaths', patch.relayPaths ?? config.relayPaths),
    ...optional('relay', patch.relay === null ? undefined : patch.relay ?? config.relay),
  };
}

/** `{ [name]: value }`, or nothing when the value is absent (so configs without a field stay without it). */
function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}
