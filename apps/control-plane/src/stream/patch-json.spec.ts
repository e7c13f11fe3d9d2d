import type { ConfigPatch, PeerConfig } from '@meshgate/contracts';
import { patchJsonPieces } from './patch-json';

const patchJson = (patch: ConfigPatch) => Buffer.concat(patchJsonPieces(patch));

const peer = (n: number): PeerConfig =>
  ({ publicKey: `key-${n}`, endpoint: `198.18.0.${n}:51820`, allowedIps: [`100.64.0.${n}/32`], persistentKeepalive: 25, group: 'g1' }) as PeerConfig;

describe('patchJsonPieces', () => {
  it('is the JSON of the patch, whatever it carries', () => {
    const patches: ConfigPatch[] = [
      { version: 2, baseVersion: 1, peersUpserted: [], peersRemoved: [] },
      { version: 3, baseVersion: 2, peersUpserted: [peer(1), peer(2)], peersRemoved: ['key-9'], firewall: [], routes: [] },
      { version: 4, baseVersion: 3, peersUpserted: [peer(3)], peersRemoved: [], servedRoutes: ['10.0.0.0/8'], key: { issuedAt: 'a', expiresAt: null, expired: false } } as ConfigPatch,
    ];
    for (const patch of patches) expect(JSON.parse(patchJson(patch).toString())).toEqual(patch);
  });

  it('serialises a shared entry once and reuses it for every receiver', () => {
    const shared = peer(7);
    const first = patchJson({ version: 2, baseVersion: 1, peersUpserted: [shared], peersRemoved: [] });
    // Were the entry serialised again, this change (never done to an entry in a patch) would show.
    (shared as { endpoint: string }).endpoint = 'changed';
    const second = patchJson({ version: 5, baseVersion: 4, peersUpserted: [shared], peersRemoved: [] });
    expect(JSON.parse(second.toString()).peersUpserted).toEqual(JSON.parse(first.toString()).peersUpserted);
  });
});
