import type { NodeConfig, PeerConfig } from '../contracts';
import type { LiveInterface, LivePeer } from '../wireguard/wireguard-port';
import { canonicalCidr, exitRoute, planReconcile, unusedExitRoutes } from './plan';

const OWN = 'OWN-KEY';
const peer = (key: string, over: Partial<PeerConfig> = {}): PeerConfig => ({
  publicKey: key, endpoint: `198.18.0.${key.length}:51820`, allowedIps: [`100.64.0.${key.length}/32`], persistentKeepalive: 25, ...over,
});
const livePeer = (p: PeerConfig, over: Partial<LivePeer> = {}): LivePeer => ({
  publicKey: p.publicKey, endpoint: p.endpoint, allowedIps: p.allowedIps, persistentKeepalive: p.persistentKeepalive,
  latestHandshake: 0, rxBytes: 0, txBytes: 0, ...over,
});
const config = (peers: PeerConfig[], over: Partial<NodeConfig> = {}): NodeConfig => ({
  version: 2, interface: { address: '100.64.0.1/10', listenPort: 51820 }, peers, routes: [], servedRoutes: [], firewall: [], qos: [], ...over,
});
const live = (peers: LivePeer[], over: Partial<LiveInterface> = {}): LiveInterface => ({
  publicKey: OWN, listenPort: 51820, up: true, addresses: ['100.64.0.1/10'], routes: [], peers, fwmark: 0, ...over,
});

