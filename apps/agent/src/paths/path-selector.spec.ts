import type { RelayPath } from '../contracts';
import type { LivePeer } from '../wireguard/wireguard-port';
import { PathSelector, sameEndpoint, type DesiredPeer, type PathOutput, type PathTimings } from './path-selector';

const TIMINGS: PathTimings = {
  directTimeoutMs: 5_000, probeWindowMs: 3_000, retryDirectMs: 25_000, relayRetryMs: 10_000, relayRetryMaxMs: 40_000, staleHandshakeMs: 180_000,
};
const KEY = 'PEERKEY';
const A1 = '203.0.113.10:41641';
const A2 = '192.168.1.10:51820';
const RELAY = '198.51.100.1:40000';
const ELSEWHERE = '203.0.113.99:60001';

/**
 * One peer over scripted time; endpoint writes take effect on the live peer as `wg set` would, and keepalives count
 * as sent. We send traffic every step unless `sending` is off.
 */
class Scene {
  now = 1_700_000_000_000;
  sending = true;
  readonly selector = new PathSelector(TIMINGS);
  peers: DesiredPeer[] = [{ publicKey: KEY, candidates: [A1, A2], endpoint: A1 }];
  relayPaths: RelayPath[] = [];
  readonly live: LivePeer = {
    publicKey: KEY, endpoint: A1, allowedIps: ['100.64.0.2/32'], persistentKeepalive: 25, latestHandshake: 0, rxBytes: 0, txBytes: 0,
  };

  step(afterMs = 0): PathOutput {
    this.now += afterMs;
    if (this.sending) this.live.txBytes += 100;
    const out = this.selector.step({ now: this.now, peers: this.peers, relayPaths: this.relayPaths, live: [this.live] });
    for (const change of out.endpoints) if (change.publicKey === KEY) this.live.endpoint = change.endpoint;
    this.live.txBytes += 32 * out.keepalives.length;
    return out;
  }

  /** A packet from the peer; from another address WireGuard roams the endpoint to it. */
  hear(from?: string, handshake = true): void {
    this.live.rxBytes += 148;
    if (handshake) this.live.latestHandshake = Math.floor(this.now / 1000);
    if (from !== undefined) this.live.endpoint = from;
  }

  path() {
    return this.selector.paths().find((p) => p.publicKey === KEY);
  }

  /** Both candidates fail, the relay path comes: relayed. */
  toRelayed(): void {
    this.step();
    this.step(5_000);
    this.step(5_000);
    this.relayPaths = [{ publicKey: KEY, endpoint: RELAY }];
    this.step(1_000);
    expect(this.path()).toEqual({ publicKey: KEY, state: 'relayed', endpoint: RELAY });
  }
}

const none: PathOutput = { endpoints: [], keepalives: [], relay: [] };
/** The endpoint written, and a keepalive sent there. */
const moved = (endpoint: string): PathOutput => ({ endpoints: [{ publicKey: KEY, endpoint }], keepalives: [KEY], relay: [] });

