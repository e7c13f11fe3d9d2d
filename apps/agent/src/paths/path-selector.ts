import { canonicalPrefix, type RelayPath } from '../contracts';
import type { LivePeer } from '../wireguard/wireguard-port';

/**
 * Which path each peer's WireGuard endpoint takes: one of its direct candidates or the relay path the control plane
 * allocated. Pure: the caller passes the desired peers, the live counters and the time, and applies what comes out.
 *
 *   passive ── no candidates, no relay path: the peer dials us; its endpoint is WireGuard's to roam.
 *   trying-direct(k) ── endpoint = candidates[k]. Heard from the peer (rx grew or a handshake since the switch) →
 *       direct at the live endpoint (relayed when that is the relay's address). After directTimeout → k+1; after the
 *       last one → relayed when a relay path exists, else relay-wanted.
 *   relay-wanted ── asks for a relay path once, again after a doubling backoff while none comes; keeps cycling the
 *       candidates meanwhile (the peer may punch from its side). Heard → direct (the request is released);
 *       relay path appears → relayed.
 *   relayed ── endpoint = relay path. A different live endpoint with rx growth is the peer's probe reaching us
 *       (WireGuard roams to the source of authenticated packets): accepted → direct, answered with a keepalive.
 *       Without rx growth it was a write by someone else: the relay is set again. Every retryDirect →
 *       probing-direct. Path withdrawn → trying-direct.
 *   probing-direct ── endpoint = candidates[0] (the best: the reflexive address across NATs; the others are tried
 *       whenever the path starts over) for probeWindow, judged from the read after the write (rebase: a relayed
 *       packet that came before the write is not the answer). The first packet from the peer on it is answered with a
 *       keepalive (both sides probe at about the same time: the one that wrote second hears the first's probe before
 *       its write, so only the answer proves the path to it). Rx grew (or a handshake) and the live endpoint is still
 *       candidates[0] → direct, relay released. Otherwise (the peer's packets still come via the relay, so
 *       WireGuard roamed us back to it, or nothing came) → relayed, relay endpoint set again.
 *   direct ── roams are followed (to the relay's address → relayed). Back to trying-direct when the last handshake is
 *       older than staleHandshake while a relay path exists, or when a change of the peer's candidates is followed by
 *       directTimeout without a handshake or rx. A relay path in the config is released once a handshake (a round
 *       trip) newer than the path arrives on the direct endpoint.
 *
 * Every endpoint written is followed by one keepalive, so the new path carries a packet at once; and a packet from
 * the peer after a probe window of silence from us is answered with one, since a probe on an established session is
 * proven only by an answer and WireGuard answers neither keepalives nor, on an idle link, anything within seconds.
 * (Persistent keepalive does not help: every packet received postpones it.) Our own answers and writes count as
 * sending, so two idle sides never bounce keepalives.
 *
 * A probe costs a relayed session at most the probe window: any packet the peer sends through the relay during it
 * roams the endpoint back at once, and at the window's end the relay is set again. Peers that leave the config are
 * forgotten.
 */
export type PathState = 'passive' | 'trying-direct' | 'relay-wanted' | 'relayed' | 'probing-direct' | 'direct';

export interface PathTimings {
  /**
   * How long one direct candidate gets. WireGuard retransmits a handshake initiation every 5 s (REKEY_TIMEOUT)
   * while it has a packet to send, so each candidate sees about one attempt.
   */
  directTimeoutMs: number;
  /**
   * How long a probe of the direct path from `relayed` lasts: a round trip plus the peer's tick (an idle peer
   * answers at its next step) plus ours. Short, because when direct does not work our packets in it are lost until
   * the peer sends something through the relay (which roams us back at once).
   */
  probeWindowMs: number;
  /**
   * How often a relayed peer probes direct again. Under 30 s, the shortest UDP mapping lifetime NATs commonly use
   * (the reason WireGuard's keepalive advice is 25 s): both sides probe at their own times, and with probes at
   * most 25 s apart the mapping one side's probe opened in its NAT is still there when the other side's probe
   * arrives, which is what lets the second probe through. It also bounds the probe's cost to a window in 25 s.
   */
  retryDirectMs: number;
  /** First wait for a requested relay path before asking again; doubles up to relayRetryMaxMs. */
  relayRetryMs: number;
  relayRetryMaxMs: number;
  /** WireGuard rekeys every 2 minutes and drops a session after 3 (REJECT_AFTER_TIME): older means dead. */
  staleHandshakeMs: number;
}

export const DEFAULT_PATH_TIMINGS: PathTimings = {
  directTimeoutMs: 5_000,
  probeWindowMs: 2_000,
  retryDirectMs: 25_000,
  relayRetryMs: 15_000,
  relayRetryMaxMs: 120_000,
  staleHandshakeMs: 180_000,
};

