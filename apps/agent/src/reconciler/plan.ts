import type { NodeConfig, PeerConfig } from '../contracts';
import type { LiveInterface, LivePeer, PlanStep } from '../wireguard/wireguard-port';

/** IPv4 CIDRs with their host bits cleared (as WireGuard reports them); other strings lowercased. */
export function canonicalCidr(cidr: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(cidr.trim());
  if (!m) return cidr.trim().toLowerCase();
  const prefix = m[5] === undefined ? 32 : Number(m[5]);
  const value = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const masked = prefix === 0 ? 0 : (value & (~0 << (32 - prefix))) >>> 0;
  return `${masked >>> 24}.${(masked >>> 16) & 255}.${(masked >>> 8) & 255}.${masked & 255}/${prefix}`;
}

const sameSet = (a: string[], b: string[]): boolean => {
  const x = [...new Set(a.map(canonicalCidr))].sort();
  const y = [...new Set(b.map(canonicalCidr))].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/**
 * Whether to (re)write a peer's endpoint. WireGuard follows a peer that roams, so a live endpoint that differs from
 * the config is normal; it is overwritten only when the peer has none or the control plane changed it since the
 * config last applied.
 */
function endpointNeedsSet(desired: PeerConfig, live: LivePeer, previous: PeerConfig | undefined): boolean {
  if (desired.endpoint === null) return false;
  if (live.endpoint === null) return true;
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

  const wanted = new Map(desired.peers.filter((p) => p.publicKey !== ownPublicKey).map((p) => [p.publicKey, p]));
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

  const wantRoutes = new Set(desired.routes.map((r) => canonicalCidr(r.destination)));
  const liveRoutes = new Set(live.routes.map(canonicalCidr));
  for (const route of [...liveRoutes].sort()) if (!wantRoutes.has(route)) steps.push({ kind: 'remove-route', destination: route });
  for (const route of [...wantRoutes].sort()) if (!liveRoutes.has(route)) steps.push({ kind: 'add-route', destination: route });
  return steps;
}
