import { applyPatch, ConfigPatch, NodeConfig, PeerConfig } from './config';

const peer = (key: string, endpoint: string | null = null, ip = '100.64.0.9'): PeerConfig => ({
  publicKey: key, endpoint, allowedIps: [`${ip}/32`], persistentKeepalive: 25,
});
const base = (): NodeConfig => ({
  version: 3,
  interface: { address: '100.64.0.1/10', listenPort: 51820 },
  peers: [peer('a', '192.0.2.1:1', '100.64.0.2'), peer('c', null, '100.64.0.3'), peer('e', '192.0.2.5:5', '100.64.0.5')],
  routes: [{ destination: '10.0.0.0/8', via: '100.64.0.3' }],
  servedRoutes: [],
  firewall: [{ action: 'accept', srcGroups: ['g1'], src: [], proto: 'tcp', ports: '22' }],
  qos: [{ dstGroups: ['g2'], dst: [], rateMbit: 10 }],
});
const patch = (overrides: Partial<ConfigPatch>): ConfigPatch => ({ version: 4, baseVersion: 3, peersUpserted: [], peersRemoved: [], ...overrides });

describe('applyPatch', () => {
  it('refuses a patch that does not follow the config\u2019s version', () => {
    expect(() => applyPatch(base(), patch({ baseVersion: 2 }))).toThrow('patch base 2 does not follow version 3');
    expect(() => applyPatch(base(), patch({ baseVersion: 4, version: 5 }))).toThrow(/does not follow/);
  });

  it('moves to the patch\u2019s version', () => {
    expect(applyPatch(base(), patch({ version: 9 })).version).toBe(9);
  });

  it('adds new peers and keeps the list sorted by public key', () => {
    const next = applyPatch(base(), patch({ peersUpserted: [peer('d'), peer('0'), peer('b')] }));
    expect(next.peers.map((p) => p.publicKey)).toEqual(['0', 'a', 'b', 'c', 'd', 'e']);
    expect(next.peers.find((p) => p.publicKey === 'd')).toEqual(peer('d'));
  });

  it('replaces an upserted peer rather than duplicating it', () => {
    const next = applyPatch(base(), patch({ peersUpserted: [peer('c', '198.51.100.3:3', '100.64.0.3')] }));
    expect(next.peers).toHaveLength(3);
    expect(next.peers[1]).toEqual(peer('c', '198.51.100.3:3', '100.64.0.3'));
  });

  it('removes peers by public key, ignoring keys it does not hold', () => {
    const next = applyPatch(base(), patch({ peersRemoved: ['a', 'e', 'zz'] }));
    expect(next.peers).toEqual([peer('c', null, '100.64.0.3')]);
  });

  it('applies removals and upserts together', () => {
    const next = applyPatch(base(), patch({ peersRemoved: ['a'], peersUpserted: [peer('b'), peer('e', null, '100.64.0.5')] }));
    expect(next.peers).toEqual([peer('b'), peer('c', null, '100.64.0.3'), peer('e', null, '100.64.0.5')]);
  });

  it('keeps the interface unless the patch carries one', () => {
    expect(applyPatch(base(), patch({})).interface).toEqual(base().interface);
    const iface = { address: '100.64.0.1/10', listenPort: 41641 };
    expect(applyPatch(base(), patch({ interface: iface })).interface).toEqual(iface);
  });

  it('carries routes, firewall and qos over untouched', () => {
    const next = applyPatch(base(), patch({ peersUpserted: [peer('b')] }));
    expect(next.routes).toEqual(base().routes);
    expect(next.firewall).toEqual(base().firewall);
    expect(next.qos).toEqual(base().qos);
  });

  it('replaces routes, served routes, firewall and qos when the patch carries them', () => {
    const firewall = [{ action: 'accept' as const, srcGroups: [], src: ['10.9.0.0/24'], proto: 'udp', dst: ['10.1.0.0/24'] }];
    const next = applyPatch(base(), patch({ routes: [], servedRoutes: ['10.1.0.0/24'], firewall, qos: [] }));
    expect(next.routes).toEqual([]);
    expect(next.servedRoutes).toEqual(['10.1.0.0/24']);
    expect(next.firewall).toEqual(firewall);
    expect(next.qos).toEqual([]);
    expect(next.peers).toEqual(base().peers);
  });

  it('an empty patch changes only the version', () => {
    expect(applyPatch(base(), patch({}))).toEqual({ ...base(), version: 4 });
  });

  it('does not mutate the config it is given', () => {
    const config = base();
    const snapshot = JSON.parse(JSON.stringify(config));
    applyPatch(config, patch({ peersRemoved: ['a'], peersUpserted: [peer('b'), peer('c', '203.0.113.1:1')], interface: { address: 'x', listenPort: 1 } }));
    expect(config).toEqual(snapshot);
  });

  it('a chain of patches lands where the sender is', () => {
    let config = base();
    config = applyPatch(config, { version: 4, baseVersion: 3, peersUpserted: [peer('b')], peersRemoved: [] });
    config = applyPatch(config, { version: 7, baseVersion: 4, peersUpserted: [], peersRemoved: ['c', 'b'] });
    config = applyPatch(config, { version: 8, baseVersion: 7, peersUpserted: [peer('a', null, '100.64.0.2')], peersRemoved: [] });
    expect(config.version).toBe(8);
    expect(config.peers).toEqual([peer('a', null, '100.64.0.2'), peer('e', '192.0.2.5:5', '100.64.0.5')]);
    expect(() => applyPatch(config, { version: 9, baseVersion: 7, peersUpserted: [], peersRemoved: [] })).toThrow();
  });
});
