import type { NodeConfig, PeerConfig } from '../contracts';
import { createLogger } from '../logger';
import { MemoryWireGuard } from '../wireguard/testing/memory-wireguard';
import type { PlanStep } from '../wireguard/wireguard-port';
import { PathManager } from './path-manager';

const logger = createLogger({ level: 'error', write: () => undefined });
const KEY = 'PEERKEY';
const A1 = '203.0.113.10:41641';
const A2 = '192.168.1.10:51820';
const RELAY = '198.51.100.1:40000';

const peer: PeerConfig = { publicKey: KEY, endpoint: A1, candidates: [A1, A2], allowedIps: ['100.64.0.2/32'], persistentKeepalive: 25 };
const config = (extra: Partial<NodeConfig> = {}): NodeConfig => ({
  version: 1, interface: { address: '100.64.0.1/10', listenPort: 51820 }, peers: [peer], routes: [], servedRoutes: [], firewall: [], qos: [],
  ...extra,
});

/** The in-memory interface, whose apply can be made to fail. */
class FlakyWireGuard extends MemoryWireGuard {
  failures = 0;
  applied: PlanStep[][] = [];
  /** Runs once, just before the next apply: what happens on the interface between a read and a write. */
  beforeNextApply: (() => void) | null = null;

  override async apply(steps: PlanStep[]) {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('wg: Unable to modify interface');
    }
    this.beforeNextApply?.();
    this.beforeNextApply = null;
    this.applied.push(steps);
    await super.apply(steps);
  }
}

async function setup() {
  const wg = new FlakyWireGuard();
  await wg.create();
  await wg.apply([{ kind: 'upsert-peer', peer, setEndpoint: true }]); // what the reconciler did
  wg.applied = [];
  let now = 1_700_000_000_000;
  const requests: string[] = [];
  const releases: string[] = [];
  let requestFailures = 0;
  const manager = new PathManager({
    wireguard: wg,
    requestRelay: async (key) => {
      if (requestFailures-- > 0) throw new Error('control plane unreachable');
      requests.push(key);
    },
    releaseRelay: async (key) => {
      releases.push(key);
    },
    now: () => now,
    logger,
    timings: { directTimeoutMs: 5_000, probeWindowMs: 3_000, retryDirectMs: 25_000, relayRetryMs: 10_000 },
  });
  const live = () => wg.state!.peers.find((p) => p.publicKey === KEY)!;
  const advance = async (ms: number) => {
    now += ms;
    await manager.tick();
  };
  return {
    wg, manager, requests, releases, live, advance,
    failRequests: (n: number) => {
      requestFailures = n;
    },
    /** A relay path in the config from the start: both candidates time out, then the path is relayed. */
    relayed: async () => {
      manager.update(config({ relayPaths: [{ publicKey: KEY, endpoint: RELAY }] }));
      for (const ms of [0, 5_000, 5_000]) await advance(ms);
    },
  };
}

