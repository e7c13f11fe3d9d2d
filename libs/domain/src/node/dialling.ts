/**
 * Where a node may be dialled directly, best first (PeerConfig.candidates): the endpoint it was configured with,
 * then what its agent reported on the address the server saw it at (its reflexive address: the NAT's mapping of its
 * WireGuard port), then that address with its listen port (right for a NAT that keeps ports, and for a node with a
 * public address), then the rest of what it reported (local addresses, right for peers on the same network).
 */
export const MAX_DIRECT_CANDIDATES = 8;

export interface DiallingFacts {
  endpoint: string | null;
  candidates?: readonly string[];
  seenFrom?: string;
  listenPort: number;
}

export function directCandidates(node: DiallingFacts): string[] {
  const reported = node.candidates ?? [];
  const seen = node.seenFrom !== undefined ? hostPort(node.seenFrom, node.listenPort) : undefined;
  const onSeenHost = seen === undefined ? [] : reported.filter((c) => hostOf(c) === hostOf(seen));
  const ordered = [node.endpoint, ...onSeenHost, seen, ...reported].filter((c): c is string => typeof c === 'string');
  return [...new Set(ordered)].slice(0, MAX_DIRECT_CANDIDATES);
}

/** "198.51.100.7:51820", or "[2001:db8::7]:51820". */
export const hostPort = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** The host of "host:port" (brackets of an IPv6 host kept, so hosts compare alike). */
const hostOf = (endpoint: string): string => endpoint.slice(0, endpoint.lastIndexOf(':'));
