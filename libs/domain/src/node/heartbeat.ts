/**
 * Compact heartbeats: the log records what changed since the node's previous heartbeat, not every heartbeat's stats.
 *
 * A heartbeat is compared with the node's *baseline* (what its heartbeats last recorded): its endpoint (kept in
 * `NodeState.endpoint`), its counters, and per peer whether a handshake is established, the peer's endpoint and its
 * counters. What is material:
 * - the node's endpoint, or a peer's endpoint, differs from the recorded one;
 * - a peer's handshake became established or was lost (established = younger than {@link HANDSHAKE_ESTABLISHED_MS},
 *   measured against the heartbeat's time);
 * - a peer is no longer reported (it left the node's config): `gone`;
 * - a counter pair (rxBytes, txBytes of the node, or of a peer) crossed its bucket: one of the two moved by at least
 *   {@link COUNTER_CHANGE_RATIO} of its recorded value, or it changed at all and was last recorded at least
 *   {@link COUNTER_MAX_AGE_MS} ago. So an idle counter is never re-recorded, a busy one at most every 5 min between
 *   10% steps;
 * - the node's direct candidates (see PeerConfig.candidates) or the address the server saw it at differ from the
 *   recorded ones (a NAT remapping, a new local address): peers must learn them;
 * - the node was not online (first heartbeat after registration or after going offline): a status change.
 * Nothing material → `NodeSeen` with empty data (the stream names the node, the event's recordedAt dates it).
 * Otherwise `NodeHeartbeatRecorded` with only the changes. Live stats (every counter, every handshake time) are not
 * logged: the server publishes them from the request ({@link liveHeartbeatStats}).
 *
 * Old logs hold `NodeHeartbeatRecorded` in its first format (nodeId, at, the full stats of every peer): evolve and
 * {@link applyHeartbeat} upcast it ({@link upcastHeartbeat}), so it replays into the same baseline.
 */
import { Event } from '../shared/event';

/** A handshake younger than this is established: WireGuard's REJECT_AFTER_TIME (180 s), after which a session's keys
 *  are refused. A link in use re-handshakes every REKEY_AFTER_TIME (120 s), so it stays established between beats. */
export const HANDSHAKE_ESTABLISHED_MS = 180_000;
/** A counter pair is recorded when one of its counters moved by at least this fraction of its recorded value... */
export const COUNTER_CHANGE_RATIO = 0.1;
/** ...or when it changed at all and was last recorded at least this long ago. */
export const COUNTER_MAX_AGE_MS = 300_000;

/** One peer as the agent reports it (from `wg show dump`). */
export type PeerStats = {
  publicKey: string;
  lastHandshakeAt?: string | null;
  rxBytes: number;
  txBytes: number;
  /** The peer's endpoint as the node sees it (null: none yet); omitted when the agent does not report it. */
  endpoint?: string | null;
};

/** What one heartbeat reports. `peers`, when present, lists every peer the node has; absent, it says nothing of them. */
export type HeartbeatReport = {
  endpoint?: string;
  /** Where the node says it may be dialled, best first; absent: unchanged. */
  candidates?: readonly string[];
  /** The IP address the server saw the heartbeat come from (a NAT's public address, for a node behind one). */
  seenFrom?: string;
  rxBytes?: number;
  txBytes?: number;
  peers?: readonly PeerStats[];
};

/** The data of a `NodeHeartbeatRecorded` event: only what changed. Lists are sorted; empty parts are omitted. */
export type HeartbeatChanges = {
  /** The node's new endpoint. */
  endpoint?: string;
  /** The node's new candidates, and the new address it was seen at. */
  candidates?: string[];
  seenFrom?: string;
  /** The node's counters, when they crossed the bucket (the decider writes both). */
  rxBytes?: number;
  txBytes?: number;
  /** Peers (public keys) whose handshake became established, or was lost. */
  handshakes?: { established?: string[]; lost?: string[] };
  /** Peers whose endpoint changed: public key → endpoint (null: none any more). */
  peerEndpoints?: Record<string, string | null>;
  /** Peers whose counters crossed the bucket: public key → [rxBytes, txBytes]. */
  peerCounters?: Record<string, [number, number]>;
  /** Peers the node no longer reports (they left its config): dropped from the baseline. */
  gone?: string[];
  /** Only in an upcast old-format event: the time it carried. A new event is dated by its recordedAt. */
  at?: string;
};

