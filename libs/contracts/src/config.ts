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
}

/** Grown by the policy engine (issue 6); empty lists until then so agents already handle the fields. */
export interface RouteConfig { destination: string; via: string }
export interface FirewallRule { action: 'accept'; src: string[]; proto?: string; ports?: string }
export interface QosRule { src: string[]; rateMbit: number }

export interface NodeConfig {
  version: number;
  interface: InterfaceConfig;
  peers: PeerConfig[];
  routes: RouteConfig[];
  firewall: FirewallRule[];
  qos: QosRule[];
}

/** A change from `baseVersion` to `version`; a client not at `baseVersion` must fetch the full config. */
export interface ConfigPatch {
  version: number;
  baseVersion: number;
  interface?: InterfaceConfig;
  peersUpserted: PeerConfig[];
  peersRemoved: string[];
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
  return { ...config, version: patch.version, interface: patch.interface ?? config.interface, peers };
}