describe('PathSelector', () => {
  it('goes direct when the first candidate answers', () => {
    const s = new Scene();
    expect(s.step()).toEqual(moved(A1));
    expect(s.path()?.state).toBe('trying-direct');
    s.now += 800;
    s.hear();
    expect(s.step(200)).toEqual(none);
    expect(s.path()).toEqual({ publicKey: KEY, state: 'direct', endpoint: A1 });
    expect(s.step(60_000)).toEqual(none);
  });

  it('tries the next candidate after the direct timeout and settles on the one that answers', () => {
    const s = new Scene();
    s.step();
    expect(s.step(4_000)).toEqual(none);
    expect(s.step(1_000)).toEqual(moved(A2));
    s.hear();
    s.step(1_000);
    expect(s.path()).toEqual({ publicKey: KEY, state: 'direct', endpoint: A2 });
  });

  it('asks for a relay once when every candidate fails, and switches when the relay path arrives', () => {
    const s = new Scene();
    s.step();
    s.step(5_000);
    expect(s.step(5_000)).toEqual({ ...moved(A1), relay: [{ action: 'request', publicKey: KEY }] });
    expect(s.path()?.state).toBe('relay-wanted');
    // Still punching from this side meanwhile, without asking again.
    expect(s.step(5_000)).toEqual(moved(A2));
    s.relayPaths = [{ publicKey: KEY, endpoint: RELAY }];
    expect(s.step(1_000)).toEqual(moved(RELAY));
    expect(s.path()).toEqual({ publicKey: KEY, state: 'relayed', endpoint: RELAY });
  });

  it('asks again after a doubling backoff while no relay path arrives', () => {
    const s = new Scene();
    s.step();
    s.step(5_000);
    const asked: number[] = [];
    const start = s.now;
    for (let t = 0; t <= 75_000; t += 1_000) {
      const out = s.step(t === 0 ? 5_000 : 1_000);
      if (out.relay.some((r) => r.action === 'request')) asked.push(s.now - start - 5_000);
    }
    expect(asked).toEqual([0, 10_000, 30_000, 70_000]);
  });

  it('uses a relay path that is already there once the candidates are exhausted, without asking', () => {
    const s = new Scene();
    s.relayPaths = [{ publicKey: KEY, endpoint: RELAY }];
    s.step();
    s.step(5_000);
    expect(s.step(5_000)).toEqual(moved(RELAY));
  });

  it('probes direct from relayed, and on success releases the relay and stays direct', () => {
    const s = new Scene();
    s.toRelayed();
    expect(s.step(24_000)).toEqual(none);
    expect(s.step(1_000)).toEqual(moved(A1));
    expect(s.path()?.state).toBe('probing-direct');
    s.now += 1_000;
    s.hear(undefined, false);
    expect(s.step(2_000)).toEqual({ ...none, relay: [{ action: 'release', publicKey: KEY }] });
    expect(s.path()).toEqual({ publicKey: KEY, state: 'direct', endpoint: A1 });
    s.relayPaths = [];
    expect(s.step(1_000)).toEqual(none);
    expect(s.path()?.state).toBe('direct');
  });

  it('answers the peer\u2019s first packet on the probed path once, for a peer probing at the same time', () => {
    const s = new Scene();
    s.sending = false;
    s.toRelayed();
    s.step(25_000); // probing A1
    expect(s.path()?.state).toBe('probing-direct');
    s.hear(undefined, false); // the peer's packet from A1: its probe, sent after ours
    expect(s.step(1_000)).toEqual({ ...none, keepalives: [KEY] });
    s.hear(undefined, false);
    expect(s.step(500)).toEqual(none); // once per probe: two probing sides do not bounce keepalives
    expect(s.step(1_500)).toEqual({ ...none, relay: [{ action: 'release', publicKey: KEY }] });
    expect(s.path()).toEqual({ publicKey: KEY, state: 'direct', endpoint: A1 });
  });

  it('stays relayed when the probe fails because the peer still sends through the relay', () => {
    const s = new Scene();
    s.toRelayed();
    s.step(25_000);
    s.now += 500;
    s.hear(RELAY, false); // WireGuard roams back to the relay's address
    expect(s.step(2_500)).toEqual(moved(RELAY));
    expect(s.path()).toEqual({ publicKey: KEY, state: 'relayed', endpoint: RELAY });
    // The next probe comes a retry interval later, on the best candidate again.
    expect(s.step(24_000)).toEqual(none);
    expect(s.step(1_000)).toEqual(moved(A1));
  });

  it('stays relayed when nothing at all comes back during the probe', () => {
    const s = new Scene();
    s.toRelayed();
    s.step(25_000);
    expect(s.step(3_000)).toEqual(moved(RELAY));
    expect(s.path()?.state).toBe('relayed');
  });

  it('goes back to trying direct when the config withdraws the relay path', () => {
    const s = new Scene();
    s.toRelayed();
    s.relayPaths = [];
    expect(s.step(1_000)).toEqual(moved(A1));
    expect(s.path()?.state).toBe('trying-direct');
  });

  it('follows a relay path that moves', () => {
    const s = new Scene();
    s.toRelayed();
    s.relayPaths = [{ publicKey: KEY, endpoint: '198.51.100.1:40002' }];
    expect(s.step(1_000)).toEqual(moved('198.51.100.1:40002'));
  });

  it('forgets a peer that left the config and starts afresh when it returns', () => {
    const s = new Scene();
    s.toRelayed();
    const peers = s.peers;
    s.peers = [];
    expect(s.step(1_000)).toEqual(none);
    expect(s.selector.paths()).toEqual([]);
    s.peers = peers;
    s.relayPaths = [];
    expect(s.step(1_000)).toEqual(moved(A1));
    expect(s.path()?.state).toBe('trying-direct');
  });

  describe('roaming', () => {
    it('accepts a direct peer that roamed to another address', () => {
      const s = new Scene();
      s.step();
      s.hear();
      s.step(1_000);
      s.hear(ELSEWHERE);
      expect(s.step(1_000)).toEqual(none);
      expect(s.path()).toEqual({ publicKey: KEY, state: 'direct', endpoint: ELSEWHERE });
      expect(s.step(30_000)).toEqual(none);
    });

    it('accepts an answer from another address while trying', () => {
      const s = new Scene();
      s.step();
      s.hear(ELSEWHERE);
      expect(s.step(1_000)).toEqual(none);
      expect(s.path()).toEqual({ publicKey: KEY, state: 'direct', endpoint: ELSEWHERE });
    });

    it('accepts answers through the relay while trying as relayed', () => {
      const s = new Scene();
      s.relayPaths = [{ publicKey: KEY, endpoint: RELAY }];
      s.step();
      s.hear(RELAY);
      expect(s.step(1_000)).toEqual(none);
      expect(s.path()).toEqual({ publicKey: KEY, state: 'relayed', endpoint: RELAY });
    });

    it('lets the peer\'s probe move a relayed peer to direct, and releases once a handshake proves the path', () => {
      const s = new Scene();
      s.toRelayed();
      s.hear(A1, false);
      expect(s.step(1_000)).toEqual({ ...none, keepalives: [KEY] }); // answered on the direct path at once
      expect(s.path()).toEqual({ publicKey: KEY, state: 'direct', endpoint: A1 });
      s.hear(A1, true);
      expect(s.step(1_000)).toEqual({ ...none, relay: [{ action: 'release', publicKey: KEY }] });
      expect(s.step(1_000)).toEqual(none);
    });

    it('returns to relayed when the peer\'s packets come through the relay again', () => {
      const s = new Scene();
      s.toRelayed();
      s.hear(A1, false);
      s.step(1_000);
      s.hear(RELAY, false);
      expect(s.step(1_000)).toEqual(none);
      expect(s.path()).toEqual({ publicKey: KEY, state: 'relayed', endpoint: RELAY });
    });

    it('sets the relay again when a relayed endpoint changed without anything received (someone else wrote it)', () => {
      const s = new Scene();
      s.toRelayed();
      s.live.endpoint = A1;
      expect(s.step(1_000)).toEqual(moved(RELAY));
      expect(s.path()?.state).toBe('relayed');
    });
  });

  it('leaves a peer without candidates or relay path to dial us, and relays it when a path arrives', () => {
    const s = new Scene();
    s.peers = [{ publicKey: KEY, candidates: [], endpoint: null }];
    s.live.endpoint = null;
    expect(s.step()).toEqual(none);
    s.hear(ELSEWHERE);
    expect(s.step(10_000)).toEqual(none);
    expect(s.path()).toEqual({ publicKey: KEY, state: 'passive', endpoint: ELSEWHERE });
    s.relayPaths = [{ publicKey: KEY, endpoint: RELAY }];
    expect(s.step(1_000)).toEqual(moved(RELAY));
    // Nothing to probe: the peer's own probes move it to direct (roaming).
    expect(s.step(60_000)).toEqual(none);
  });

  it('answers a packet after a probe window of silence from us, once', () => {
    const s = new Scene();
    s.step();
    s.hear();
    s.step(1_000);
    s.sending = false;
    expect(s.step(5_000)).toEqual(none);
    s.hear(undefined, false); // the peer's probe, say
    expect(s.step(1_000)).toEqual({ ...none, keepalives: [KEY] });
    s.hear(undefined, false);
    expect(s.step(1_000)).toEqual(none); // we just answered
    s.sending = true;
    s.hear(undefined, false);
    expect(s.step(5_000)).toEqual(none); // our own traffic answers
  });

  it('uses the endpoint as the only candidate when the config has no candidates', () => {
    const s = new Scene();
    s.peers = [{ publicKey: KEY, candidates: [], endpoint: A2 }];
    expect(s.step()).toEqual(moved(A2));
  });

  it('keeps a relay path the peer asked for while direct until a newer handshake proves the direct path', () => {
    const s = new Scene();
    s.step();
    s.hear();
    s.step(1_000);
    s.relayPaths = [{ publicKey: KEY, endpoint: RELAY }];
    expect(s.step(1_000)).toEqual(none);
    expect(s.step(30_000)).toEqual(none);
    s.hear();
    expect(s.step(1_000)).toEqual({ ...none, relay: [{ action: 'release', publicKey: KEY }] });
    expect(s.path()).toEqual({ publicKey: KEY, state: 'direct', endpoint: A1 });
  });

  it('goes back to trying when a direct peer stops handshaking while a relay path exists', () => {
    const s = new Scene();
    s.step();
    s.hear();
    s.step(1_000);
    s.relayPaths = [{ publicKey: KEY, endpoint: RELAY }]; // the peer asked for one
    expect(s.step(170_000)).toEqual(none);
    expect(s.path()?.state).toBe('direct');
    expect(s.step(11_000)).toEqual(moved(A1));
    expect(s.path()?.state).toBe('trying-direct');
    s.step(5_000);
    expect(s.step(5_000)).toEqual(moved(RELAY));
  });

  it('after a change of candidates, goes back to trying a direct peer that stays silent, not one that answers', () => {
    const s = new Scene();
    s.step();
    s.hear();
    s.step(1_000);
    s.peers = [{ publicKey: KEY, candidates: [ELSEWHERE, A1], endpoint: ELSEWHERE }];
    s.step(1_000);
    s.hear(undefined, false);
    expect(s.step(5_000)).toEqual(none);
    expect(s.path()?.state).toBe('direct');

    s.peers = [{ publicKey: KEY, candidates: [A2], endpoint: A2 }];
    expect(s.step(1_000)).toEqual(none);
    expect(s.step(5_000)).toEqual(moved(A2));
    expect(s.path()?.state).toBe('trying-direct');
  });

  it('compares endpoints as WireGuard prints them', () => {
    expect(sameEndpoint('[2001:DB8:0::1]:51820', '[2001:db8::1]:51820')).toBe(true);
    expect(sameEndpoint('[2001:db8::1]:51820', '[2001:db8::1]:51821')).toBe(false);
    expect(sameEndpoint('203.0.113.10:41641', '203.0.113.10:41641')).toBe(true);
    expect(sameEndpoint(null, '203.0.113.10:41641')).toBe(false);
  });
});

