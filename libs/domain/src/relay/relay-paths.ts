/**
 * Relay paths: a pair of nodes that cannot reach each other directly (both behind NATs that randomise ports) is
 * given a path through a relay node, which forwards their sealed WireGuard datagrams and never holds a key. A path
 * is two ports on the relay, one per side; each side dials the relay at its own port, and the relay admits a
 * datagram on a port only from the IP its side was seen at (the address the server saw its heartbeats come from).
 *
 * Paths live on the tenant's `relays-<tenantId>` stream as RelayPathOpened/RelayPathClosed, so the audit shows which
 * pairs were relayed and when. Opening is idempotent (both sides of a pair usually ask); a path whose node, relay or
 * peering is gone is closed by the next decision on the stream, so ports are not leaked.
 */
import { DomainError } from '../shared/domain-error';
import { Event } from '../shared/event';

/** The relay's reflector (STUN binding) port. */
export const RELAY_REFLECT_PORT = 3478;
/** Forward ports: two per path, so a relay carries at most RELAY_PORT_COUNT / 2 paths (the count limit). */
export const RELAY_FIRST_PORT = 40_000;
export const RELAY_PORT_COUNT = 1_000;
/** Per path, both directions together: enough for a shell or a backup, not for one pair to starve the relay. */
export const RELAY_PAIR_RATE_MBIT = 100;
export const RELAY_PAIR_PACKETS_PER_SECOND = 20_000;

export type RelayPathOpened = Event<'RelayPathOpened', {
  tenantId: string;
  relayNodeId: string;
  /** The pair, sorted by id; `ports[i]` and `sources[i]` are `nodes[i]`'s. */
  nodes: [string, string];
  ports: [number, number];
  sources: [string, string];
  /** The node that asked. */
  requestedBy: string;
}>;
export type RelayPathClosed = Event<'RelayPathClosed', {
  tenantId: string;
  relayNodeId: string;
  nodes: [string, string];
  /** `direct`: a side found the direct path; `gone`: a node, the relay or the peering went away. */
  reason: 'direct' | 'gone';
}>;
export type RelayEvent = RelayPathOpened | RelayPathClosed;

export interface RelayPath {
  relayNodeId: string;
  nodes: [string, string];
  ports: [number, number];
  sources: [string, string];
}

/** The open paths of a tenant, by pair key. */
export type RelayPathsState = ReadonlyMap<string, RelayPath>;
export const initialRelayPathsState: RelayPathsState = new Map();

export const pairKey = (a: string, b: string): string => (a < b ? `${a}/${b}` : `${b}/${a}`);

/** What the decision needs to know about the tenant now (from the read models). */
export interface RelayContext {
  /** Relay nodes usable now (the policy names them, they have a public endpoint), by id. */
  relays: readonly string[];
  /** Whether the two nodes are each other's peers now. */
  arePeers(a: string, b: string): boolean;
  /** Whether the node is live (registered, not removed, key not expired). */
  isLive(nodeId: string): boolean;
  /** The IP the node's heartbeats last came from; undefined when it has not been seen. */
  seenFrom(nodeId: string): string | undefined;
}

export type OpenRelayPath = { type: 'OpenRelayPath'; tenantId: string; nodeId: string; peerId: string };
export type CloseRelayPath = { type: 'CloseRelayPath'; tenantId: string; nodeId: string; peerId: string };
export type RelayCommand = OpenRelayPath | CloseRelayPath;

export function decideRelayPath(command: RelayCommand, state: RelayPathsState, ctx: RelayContext): RelayEvent[] {
  const { tenantId, nodeId, peerId } = command;
  const stale = [...state.values()].filter((p) => !usable(p, ctx));
  const events: RelayEvent[] = stale.map((p) => closed(tenantId, p, 'gone'));
  const existing = state.get(pairKey(nodeId, peerId));
  const current = existing && !stale.includes(existing) ? existing : undefined;
  if (command.type === 'CloseRelayPath') {
    if (current) events.push(closed(tenantId, current, 'direct'));
    return events;
  }
  if (current) return events;
  if (nodeId === peerId || !ctx.arePeers(nodeId, peerId)) {
    throw new DomainError('NOT_A_PEER', 'NOT_FOUND', 'the node has no such peer');
  }
  const nodes = [nodeId, peerId].sort() as [string, string];
  const sources = nodes.map((id) => ctx.seenFrom(id));
  if (sources.some((s) => s === undefined)) {
    throw new DomainError('NODE_NOT_SEEN', 'CONFLICT', 'both nodes must have sent a heartbeat before a relay path can admit them');
  }
  const live = [...state.values()].filter((p) => !stale.includes(p));
  const relay = leastLoaded(ctx.relays.filter((r) => !nodes.includes(r)), live);
  if (!relay) throw new DomainError('NO_RELAY', 'CONFLICT', 'no relay can take this pair: the policy names none ("relays"), none has a public endpoint, or all are full');
  const ports = freePorts(relay, live);
  events.push({
    type: 'RelayPathOpened',
    data: { tenantId, relayNodeId: relay, nodes, ports, sources: sources as [string, string], requestedBy: nodeId },
  });
  return events;
}

export function evolveRelayPaths(state: RelayPathsState, event: Event): RelayPathsState {
  if (event.type !== 'RelayPathOpened' && event.type !== 'RelayPathClosed') return state;
  const d = (event as RelayEvent).data;
  const next = new Map(state);
  const key = pairKey(d.nodes[0], d.nodes[1]);
  if (event.type === 'RelayPathOpened') {
    const o = (event as RelayPathOpened).data;
    next.set(key, { relayNodeId: o.relayNodeId, nodes: o.nodes, ports: o.ports, sources: o.sources });
  } else {
    next.delete(key);
  }
  return next;
}

function usable(p: RelayPath, ctx: RelayContext): boolean {
  return ctx.relays.includes(p.relayNodeId) && ctx.isLive(p.nodes[0]) && ctx.isLive(p.nodes[1]) && ctx.arePeers(p.nodes[0], p.nodes[1]);
}

function closed(tenantId: string, p: RelayPath, reason: 'direct' | 'gone'): RelayPathClosed {
  return { type: 'RelayPathClosed', data: { tenantId, relayNodeId: p.relayNodeId, nodes: p.nodes, reason } };
}

/** The relay with the fewest paths and room for one more (ties: the first id, so every replica decides alike). */
function leastLoaded(relays: readonly string[], paths: readonly RelayPath[]): string | undefined {
  const load = new Map(relays.map((r) => [r, 0]));
  for (const p of paths) if (load.has(p.relayNodeId)) load.set(p.relayNodeId, load.get(p.relayNodeId)! + 1);
  const open = [...load].filter(([, n]) => n < RELAY_PORT_COUNT / 2).sort(([a, n], [b, m]) => n - m || (a < b ? -1 : 1));
  return open[0]?.[0];
}

/** The lowest two free ports of the relay's range. */
function freePorts(relay: string, paths: readonly RelayPath[]): [number, number] {
  const taken = new Set(paths.filter((p) => p.relayNodeId === relay).flatMap((p) => p.ports));
  const free: number[] = [];
  for (let port = RELAY_FIRST_PORT; free.length < 2; port++) if (!taken.has(port)) free.push(port);
  return [free[0], free[1]];
}
