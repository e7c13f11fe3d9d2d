import { canonicalPrefix, DEFAULT_ROUTES, type NodeConfig, type PeerConfig, type RouteConfig } from '../contracts';
import type { LiveInterface, LivePeer, PlanStep } from '../wireguard/wireguard-port';

/**
 * Prefixes and addresses in the one canonical spelling of the contracts' IP helper (host bits cleared, a bare address
 * as /32 or /128, IPv6 per RFC 5952 as WireGuard and iproute2 print it); other strings trimmed and lowercased.
 */
export function canonicalCidr(cidr: string): string {
  const text = cidr.trim();
  return canonicalPrefix(text) ?? text.toLowerCase();
}

const sameSet = (a: string[], b: string[]): boolean => {
  const x = [...new Set(a.map(canonicalCidr))].sort();
  const y = [...new Set(b.map(canonicalCidr))].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/** A default route into the mesh (exit node): needs policy routing so the tunnel's own packets escape it (exitRoute). */
const isExitRoute = (destination: string): boolean => DEFAULT_ROUTES.includes(canonicalCidr(destination));

/**
 * The routes the agent installs in the main table: those via a peer it has (a route into the interface with no peer
 * to carry it would only blackhole the prefix). Exit routes are not among them: see `exitRoute`.
 */
function effectiveRoutes(config: Pick<NodeConfig, 'peers' | 'routes'>): RouteConfig[] {
  const overlays = peerOverlays(config);
  return (config.routes ?? []).filter((r) => !isExitRoute(r.destination) && overlays.has(canonicalCidr(r.via)));
}

const peerOverlays = (config: Pick<NodeConfig, 'peers'>) =>
  new Set(config.peers.filter((p) => p.allowedIps.length > 0).map((p) => canonicalCidr(p.allowedIps[0])));

/**
 * The IPv4 exit route the node uses: the first 0.0.0.0/0 via a peer it has, or null. Its peer gets 0.0.0.0/0 in
 * its AllowedIPs and the enforcement adapter adds the policy routing (fwmark, table, rules) wg-quick would.
 * Only one: WireGuard gives an allowed IP to one peer.
 */
export function exitRoute(config: Pick<NodeConfig, 'peers' | 'routes'>): RouteConfig | null {
  const overlays = peerOverlays(config);
  return (config.routes ?? []).find((r) => canonicalCidr(r.destination) === '0.0.0.0/0' && overlays.has(canonicalCidr(r.via))) ?? null;
}

/** Exit routes the config asks for that are not used: IPv6 ones (not supported yet) and all but the first IPv4 one. */
export function unusedExitRoutes(config: Pick<NodeConfig, 'peers' | 'routes'>): RouteConfig[] {
  const used = exitRoute(config);
  return (config.routes ?? []).filter((r) => isExitRoute(r.destination) && r !== used);
}

/**
 * The peers as WireGuard must hold them: a route's destination joins the AllowedIPs of the peer whose overlay
 * address (allowedIps[0]) is the route's `via`, so the per-peer diff applies route changes like any other.
 */
function peersWithRoutes(config: Pick<NodeConfig, 'peers' | 'routes'>): PeerConfig[] {
  const extra = new Map<string, string[]>();
  const exit = exitRoute(config);
  for (const route of [...effectiveRoutes(config), ...(exit ? [exit] : [])]) {
    const via = canonicalCidr(route.via);
    extra.set(via, [...(extra.get(via) ?? []), route.destination]);
  }
  if (extra.size === 0) return config.peers;
  return config.peers.map((peer) => {
    const add = peer.allowedIps.length > 0 ? extra.get(canonicalCidr(peer.allowedIps[0])) : undefined;
    if (!add) return peer;
    const have = new Set(peer.allowedIps.map(canonicalCidr));
    return { ...peer, allowedIps: [...peer.allowedIps, ...add.map(canonicalCidr).filter((d) => !have.has(d) && have.add(d))] };
  });
}

/**
 * Whether to (re)write a peer's endpoint. WireGuard follows a peer that roams, so a live endpoint that differs from
 * the config is normal; it is overwritten only when the peer has none or the control plane changed it since the
 * config last applied.
 */
function endpointNeedsSet(desired: PeerConfig, live: LivePeer, previous: PeerConfig | undefined): boolean {
  if (desired.endpoint === null) return false;
  if (live.endpoint === null) return true;
  // A peer with candidates is steered by the path manager (direct or relayed, paths/path-manager.ts): it follows
  // a change of candidates itself, and overwriting its choice here would undo a relay path.
  if (desired.candidates !== undefined) return false;
  return previous !== undefined && previous.endpoint !== desired.endpoint && live.endpoint !== desired.endpoint;
}

/**
 * The steps that turn the live interface into the desired config, touching only what differs: unchanged peers
 * are left alone, so their sessions (and any traffic on them) carry on. Pure: no I/O, deterministic order.
 *
 * @param previous the config applied before this one, to tell a changed endpoint from a roamed one
 */
export function planReconcile(
  desired: NodeConfig,
  live: LiveInterface,
  ownPublicKey: string,
  previous?: NodeConfig,
): PlanStep[] {
  const steps: PlanStep[] = [];
  if (live.publicKey !== ownPublicKey) steps.push({ kind: 'set-private-key' });
  if (live.listenPort !== desired.interface.listenPort) steps.push({ kind: 'set-listen-port', port: desired.interface.listenPort });

  const wantAddress = desired.interface.address;
  const hasAddress = live.addresses.some((a) => a === wantAddress);
  for (const address of live.addresses) if (address !== wantAddress) steps.push({ kind: 'remove-address', address });
  if (!hasAddress) steps.push({ kind: 'add-address', address: wantAddress });
  if (!live.up) steps.push({ kind: 'set-link-up' });

  const wanted = new Map(peersWithRoutes(desired).filter((p) => p.publicKey !== ownPublicKey).map((p) => [p.publicKey, p]));
  const before = new Map((previous?.peers ?? []).map((p) => [p.publicKey, p]));
  const livePeers = [...live.peers].sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1));
  for (const peer of livePeers) if (!wanted.has(peer.publicKey)) steps.push({ kind: 'remove-peer', publicKey: peer.publicKey });

  const liveByKey = new Map(live.peers.map((p) => [p.publicKey, p]));
  for (const peer of [...wanted.values()].sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1))) {
    const current = liveByKey.get(peer.publicKey);
    if (!current) {
      steps.push({ kind: 'upsert-peer', peer, setEndpoint: peer.endpoint !== null });
      continue;
    }
    const setEndpoint = endpointNeedsSet(peer, current, before.get(peer.publicKey));
    if (setEndpoint || !sameSet(peer.allowedIps, current.allowedIps) || peer.persistentKeepalive !== current.persistentKeepalive) {
      steps.push({ kind: 'upsert-peer', peer, setEndpoint });
    }
  }

  const wantRoutes = new Set(effectiveRoutes(desired).map((r) => canonicalCidr(r.destination)));
  const liveRoutes = new Set(live.routes.map(canonicalCidr));
  for (const route of [...liveRoutes].sort()) if (!wantRoutes.has(route)) steps.push({ kind: 'remove-route', destination: route });
  for (const route of [...wantRoutes].sort()) if (!liveRoutes.has(route)) steps.push({ kind: 'add-route', destination: route });
  return steps;
}