export interface DesiredPeer {
  publicKey: string;
  /** Direct "host:port"s, best first (PeerConfig.candidates); when empty, `endpoint` is the only one. */
  candidates: string[];
  endpoint: string | null;
}

export interface PathInput {
  /** Milliseconds (Date.now() scale). */
  now: number;
  peers: DesiredPeer[];
  relayPaths: RelayPath[];
  live: LivePeer[];
}

export interface EndpointChange { publicKey: string; endpoint: string }
export interface RelayAction { action: 'request' | 'release'; publicKey: string }
export interface PathOutput {
  endpoints: EndpointChange[];
  /**
   * Peers to send one keepalive to right after the endpoint writes: a path just chosen is tested at once instead of
   * at the next keepalive (up to 25 s away), and a peer whose probe reached us gets an answer on its direct path
   * within its probe window (WireGuard itself does not answer a keepalive).
   */
  keepalives: string[];
  relay: RelayAction[];
}
export interface PeerPath { publicKey: string; state: PathState; endpoint: string | null }

interface Track {
  publicKey: string;
  state: PathState;
  candidates: string[];
  relay: string | null;
  /** The endpoint the path uses: the one we set, or the one WireGuard roamed to and we accepted. */
  endpoint: string | null;
  /** The candidate being tried or probed. */
  index: number;
  /** When the state was entered or the endpoint set. */
  since: number;
  rxAtSince: number;
  /** rxBytes at the previous step: growth since then under another live endpoint is roaming. */
  rxSeen: number;
  /** txBytes at the previous step, and when it last grew (or a keepalive was asked for). */
  txSeen: number;
  txAt: number;
  /** When the outstanding relay request was sent (null: none outstanding). */
  askedAt: number | null;
  askBackoffMs: number;
  nextProbeAt: number;
  /** The current relay path was released. */
  released: boolean;
  /** When the current relay path appeared in the config. */
  relayAt: number;
  /** The peer was answered during the current probe. */
  probeAnswered: boolean;
  /** A change of candidates while direct, to check the session survived it. */
  changedAt: number | null;
  rxAtChange: number;
}

export class PathSelector {
  private readonly timings: PathTimings;
  private readonly tracks = new Map<string, Track>();

  constructor(timings: Partial<PathTimings> = {}) {
    this.timings = { ...DEFAULT_PATH_TIMINGS, ...timings };
  }

  step(input: PathInput): PathOutput {
    const out: PathOutput = { endpoints: [], keepalives: [], relay: [] };
    const live = new Map(input.live.map((p) => [p.publicKey, p]));
    const relays = new Map(input.relayPaths.map((r) => [r.publicKey, r.endpoint]));
    const wanted = new Set<string>();
    for (const peer of input.peers) {
      wanted.add(peer.publicKey);
      const current = live.get(peer.publicKey);
      // Not on the interface yet (the reconciler adds it): nothing to steer or judge.
      if (current) this.advance(peer, relays.get(peer.publicKey) ?? null, current, input.now, out);
    }
    for (const key of this.tracks.keys()) if (!wanted.has(key)) this.tracks.delete(key);
    return out;
  }

  /**
   * The endpoints of `publicKeys` were just written (after the step that chose them read `live`): their state is
   * judged from this reading on. A packet that came between that read and the write arrived on the old path (a
   * relayed packet during a probe's write would otherwise pass for the probe's answer) and WireGuard's roam to its
   * source was overwritten, so only what the new endpoint carries from now counts.
   */
  rebase(live: LivePeer[], publicKeys: readonly string[], now: number): void {
    const byKey = new Map(live.map((p) => [p.publicKey, p]));
    for (const key of publicKeys) {
      const t = this.tracks.get(key);
      const current = byKey.get(key);
      if (!t || !current) continue;
      t.since = now;
      t.rxAtSince = current.rxBytes;
    }
  }

  paths(): PeerPath[] {
    return [...this.tracks.values()]
      .map((t) => ({ publicKey: t.publicKey, state: t.state, endpoint: t.endpoint }))
      .sort((a, b) => (a.publicKey < b.publicKey ? -1 : a.publicKey > b.publicKey ? 1 : 0));
  }