/** A heartbeat that changed something material. */
export type NodeHeartbeatRecorded = Event<'NodeHeartbeatRecorded', HeartbeatChanges>;
/** A heartbeat that changed nothing material: no data at all. */
export type NodeSeen = Event<'NodeSeen', Record<string, never>>;
/** `NodeHeartbeatRecorded` as first stored (every stat of every heartbeat); recognised by its `nodeId`. */
export type NodeHeartbeatRecordedV1 = Event<'NodeHeartbeatRecorded', {
  nodeId: string;
  at: string;
  endpoint?: string;
  rxBytes?: number;
  txBytes?: number;
  peers?: PeerStats[];
}>;
export type HeartbeatEvent = NodeHeartbeatRecorded | NodeSeen;
/** Any heartbeat event a log may hold. */
export type StoredHeartbeatEvent = HeartbeatEvent | NodeHeartbeatRecordedV1;
/** A heartbeat event as decided or as the log returns it (a `RecordedEvent` has `recordedAt`). */
export type DatedHeartbeatEvent = StoredHeartbeatEvent & { readonly recordedAt?: string };

/**
 * What a node's heartbeats last recorded, besides its endpoint: one object per node, peers packed in parallel arrays
 * sorted by public key (no object per peer). `peerNumbers` holds {@link PEER_STRIDE} numbers per peer: rxBytes,
 * txBytes, when they were recorded (ms since the epoch; -Infinity: never), handshake established (1) or not (0).
 * Never mutated: a change builds a new baseline. A peer absent from it counts as (0, 0, never, 0, null).
 *
 * Memory (measured on Node 20, 64-bit, fresh strings as parsed from events): about 160 bytes per peer, of which the
 * 44-character key string is 64 and an endpoint string about 40; 10,000 nodes × 100 peers ≈ 160 MB
 * (a Map of tuples measured 260 MB).
 */
export interface HeartbeatBaseline {
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly countersAt: number;
  readonly peerKeys: readonly string[];
  readonly peerNumbers: Float64Array;
  readonly peerEndpoints: readonly (string | null)[];
}
export const PEER_STRIDE = 4;
const RX = 0;
const TX = 1;
const AT = 2;
const ESTABLISHED = 3;

export const emptyHeartbeatBaseline: HeartbeatBaseline = {
  rxBytes: 0, txBytes: 0, countersAt: -Infinity, peerKeys: [], peerNumbers: new Float64Array(0), peerEndpoints: [],
};

/** One peer of a baseline, as a view shows it. */
export type PeerBaseline = {
  publicKey: string;
  handshakeEstablished: boolean;
  endpoint: string | null;
  rxBytes: number;
  txBytes: number;
  /** When its counters were last recorded; null: never. */
  countersRecordedAt: string | null;
};

/** The peer's recorded state, or undefined when the baseline holds nothing of it. */
export function baselinePeer(baseline: HeartbeatBaseline, publicKey: string): PeerBaseline | undefined {
  const i = indexOf(baseline.peerKeys, publicKey);
  return i < 0 ? undefined : peerAt(baseline, i);
}

/** Every peer of the baseline, sorted by public key (allocated on demand). */
export function baselinePeers(baseline: HeartbeatBaseline): PeerBaseline[] {
  return baseline.peerKeys.map((_, i) => peerAt(baseline, i));
}

function peerAt(b: HeartbeatBaseline, i: number): PeerBaseline {
  const o = i * PEER_STRIDE;
  const at = b.peerNumbers[o + AT];
  return {
    publicKey: b.peerKeys[i],
    handshakeEstablished: b.peerNumbers[o + ESTABLISHED] === 1,
    endpoint: b.peerEndpoints[i],
    rxBytes: b.peerNumbers[o + RX],
    txBytes: b.peerNumbers[o + TX],
    countersRecordedAt: Number.isFinite(at) ? new Date(at).toISOString() : null,
  };
}