describe('PathManager', () => {
  it('walks the candidates with set-endpoint steps, asks for a relay, and moves onto the relay path', async () => {
    const { wg, manager, requests, live, advance } = await setup();
    manager.update(config());
    await advance(0);
    expect(wg.applied).toEqual([[
      { kind: 'set-endpoint', publicKey: KEY, endpoint: A1 },
      { kind: 'send-keepalive', publicKey: KEY, persistentKeepalive: 25 },
    ]]);
    expect(manager.paths()).toEqual([{ publicKey: KEY, state: 'trying-direct', endpoint: A1 }]);
    await advance(5_000);
    expect(live().endpoint).toBe(A2);
    expect(wg.keepalives).toEqual([`${KEY} ${A1}`, `${KEY} ${A2}`]);
    await advance(5_000);
    expect(requests).toEqual([KEY]);
    expect(manager.paths()[0].state).toBe('relay-wanted');

    manager.update(config({ version: 2, relayPaths: [{ publicKey: KEY, endpoint: RELAY }] }));
    await advance(1_000);
    expect(live().endpoint).toBe(RELAY);
    expect(manager.paths()).toEqual([{ publicKey: KEY, state: 'relayed', endpoint: RELAY }]);
    expect(requests).toEqual([KEY]);
    // The reconciler's own plan still never writes endpoints this way.
    expect(wg.applied.flat().every((s) => s.kind === 'set-endpoint' || s.kind === 'send-keepalive')).toBe(true);
  });

  it('releases the relay path after a successful probe', async () => {
    const { manager, releases, live, advance, relayed } = await setup();
    await relayed();
    expect(live().endpoint).toBe(RELAY);
    await advance(25_000);
    expect(live().endpoint).toBe(A1);
    live().rxBytes += 32; // the peer's keepalive, straight from A1
    await advance(3_000);
    expect(releases).toEqual([KEY]);
    expect(manager.paths()).toEqual([{ publicKey: KEY, state: 'direct', endpoint: A1 }]);
  });

  it('does not take a relayed packet that came while the probe was being written for the answer to the probe', async () => {
    const { wg, manager, releases, live, advance, relayed } = await setup();
    await relayed();
    expect(live().endpoint).toBe(RELAY);
    wg.beforeNextApply = () => {
      live().rxBytes += 84; // a ping through the relay, after the tick read the peer: WireGuard roams to its source
      live().endpoint = RELAY;
    };
    await advance(25_000); // the probe's write of A1 undoes that roam; the peer sends nothing direct
    expect(live().endpoint).toBe(A1);
    await advance(3_000);
    expect(releases).toEqual([]);
    expect(manager.paths()).toEqual([{ publicKey: KEY, state: 'relayed', endpoint: RELAY }]);
    expect(live().endpoint).toBe(RELAY);
  });

  it('with the peer probing at the same time: answers its probe that came before our write, then goes direct on its answer', async () => {
    const { wg, manager, releases, live, advance, relayed } = await setup();
    await relayed();
    wg.beforeNextApply = () => {
      live().rxBytes += 32; // the peer's probe from A1, just before our own probe's write
      live().endpoint = A1;
    };
    await advance(25_000);
    wg.keepalives = [];
    await advance(1_000); // the peer's probe is answered on the probed path
    expect(wg.keepalives).toEqual([`${KEY} ${A1}`]);
    live().rxBytes += 32; // the peer's answer to ours
    await advance(2_000);
    expect(releases).toEqual([KEY]);
    expect(manager.paths()).toEqual([{ publicKey: KEY, state: 'direct', endpoint: A1 }]);
  });

  it('retries a failed endpoint write before judging, and a failed relay request on the next tick', async () => {
    const { wg, manager, requests, live, advance, failRequests } = await setup();
    manager.update(config());
    await advance(0);
    await advance(5_000);
    wg.failures = 1;
    failRequests(1);
    await advance(5_000); // relay-wanted: the write of A1 and the request both fail
    expect(live().endpoint).toBe(A2);
    expect(requests).toEqual([]);
    await advance(1_000);
    expect(live().endpoint).toBe(A1);
    expect(requests).toEqual([KEY]);
    expect(manager.paths()[0].state).toBe('relay-wanted');
  });

  it('does not create peers the interface does not have, and forgets peers that left the config', async () => {
    const { wg, manager, advance } = await setup();
    const stranger: PeerConfig = { ...peer, publicKey: 'STRANGER', candidates: ['203.0.113.77:51820'], endpoint: '203.0.113.77:51820' };
    manager.update(config({ peers: [peer, stranger] }));
    await advance(0);
    expect(wg.peerKeys()).toEqual([KEY]);
    expect(manager.paths().map((p) => p.publicKey)).toEqual([KEY]);
    manager.update(config({ peers: [] }));
    await advance(1_000);
    expect(manager.paths()).toEqual([]);
  });

  it('ticks on its own between start and stop', async () => {
    jest.useFakeTimers();
    try {
      const { wg, manager } = await setup();
      manager.update(config());
      manager.start(1_000);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(wg.applied).toHaveLength(1);
      await manager.stop();
      await jest.advanceTimersByTimeAsync(10_000);
      expect(wg.applied).toHaveLength(1);
    } finally {
      jest.useRealTimers();
    }
  });
});