  private advance(peer: DesiredPeer, relay: string | null, live: LivePeer, now: number, out: PathOutput): void {
    const candidates = peer.candidates.length > 0 ? peer.candidates : peer.endpoint !== null ? [peer.endpoint] : [];
    let t = this.tracks.get(peer.publicKey);
    if (t && live.txBytes !== t.txSeen) t.txAt = now;
    if (!t) {
      t = {
        publicKey: peer.publicKey, state: 'passive', candidates, relay, endpoint: live.endpoint, index: 0, since: now,
        rxAtSince: live.rxBytes, rxSeen: live.rxBytes, txSeen: live.txBytes, txAt: now, askedAt: null, askBackoffMs: this.timings.relayRetryMs,
        nextProbeAt: 0, released: false, relayAt: now, probeAnswered: false, changedAt: null, rxAtChange: 0,
      };
      this.tracks.set(peer.publicKey, t);
      this.restart(t, live, now, out);
    } else {
      // A counter that went down belongs to a re-created peer: measure growth from here.
      if (live.rxBytes < t.rxSeen) t.rxSeen = live.rxBytes;
      if (live.rxBytes < t.rxAtSince) t.rxAtSince = live.rxBytes;
      const { state, since } = t;
      this.reconfigure(t, candidates, relay, live, now, out);
      // A path just chosen is judged from the next step on, once the live interface has it.
      if (t.state === state && t.since === since) this.run(t, live, now, out);
      // The peer sent something and we have been silent: maybe its probe, which only an answer can prove.
      if (live.rxBytes > t.rxSeen && now - t.txAt >= this.timings.probeWindowMs && !out.keepalives.includes(t.publicKey)) {
        out.keepalives.push(t.publicKey);
      }
    }
    if (out.keepalives.includes(t.publicKey)) t.txAt = now;
    t.rxSeen = live.rxBytes;
    t.txSeen = live.txBytes;
  }

  /** Follows the config: new candidates, a relay path that appeared, moved or went away. */
  private reconfigure(t: Track, candidates: string[], relay: string | null, live: LivePeer, now: number, out: PathOutput): void {
    const candidatesChanged = !sameList(t.candidates, candidates);
    const relayChanged = !sameEndpoint(t.relay, relay);
    t.candidates = candidates;
    t.relay = relay;
    if (relayChanged) {
      t.released = false;
      t.relayAt = now;
      if (relay !== null) {
        t.askedAt = null;
        t.askBackoffMs = this.timings.relayRetryMs;
      }
    }
    switch (t.state) {
      case 'passive':
        if (candidatesChanged || relayChanged) this.restart(t, live, now, out);
        break;
      case 'trying-direct':
      case 'relay-wanted':
        if (candidatesChanged) this.restart(t, live, now, out);
        else if (relay !== null && t.state === 'relay-wanted') this.toRelay(t, live, now, out);
        break;
      case 'relayed':
      case 'probing-direct':
        if (relay === null) this.restart(t, live, now, out);
        else if (relayChanged || (candidatesChanged && t.state === 'probing-direct')) this.toRelay(t, live, now, out);
        break;
      case 'direct':
        if (candidatesChanged) {
          t.changedAt = now;
          t.rxAtChange = live.rxBytes;
        }
        break;
    }
  }

  private run(t: Track, live: LivePeer, now: number, out: PathOutput): void {
    const { directTimeoutMs, probeWindowMs, staleHandshakeMs, relayRetryMaxMs } = this.timings;
    const handshakeMs = live.latestHandshake * 1000;
    switch (t.state) {
      case 'passive':
        t.endpoint = live.endpoint;
        return;
      case 'trying-direct':
      case 'relay-wanted': {
        if (heardSince(t, live)) {
          if (t.askedAt !== null) this.release(t, out);
          this.adopt(t, live, now);
          return;
        }
        if (now - t.since >= directTimeoutMs) {
          const next = t.index + 1;
          if (t.state === 'relay-wanted') this.setDirect(t, 'relay-wanted', next % t.candidates.length, live, now, out);
          else if (next < t.candidates.length) this.setDirect(t, 'trying-direct', next, live, now, out);
          else if (t.relay !== null) this.toRelay(t, live, now, out);
          else {
            this.setDirect(t, 'relay-wanted', 0, live, now, out);
            this.ask(t, now, out);
          }
        }
        if (t.state === 'relay-wanted' && t.askedAt !== null && now - t.askedAt >= t.askBackoffMs) {
          t.askBackoffMs = Math.min(t.askBackoffMs * 2, relayRetryMaxMs);
          this.ask(t, now, out);
        }
        return;
      }
      case 'relayed':
        if (!sameEndpoint(live.endpoint, t.relay)) {
          if (live.rxBytes > t.rxSeen) {
            this.follow(t, 'direct', live, now);
            out.keepalives.push(t.publicKey);
          } else {
            this.toRelay(t, live, now, out);
          }
        } else if (t.candidates.length > 0 && now >= t.nextProbeAt) {
          this.setDirect(t, 'probing-direct', 0, live, now, out);
        }
        return;
      case 'probing-direct':
        if (now - t.since < probeWindowMs) {
          // The peer's packet on the probed path, answered once: it may be probing too, and then its own probe came
          // before this one and only a packet after its write proves the path to it. Growth since the step's read,
          // not since the rebase: the peer's probe may have come before our rebase read.
          if (!t.probeAnswered && live.rxBytes > t.rxSeen && sameEndpoint(live.endpoint, t.endpoint)) {
            t.probeAnswered = true;
            out.keepalives.push(t.publicKey);
          }
          return;
        }
        if (heardSince(t, live) && sameEndpoint(live.endpoint, t.endpoint)) {
          this.follow(t, 'direct', live, now);
          this.release(t, out);
        } else {
          this.toRelay(t, live, now, out);
        }
        return;
      case 'direct': {
        if (!sameEndpoint(live.endpoint, t.endpoint) || sameEndpoint(live.endpoint, t.relay)) {
          // Roamed, or rewritten by someone else: either way the live endpoint is the path now.
          this.adopt(t, live, now);
          return;
        }
        if (t.relay !== null && now - Math.max(handshakeMs, t.since) > staleHandshakeMs) {
          this.restart(t, live, now, out);
          return;
        }
        if (t.changedAt !== null && now - t.changedAt >= directTimeoutMs) {
          const alive = handshakeMs >= t.changedAt || live.rxBytes > t.rxAtChange;
          t.changedAt = null;
          if (!alive) {
            this.restart(t, live, now, out);
            return;
          }
        }
        // Only a handshake since the path appeared proves direct works now, not the one that made the peer direct.
        if (t.relay !== null && !t.released && handshakeMs >= Math.max(t.since, t.relayAt)) this.release(t, out);
        return;
      }
    }
  }