describe('planReconcile', () => {
  const a = peer('A');
  const b = peer('BB');
  const c = peer('CCC');

  it('plans nothing when the interface already matches', () => {
    expect(planReconcile(config([a, b]), live([livePeer(a), livePeer(b)]), OWN)).toEqual([]);
  });

  it('sets up a fresh interface completely', () => {
    const fresh = live([], { publicKey: null, listenPort: null, up: false, addresses: [] });
    expect(planReconcile(config([a]), fresh, OWN)).toEqual([
      { kind: 'set-private-key' },
      { kind: 'set-listen-port', port: 51820 },
      { kind: 'add-address', address: '100.64.0.1/10' },
      { kind: 'set-link-up' },
      { kind: 'upsert-peer', peer: a, setEndpoint: true },
    ]);
  });

  it('adds, removes and updates single peers and leaves the unchanged ones alone', () => {
    const b2 = { ...b, allowedIps: ['100.64.0.2/32', '10.9.0.0/16'] };
    const steps = planReconcile(config([a, b2, c]), live([livePeer(a), livePeer(b), livePeer(peer('DDDD'))]), OWN);
    expect(steps).toEqual([
      { kind: 'remove-peer', publicKey: 'DDDD' },
      { kind: 'upsert-peer', peer: b2, setEndpoint: false },
      { kind: 'upsert-peer', peer: c, setEndpoint: true },
    ]);
  });

  it('updates keepalive changes and compares allowed IPs as sets of canonical CIDRs', () => {
    const a2 = { ...a, allowedIps: ['10.0.0.5/24', '100.64.0.1/32'] };
    const liveA = livePeer(a, { allowedIps: ['100.64.0.1/32', '10.0.0.0/24'] });
    expect(planReconcile(config([a2]), live([liveA]), OWN)).toEqual([]);
    const a3 = { ...a2, persistentKeepalive: 0 };
    expect(planReconcile(config([a3]), live([liveA]), OWN)).toEqual([{ kind: 'upsert-peer', peer: a3, setEndpoint: false }]);
  });

  it('keeps a roamed endpoint but applies one the control plane changed', () => {
    const roamed = livePeer(a, { endpoint: '203.0.113.9:4000' });
    expect(planReconcile(config([a]), live([roamed]), OWN, config([a]))).toEqual([]);
    const moved = { ...a, endpoint: '198.18.0.99:51820' };
    expect(planReconcile(config([moved]), live([roamed]), OWN, config([a]))).toEqual([{ kind: 'upsert-peer', peer: moved, setEndpoint: true }]);
    expect(planReconcile(config([a]), live([livePeer(a, { endpoint: null })]), OWN)).toEqual([{ kind: 'upsert-peer', peer: a, setEndpoint: true }]);
    const dialsUs = { ...a, endpoint: null };
    expect(planReconcile(config([dialsUs]), live([roamed]), OWN)).toEqual([]);
  });

  it('leaves the endpoint of a peer with candidates to the path manager once the peer has one', () => {
    const steered = { ...a, candidates: [a.endpoint!] };
    const moved = { ...steered, endpoint: '198.18.0.99:51820', candidates: ['198.18.0.99:51820'] };
    expect(planReconcile(config([moved]), live([livePeer(a, { endpoint: '198.51.100.1:40000' })]), OWN, config([steered]))).toEqual([]);
    expect(planReconcile(config([moved]), live([livePeer(a, { endpoint: null })]), OWN, config([steered])))
      .toEqual([{ kind: 'upsert-peer', peer: moved, setEndpoint: true }]);
  });

  it('replaces a changed address and listen port without touching peers', () => {
    const desired = config([a], { interface: { address: '100.64.0.9/10', listenPort: 51821 } });
    expect(planReconcile(desired, live([livePeer(a)]), OWN)).toEqual([
      { kind: 'set-listen-port', port: 51821 },
      { kind: 'remove-address', address: '100.64.0.1/10' },
      { kind: 'add-address', address: '100.64.0.9/10' },
    ]);
  });

  it('never adds itself as a peer and restores a wrong private key', () => {
    expect(planReconcile(config([peer(OWN)]), live([], { publicKey: 'OTHER' }), OWN)).toEqual([{ kind: 'set-private-key' }]);
  });

  it('adds and removes managed routes', () => {
    const desired = config([a], { routes: [{ destination: '10.20.0.0/16', via: '100.64.0.1' }] });
    const aRouting = { ...a, allowedIps: ['100.64.0.1/32', '10.20.0.0/16'] };
    expect(planReconcile(desired, live([livePeer(aRouting)], { routes: ['10.30.0.0/16'] }), OWN)).toEqual([
      { kind: 'remove-route', destination: '10.30.0.0/16' },
      { kind: 'add-route', destination: '10.20.0.0/16' },
    ]);
  });

  it('adds a routed prefix to the AllowedIPs of the peer at the route\'s via, and takes it out again', () => {
    const routed = config([a, b], { routes: [{ destination: '10.77.0.5/24', via: '100.64.0.2/32' }] });
    const aRouting = { ...a, allowedIps: ['100.64.0.1/32'] };
    const bRouting = { ...b, allowedIps: ['100.64.0.2/32', '10.77.0.0/24'] };
    expect(planReconcile(routed, live([livePeer(a), livePeer(b)]), OWN)).toEqual([
      { kind: 'upsert-peer', peer: bRouting, setEndpoint: false },
      { kind: 'add-route', destination: '10.77.0.0/24' },
    ]);
    expect(planReconcile(routed, live([livePeer(aRouting), livePeer(bRouting)], { routes: ['10.77.0.0/24'] }), OWN)).toEqual([]);
    expect(planReconcile(config([a, b]), live([livePeer(a), livePeer(bRouting)], { routes: ['10.77.0.0/24'] }), OWN)).toEqual([
      { kind: 'upsert-peer', peer: b, setEndpoint: false },
      { kind: 'remove-route', destination: '10.77.0.0/24' },
    ]);
  });

  it('leaves out routes via a peer it does not have, and IPv6 exit routes', () => {
    const desired = config([a], { routes: [{ destination: '::/0', via: '100.64.0.1' }, { destination: '10.5.0.0/16', via: '100.64.0.99' }, { destination: '0.0.0.0/0', via: '100.64.0.99' }] });
    expect(planReconcile(desired, live([livePeer(a)]), OWN)).toEqual([]);
    expect(exitRoute(desired)).toBeNull();
    expect(unusedExitRoutes(desired)).toHaveLength(2);
  });

  it('gives an IPv4 exit route to its peer\'s AllowedIPs but installs no main-table route for it', () => {
    const exit = { destination: '0.0.0.0/0', via: '100.64.0.2' };
    const desired = config([a, b], { routes: [exit, { destination: '0.0.0.0/0', via: '100.64.0.1' }] });
    const bExit = { ...b, allowedIps: [...b.allowedIps, '0.0.0.0/0'] };
    expect(exitRoute(desired)).toBe(exit);
    expect(unusedExitRoutes(desired)).toEqual([{ destination: '0.0.0.0/0', via: '100.64.0.1' }]);
    expect(planReconcile(desired, live([livePeer(a), livePeer(b)]), OWN)).toEqual([{ kind: 'upsert-peer', peer: bExit, setEndpoint: false }]);
    expect(planReconcile(desired, live([livePeer(a), livePeer(bExit)]), OWN)).toEqual([]);
    // Gone from the config: the peer loses it again.
    expect(planReconcile(config([a, b]), live([livePeer(a), livePeer(bExit)]), OWN)).toEqual([{ kind: 'upsert-peer', peer: b, setEndpoint: false }]);
  });
});

describe('canonicalCidr', () => {
  it.each([
    ['10.0.0.5/24', '10.0.0.0/24'],
    ['100.64.0.3', '100.64.0.3/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['FD00::1/128', 'fd00::1/128'],
    ['fd00::1', 'fd00::1/128'],
    ['0:0:0:0:0:0:0:0/0', '::/0'],
    [' 10.1.0.0/16 ', '10.1.0.0/16'],
    ['not-a-prefix', 'not-a-prefix'],
  ])('%s → %s', (input, output) => expect(canonicalCidr(input)).toBe(output));
});
