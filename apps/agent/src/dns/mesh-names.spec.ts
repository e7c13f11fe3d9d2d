import type { NodeConfig, PeerConfig } from '../contracts';
import { lookupName, meshNames } from './mesh-names';

const peer = (i: number, fields: Partial<PeerConfig>): PeerConfig =>
  ({ publicKey: `KEY${i}`, endpoint: null, allowedIps: [`100.64.0.${i}/32`, '10.1.0.0/24'], persistentKeepalive: 0, ...fields });

const config = (fields: Partial<NodeConfig> = {}): NodeConfig => ({
  version: 12,
  interface: { address: '100.64.0.7/10', listenPort: 51820 },
  peers: [
    peer(9, { name: 'db-1', group: 'db' }),
    peer(10, { name: 'web-1', group: 'web' }),
    peer(11, { group: 'db' }),
    peer(12, { name: 'nogroup' }),
  ],
  routes: [], servedRoutes: [], firewall: [], qos: [],
  reachableGroups: ['db'],
  dns: { domain: 'Acme.Mesh.', name: 'App-1' },
  ...fields,
});

describe('meshNames', () => {
  it('names the node itself and the peers of reachable groups, by their overlay address', () => {
    const names = meshNames(config());
    expect(names).toEqual({
      domain: 'acme.mesh',
      self: 'app-1.acme.mesh',
      selfAddress: '100.64.0.7',
      serial: 12,
      addresses: new Map([['app-1.acme.mesh', '100.64.0.7'], ['db-1.acme.mesh', '100.64.0.9']]),
    });
  });

  it('is null without dns in the config, and names only the node when no group is reachable', () => {
    expect(meshNames(config({ dns: undefined }))).toBeNull();
    expect([...meshNames(config({ reachableGroups: undefined }))!.addresses.keys()]).toEqual(['app-1.acme.mesh']);
  });

  it('looks names up without case and with or without the trailing dot', () => {
    const names = meshNames(config())!;
    expect(lookupName(names, 'DB-1.acme.MESH.')).toEqual({ kind: 'address', address: '100.64.0.9' });
    expect(lookupName(names, 'web-1.acme.mesh')).toEqual({ kind: 'absent' });
    expect(lookupName(names, 'x.db-1.acme.mesh')).toEqual({ kind: 'absent' });
    expect(lookupName(names, 'acme.mesh.')).toEqual({ kind: 'apex' });
    expect(lookupName(names, 'db-1.acme.mesh.evil')).toEqual({ kind: 'outside' });
    expect(lookupName(names, 'notacme.mesh')).toEqual({ kind: 'outside' });
  });
});