/**
 * Two agents' selectors over a scripted network: the relay always forwards; direct delivery works only while
 * `direct(t)` holds (a NAT that randomises ports does not let it through). Each side keeps alive after 25 s without
 * sending, and a keepalive the selector asks for goes out at once; A may also send every second while B never sends
 * data, the worst case for a probe (nothing from B roams A back to the relay early).
 */
describe('PathSelector pair', () => {
  interface Side { selector: PathSelector; live: LivePeer; peer: DesiredPeer; relay: string; address: string; lastSent: number; released: number }
  const side = (own: string, other: string, relay: string, otherKey: string): Side => ({
    selector: new PathSelector(TIMINGS),
    live: { publicKey: otherKey, endpoint: other, allowedIps: [], persistentKeepalive: 25, latestHandshake: 0, rxBytes: 0, txBytes: 0 },
    peer: { publicKey: otherKey, candidates: [other], endpoint: other },
    relay,
    address: own,
    lastSent: 0,
    released: 0,
  });

  function simulate(seconds: number, direct: (t: number) => boolean, aSendsData: boolean) {
    const a = side('203.0.113.1:51820', '203.0.113.2:51820', '198.51.100.1:40000', 'B');
    const b = side('203.0.113.2:51820', '203.0.113.1:51820', '198.51.100.1:40001', 'A');
    let t = 0;
    let aLost = 0;
    let aLongestLoss = 0;
    const now = () => 1_700_000_000_000 + t * 1000;
    const send = (from: Side): boolean => {
      const to = from === a ? b : a;
      from.lastSent = t;
      let arrived: string | null = null;
      if (sameEndpoint(from.live.endpoint, from.relay)) arrived = to.relay;
      else if (sameEndpoint(from.live.endpoint, to.address) && direct(t)) arrived = from.address;
      from.live.txBytes += 100;
      if (arrived === null) return false;
      to.live.endpoint = arrived; // WireGuard roams to the source of an authenticated packet
      to.live.rxBytes += 100;
      to.live.latestHandshake = Math.floor(now() / 1000);
      return true;
    };
    const stepSide = (s: Side) => {
      const out = s.selector.step({ now: now(), peers: [s.peer], relayPaths: [{ publicKey: s.peer.publicKey, endpoint: s.relay }], live: [s.live] });
      for (const e of out.endpoints) s.live.endpoint = e.endpoint;
      if (out.keepalives.length > 0) send(s);
      s.released += out.relay.filter((r) => r.action === 'release').length;
    };
    for (t = 1; t <= seconds; t++) {
      if (aSendsData) {
        aLost = send(a) ? 0 : aLost + 1;
        if (t > 20) aLongestLoss = Math.max(aLongestLoss, aLost);
      }
      for (const s of [a, b]) if (t - s.lastSent >= 25) send(s);
      stepSide(a);
      if (t >= 7) stepSide(b); // B starts later, so the two probe at different times
    }
    return { a, b, aLongestLoss };
  }

  it('never keeps a relayed session off the relay for longer than the probe window while direct fails', () => {
    const { a, b, aLongestLoss } = simulate(300, () => false, true);
    expect(a.selector.paths()[0].state).toMatch(/relayed|probing-direct/);
    expect(b.selector.paths()[0].state).toMatch(/relayed|probing-direct/);
    expect(aLongestLoss).toBeGreaterThan(0); // the probes did run
    expect(aLongestLoss).toBeLessThanOrEqual(TIMINGS.probeWindowMs / 1000);
    expect(a.released + b.released).toBe(0);
  });

  it.each([
    ['A sends data', true],
    ['both idle', false],
  ])('moves both sides to direct once direct starts working, and releases the relay (%s)', (_, aSendsData) => {
    const { a, b } = simulate(40 + TIMINGS.retryDirectMs / 1000 + 10, (t) => t >= 40, aSendsData);
    expect(a.selector.paths()[0]).toMatchObject({ state: 'direct', endpoint: '203.0.113.2:51820' });
    expect(b.selector.paths()[0]).toMatchObject({ state: 'direct', endpoint: '203.0.113.1:51820' });
    expect(a.released + b.released).toBeGreaterThan(0);
  });
});
