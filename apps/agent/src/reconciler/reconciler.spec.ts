import type { NodeConfig } from '../contracts';
import type { EnforcementPlan, LiveEnforcement } from '../enforcement/enforcement-plan';
import { NO_EXIT_ROUTING } from '../enforcement/exit-routing';
import type { EnforcementPort } from '../enforcement/enforcement-port';
import { createLogger } from '../logger';
import type { LiveInterface, PlanStep, WireGuardPort } from '../wireguard/wireguard-port';
import { Reconciler } from './reconciler';

/** An in-memory interface that applies plan steps to its own state. */
class FakeWireGuard implements WireGuardPort {
  readonly interfaceName = 'mgtest0';
  state: LiveInterface | null = null;
  applied: PlanStep[][] = [];
  creations = 0;

  async read() {
    return this.state && structuredClone(this.state);
  }
  async create() {
    this.creations++;
    this.state = { publicKey: null, listenPort: null, up: false, addresses: [], routes: [], peers: [], fwmark: 0 };
  }
  async apply(steps: PlanStep[]) {
    this.applied.push(steps);
    const s = this.state!;
    for (const step of steps) {
      if (step.kind === 'set-private-key') s.publicKey = 'OWN';
      if (step.kind === 'set-listen-port') s.listenPort = step.port;
      if (step.kind === 'add-address') s.addresses.push(step.address);
      if (step.kind === 'set-link-up') s.up = true;
      if (step.kind === 'remove-peer') s.peers = s.peers.filter((p) => p.publicKey !== step.publicKey);
      if (step.kind === 'upsert-peer') {
        s.peers = s.peers.filter((p) => p.publicKey !== step.peer.publicKey);
        s.peers.push({ ...step.peer, latestHandshake: 0, rxBytes: 0, txBytes: 0 });
      }
    }
  }
  async destroy() {
    this.state = null;
  }
}

const config = (version: number, keys: string[]): NodeConfig => ({
  version,
  interface: { address: '100.64.0.1/10', listenPort: 51820 },
  peers: keys.map((k) => ({ publicKey: k, endpoint: '198.18.0.2:51820', allowedIps: ['100.64.0.2/32'], persistentKeepalive: 0 })),
  routes: [], servedRoutes: [], firewall: [], qos: [],
});

/** Records plans; its live state is whatever the last plan asked for, or what a test sets. */
class FakeEnforcement implements EnforcementPort {
  live: LiveEnforcement = { nft: null, qdisc: { root: null, classes: [] }, ipv4Forwarding: false, exitRouting: NO_EXIT_ROUTING };
  plans: EnforcementPlan[] = [];
  async read() {
    return this.live;
  }
  async apply(plan: EnforcementPlan) {
    this.plans.push(plan);
    if (plan.enableForwarding) this.live = { ...this.live, ipv4Forwarding: true };
  }
  async destroy() {}
}

describe('Reconciler', () => {
  const logger = createLogger({ level: 'error', write: () => undefined });

  it('creates a missing interface, then only applies differences', async () => {
    const wg = new FakeWireGuard();
    let desired: NodeConfig | null = config(1, ['P1', 'P2']);
    const r = new Reconciler(wg, 'OWN', () => desired, logger);
    await r.request('test');
    expect(wg.creations).toBe(1);
    desired = config(2, ['P2', 'P3']);
    await r.request('test');
    expect(wg.applied[1].map((s) => s.kind)).toEqual(['remove-peer', 'upsert-peer']);
    await r.request('drift-check');
    expect(wg.applied).toHaveLength(2);
  });

  it('repairs drift: a peer removed by hand and a deleted interface', async () => {
    const wg = new FakeWireGuard();
    const r = new Reconciler(wg, 'OWN', () => config(1, ['P1', 'P2']), logger);
    await r.request('start');
    wg.state!.peers = wg.state!.peers.filter((p) => p.publicKey !== 'P1');
    await r.request('drift-check');
    expect(wg.state!.peers.map((p) => p.publicKey).sort()).toEqual(['P1', 'P2']);
    await wg.destroy();
    await r.request('drift-check');
    expect(wg.creations).toBe(2);
    expect(wg.state!.peers).toHaveLength(2);
  });

  it('without a config only sets the key and link, leaving existing peers', async () => {
    const wg = new FakeWireGuard();
    await wg.create();
    wg.state!.peers = [{ publicKey: 'KEEP', endpoint: null, allowedIps: [], persistentKeepalive: 0, latestHandshake: 0, rxBytes: 0, txBytes: 0 }];
    await new Reconciler(wg, 'OWN', () => null, logger).request('start');
    expect(wg.state).toMatchObject({ publicKey: 'OWN', up: true });
    expect(wg.state!.peers).toHaveLength(1);
  });

  it('applies the policy part of the config through the enforcement port', async () => {
    const wg = new FakeWireGuard();
    const enforcement = new FakeEnforcement();
    const desired = { ...config(1, ['P1']), servedRoutes: ['10.77.0.0/24'] };
    const r = new Reconciler(wg, 'OWN', () => desired, logger, enforcement);
    await r.request('start');
    expect(enforcement.plans).toHaveLength(1);
    expect(enforcement.plans[0].enableForwarding).toBe(true);
    expect(enforcement.plans[0].nft).toContain('add table inet meshgate_mgtest0');
    expect(enforcement.plans[0].nft).toContain('masquerade');
  });

  it('folds requests made during a run into one more run with the newest config', async () => {
    const wg = new FakeWireGuard();
    let desired = config(1, ['P1']);
    const r = new Reconciler(wg, 'OWN', () => desired, logger);
    const versions: Array<number | null> = [];
    r.onApplied((o) => versions.push(o.config?.version ?? null));
    const first = r.request('a');
    desired = config(2, ['P2']);
    r.request('b');
    desired = config(3, ['P3']);
    r.request('c');
    await first;
    await r.idle();
    expect(versions).toEqual([1, 3]);
    expect(wg.state!.peers.map((p) => p.publicKey)).toEqual(['P3']);
  });
});