  /** Starts over from the config: the first candidate, else the relay path, else leave it to the peer. */
  private restart(t: Track, live: LivePeer, now: number, out: PathOutput): void {
    t.askedAt = null;
    t.askBackoffMs = this.timings.relayRetryMs;
    t.changedAt = null;
    if (t.candidates.length > 0) this.setDirect(t, 'trying-direct', 0, live, now, out);
    else if (t.relay !== null) this.toRelay(t, live, now, out);
    else this.follow(t, 'passive', live, now);
  }

  private setDirect(t: Track, state: PathState, index: number, live: LivePeer, now: number, out: PathOutput): void {
    t.index = index;
    this.enter(t, state, t.candidates[index], live, now, out);
  }

  private toRelay(t: Track, live: LivePeer, now: number, out: PathOutput): void {
    t.nextProbeAt = now + this.timings.retryDirectMs;
    this.enter(t, 'relayed', t.relay!, live, now, out);
  }

  private enter(t: Track, state: PathState, endpoint: string, live: LivePeer, now: number, out: PathOutput): void {
    t.state = state;
    t.endpoint = endpoint;
    t.since = now;
    t.rxAtSince = live.rxBytes;
    t.probeAnswered = false;
    out.endpoints.push({ publicKey: t.publicKey, endpoint });
    out.keepalives.push(t.publicKey);
  }

  /** Takes the live endpoint as the path without writing it (do not fight WireGuard's roaming). */
  private follow(t: Track, state: PathState, live: LivePeer, now: number): void {
    if (state === 'relayed' && t.state !== 'relayed') t.nextProbeAt = now + this.timings.retryDirectMs;
    t.state = state;
    t.endpoint = live.endpoint;
    t.since = now;
    t.rxAtSince = live.rxBytes;
  }

  /** The peer answered on the live endpoint: through the relay if that is the relay's address, else directly. */
  private adopt(t: Track, live: LivePeer, now: number): void {
    this.follow(t, live.endpoint !== null && sameEndpoint(live.endpoint, t.relay) ? 'relayed' : 'direct', live, now);
  }

  private ask(t: Track, now: number, out: PathOutput): void {
    t.askedAt = now;
    out.relay.push({ action: 'request', publicKey: t.publicKey });
  }

  private release(t: Track, out: PathOutput): void {
    t.askedAt = null;
    t.released = true;
    out.relay.push({ action: 'release', publicKey: t.publicKey });
  }
}

/** The peer sent something since the state was entered: rx grew or a handshake completed. */
function heardSince(t: Track, live: LivePeer): boolean {
  return live.rxBytes > t.rxAtSince || live.latestHandshake * 1000 >= t.since;
}

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => sameEndpoint(x, b[i]));

/** "host:port"s compared as WireGuard prints them (IPv6 in brackets, RFC 5952); hostnames case-insensitively. */
export function sameEndpoint(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  return endpointKey(a) === endpointKey(b);
}

function endpointKey(endpoint: string): string {
  const colon = endpoint.lastIndexOf(':');
  if (colon < 0) return endpoint.toLowerCase();
  const host = endpoint.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return `${canonicalPrefix(host) ?? host.toLowerCase()}|${endpoint.slice(colon + 1)}`;
}
