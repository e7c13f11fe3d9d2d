import type { HeartbeatDto } from './contracts';
import type { LiveInterface } from './wireguard/wireguard-port';

/**
 * The heartbeat body from the live interface: totals and per-peer counters and last handshake, and where the node
 * may be dialled (`candidates`, when known: the server records them only when they change).
 */
export function heartbeatFrom(live: LiveInterface | null, endpoint: string | null, candidates?: string[]): HeartbeatDto {
  const body: HeartbeatDto = {};
  if (endpoint !== null) body.endpoint = endpoint;
  if (candidates !== undefined) body.candidates = candidates;
  if (live === null) return body;
  body.rxBytes = live.peers.reduce((sum, p) => sum + p.rxBytes, 0);
  body.txBytes = live.peers.reduce((sum, p) => sum + p.txBytes, 0);
  body.peers = live.peers.map((p) => ({
    publicKey: p.publicKey,
    rxBytes: p.rxBytes,
    txBytes: p.txBytes,
    ...(p.latestHandshake > 0 ? { lastHandshakeAt: new Date(p.latestHandshake * 1000).toISOString() } : {}),
  }));
  return body;
}