/** Binary search in sorted keys: the index, or -1. */
function indexOf(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const k = keys[mid];
    if (k === key) return mid;
    if (k < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sameStrings = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Whether a handshake at `lastHandshakeAt` is established at `nowMs`. */
export function handshakeEstablished(lastHandshakeAt: string | null | undefined, nowMs: number): boolean {
  if (!lastHandshakeAt) return false;
  const t = Date.parse(lastHandshakeAt);
  return !Number.isNaN(t) && nowMs - t < HANDSHAKE_ESTABLISHED_MS;
}

const moved = (recorded: number, value: number) =>
  value !== recorded && Math.abs(value - recorded) >= COUNTER_CHANGE_RATIO * recorded;

/** Whether the counter pair (rx, tx) crossed its bucket since (recordedRx, recordedTx) was recorded at recordedAt. */
function crossesBucket(recordedRx: number, recordedTx: number, recordedAt: number, rx: number, tx: number, nowMs: number): boolean {
  if (rx === recordedRx && tx === recordedTx) return false;
  return moved(recordedRx, rx) || moved(recordedTx, tx) || nowMs - recordedAt >= COUNTER_MAX_AGE_MS;
}

/** What the node's events last recorded of where it may be dialled (kept in NodeState). */
export type RecordedDialling = { endpoint: string | null; candidates?: readonly string[]; seenFrom?: string };

/**
 * What `report`, made at `now`, changes against the baseline and the node's recorded endpoint: the data of the
 * `NodeHeartbeatRecorded` to record, `{}` when nothing is material (the decider then records `NodeSeen` for an online node).
 */
export function heartbeatChanges(baseline: HeartbeatBaseline, recorded: RecordedDialling, report: HeartbeatReport, now: Date): HeartbeatChanges {
  const nowMs = now.getTime();
  const changes: HeartbeatChanges = {};
  if (report.endpoint !== undefined && report.endpoint !== recorded.endpoint) changes.endpoint = report.endpoint;
  if (report.candidates !== undefined && !sameStrings(report.candidates, recorded.candidates ?? [])) changes.candidates = [...report.candidates];
  if (report.seenFrom !== undefined && report.seenFrom !== recorded.seenFrom) changes.seenFrom = report.seenFrom;
  if (report.rxBytes !== undefined || report.txBytes !== undefined) {
    const rx = report.rxBytes ?? baseline.rxBytes;
    const tx = report.txBytes ?? baseline.txBytes;
    if (crossesBucket(baseline.rxBytes, baseline.txBytes, baseline.countersAt, rx, tx, nowMs)) {
      changes.rxBytes = rx;
      changes.txBytes = tx;
    }
  }
  if (report.peers) Object.assign(changes, peerChanges(baseline, report.peers, nowMs));
  return changes;
}

function peerChanges(b: HeartbeatBaseline, peers: readonly PeerStats[], nowMs: number): HeartbeatChanges {
  const established: string[] = [];
  const lost: string[] = [];
  const endpoints: Record<string, string | null> = {};
  const counters: Record<string, [number, number]> = {};
  let anyEndpoint = false;
  let anyCounter = false;
  const sorted = [...peers].sort((p, q) => byKey(p.publicKey, q.publicKey));
  for (const p of sorted) {
    const i = indexOf(b.peerKeys, p.publicKey);
    const o = i * PEER_STRIDE;
    const wasEstablished = i >= 0 && b.peerNumbers[o + ESTABLISHED] === 1;
    const isEstablished = handshakeEstablished(p.lastHandshakeAt, nowMs);
    if (isEstablished && !wasEstablished) established.push(p.publicKey);
    if (!isEstablished && wasEstablished) lost.push(p.publicKey);
    const recordedEndpoint = i >= 0 ? b.peerEndpoints[i] : null;
    if (p.endpoint !== undefined && p.endpoint !== recordedEndpoint) {
      endpoints[p.publicKey] = p.endpoint;
      anyEndpoint = true;
    }
    const [rx, tx, at] = i >= 0 ? [b.peerNumbers[o + RX], b.peerNumbers[o + TX], b.peerNumbers[o + AT]] : [0, 0, -Infinity];
    if (crossesBucket(rx, tx, at, p.rxBytes, p.txBytes, nowMs)) {
      counters[p.publicKey] = [p.rxBytes, p.txBytes];
      anyCounter = true;
    }
  }
  const reported = new Set(peers.map((p) => p.publicKey));
  const gone = b.peerKeys.filter((k) => !reported.has(k));
  const out: HeartbeatChanges = {};
  if (established.length || lost.length) {
    out.handshakes = { ...(established.length ? { established } : {}), ...(lost.length ? { lost } : {}) };
  }
  if (anyEndpoint) out.peerEndpoints = endpoints;
  if (anyCounter) out.peerCounters = counters;
  if (gone.length) out.gone = gone;
  return out;
}

/** True for `NodeHeartbeatRecorded` in its first format. */
export function isHeartbeatV1(event: StoredHeartbeatEvent): event is NodeHeartbeatRecordedV1 {
  return event.type === 'NodeHeartbeatRecorded' && typeof (event.data as { nodeId?: unknown }).nodeId === 'string';
}

/**
 * An old-format heartbeat in the current shape: its endpoint and node counters as they were, every reported peer's
 * handshake as established or lost (judged at the event's `at`), its counters (and endpoint, if it had one), and its
 * `at`. Peers missing from an old report stay in the baseline until the first new heartbeat reports them gone.
 * Any other event is returned as is; other properties of the event (a RecordedEvent's position, recordedAt…) are kept.
 */
export function upcastHeartbeat<E extends StoredHeartbeatEvent>(event: E): HeartbeatEvent & Omit<E, 'type' | 'data'> {
  if (!isHeartbeatV1(event)) return event as HeartbeatEvent & E;
  const { at, endpoint, rxBytes, txBytes, peers } = event.data;
  const data: HeartbeatChanges = { at };
  if (endpoint !== undefined) data.endpoint = endpoint;
  if (rxBytes !== undefined) data.rxBytes = rxBytes;
  if (txBytes !== undefined) data.txBytes = txBytes;
  if (peers?.length) {
    const atMs = Date.parse(at);
    const sorted = [...peers].sort((p, q) => byKey(p.publicKey, q.publicKey));
    const established = sorted.filter((p) => handshakeEstablished(p.lastHandshakeAt, atMs)).map((p) => p.publicKey);
    const lost = sorted.filter((p) => !handshakeEstablished(p.lastHandshakeAt, atMs)).map((p) => p.publicKey);
    data.handshakes = { ...(established.length ? { established } : {}), ...(lost.length ? { lost } : {}) };
    const withEndpoint = sorted.filter((p) => p.endpoint !== undefined);
    if (withEndpoint.length) data.peerEndpoints = Object.fromEntries(withEndpoint.map((p) => [p.publicKey, p.endpoint ?? null]));
    data.peerCounters = Object.fromEntries(sorted.map((p) => [p.publicKey, [p.rxBytes, p.txBytes]]));
  }
  return { ...event, type: 'NodeHeartbeatRecorded', data };
}

/** When a heartbeat happened: the `at` an old-format event carries, else the recordedAt the log gave it. */
export function heartbeatAt(event: DatedHeartbeatEvent): string {
  const at = (event.data as { at?: string }).at ?? event.recordedAt;
  if (at === undefined) throw new Error(`${event.type} carries no time: evolve it as the log returns it (with recordedAt)`);
  return at;
}

/**
 * The baseline after a heartbeat event (any format; `recordedAt` is needed when the event records counters). A view
 * holding a baseline per node feeds it the node's heartbeat events in log order and gets `NodeState.heartbeat`.
 */
export function applyHeartbeat(baseline: HeartbeatBaseline, event: DatedHeartbeatEvent): HeartbeatBaseline {
  if (event.type === 'NodeSeen') return baseline;
  const upcast = upcastHeartbeat(event);
  if (upcast.type !== 'NodeHeartbeatRecorded') return baseline;
  const at = upcast.data.at ?? event.recordedAt;
  return applyChanges(baseline, upcast.data, at === undefined ? NaN : Date.parse(at));
}

type PeerRow = [rx: number, tx: number, at: number, established: number, endpoint: string | null];

function applyChanges(b: HeartbeatBaseline, c: HeartbeatChanges, atMs: number): HeartbeatBaseline {
  const recordsCounters = c.rxBytes !== undefined || c.txBytes !== undefined || c.peerCounters !== undefined;
  if (recordsCounters && Number.isNaN(atMs)) throw new Error('a heartbeat that records counters needs its time (recordedAt)');
  let next = b;
  if (c.rxBytes !== undefined || c.txBytes !== undefined) {
    next = { ...next, rxBytes: c.rxBytes ?? b.rxBytes, txBytes: c.txBytes ?? b.txBytes, countersAt: atMs };
  }
  if (!c.handshakes && !c.peerEndpoints && !c.peerCounters && !c.gone) return next;
  const rows = new Map<string, PeerRow>();
  b.peerKeys.forEach((k, i) => {
    const o = i * PEER_STRIDE;
    const n = b.peerNumbers;
    rows.set(k, [n[o + RX], n[o + TX], n[o + AT], n[o + ESTABLISHED], b.peerEndpoints[i]]);
  });
  for (const k of c.gone ?? []) rows.delete(k);
  const row = (k: string): PeerRow => {
    let r = rows.get(k);
    if (!r) rows.set(k, (r = [0, 0, -Infinity, 0, null]));
    return r;
  };
  for (const k of c.handshakes?.established ?? []) row(k)[3] = 1;
  for (const k of c.handshakes?.lost ?? []) row(k)[3] = 0;
  for (const [k, endpoint] of Object.entries(c.peerEndpoints ?? {})) row(k)[4] = endpoint;
  for (const [k, [rx, tx]] of Object.entries(c.peerCounters ?? {})) {
    const r = row(k);
    r[0] = rx;
    r[1] = tx;
    r[2] = atMs;
  }
  const keys = [...rows.keys()].sort(byKey);
  const numbers = new Float64Array(keys.length * PEER_STRIDE);
  const endpoints = keys.map((k, i) => {
    const r = rows.get(k)!;
    numbers.set([r[0], r[1], r[2], r[3]], i * PEER_STRIDE);
    return r[4];
  });
  return { ...next, peerKeys: keys, peerNumbers: numbers, peerEndpoints: endpoints };
}

/** A baseline as JSON (for snapshots of a view): `peers` rows are [publicKey, rxBytes, txBytes, countersAt, established, endpoint]. */
export type HeartbeatBaselineJson = {
  rxBytes: number;
  txBytes: number;
  countersAt: number | null;
  peers: [string, number, number, number | null, 0 | 1, string | null][];
};

export function heartbeatBaselineToJson(b: HeartbeatBaseline): HeartbeatBaselineJson {
  const finite = (t: number) => (Number.isFinite(t) ? t : null);
  return {
    rxBytes: b.rxBytes, txBytes: b.txBytes, countersAt: finite(b.countersAt),
    peers: b.peerKeys.map((k, i) => {
      const o = i * PEER_STRIDE;
      const n = b.peerNumbers;
      return [k, n[o + RX], n[o + TX], finite(n[o + AT]), n[o + ESTABLISHED] === 1 ? 1 : 0, b.peerEndpoints[i]];
    }),
  };
}

export function heartbeatBaselineFromJson(j: HeartbeatBaselineJson): HeartbeatBaseline {
  const rows = [...j.peers].sort((p, q) => byKey(p[0], q[0]));
  const numbers = new Float64Array(rows.length * PEER_STRIDE);
  rows.forEach(([, rx, tx, at, established], i) => numbers.set([rx, tx, at ?? -Infinity, established], i * PEER_STRIDE));
  return {
    rxBytes: j.rxBytes, txBytes: j.txBytes, countersAt: j.countersAt ?? -Infinity,
    peerKeys: rows.map((r) => r[0]), peerNumbers: numbers, peerEndpoints: rows.map((r) => r[5]),
  };
}

/** One peer's live stats, as a heartbeat carried them (whether or not the log records them). */
export type LivePeerStats = {
  publicKey: string;
  rxBytes: number;
  txBytes: number;
  lastHandshakeAt: string | null;
  handshakeEstablished: boolean;
  /** Present when the agent reported it. */
  endpoint?: string | null;
};
export type LiveHeartbeatStats = { endpoint?: string; rxBytes?: number; txBytes?: number; peers?: LivePeerStats[] };

/**
 * The live stats a heartbeat carried, for `/metrics` and the in-memory views: every counter and handshake, with the
 * established flag judged as the decider judges it. The log keeps only their material changes.
 */
export function liveHeartbeatStats(report: HeartbeatReport, now: Date): LiveHeartbeatStats {
  const nowMs = now.getTime();
  const out: LiveHeartbeatStats = {};
  if (report.endpoint !== undefined) out.endpoint = report.endpoint;
  if (report.rxBytes !== undefined) out.rxBytes = report.rxBytes;
  if (report.txBytes !== undefined) out.txBytes = report.txBytes;
  if (report.peers) {
    out.peers = report.peers.map((p) => ({
      publicKey: p.publicKey,
      rxBytes: p.rxBytes,
      txBytes: p.txBytes,
      lastHandshakeAt: p.lastHandshakeAt ?? null,
      handshakeEstablished: handshakeEstablished(p.lastHandshakeAt, nowMs),
      ...(p.endpoint !== undefined ? { endpoint: p.endpoint } : {}),
    }));
  }
  return out;
}
