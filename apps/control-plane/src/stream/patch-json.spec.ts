import type { ConfigPatch, FirewallRule, PeerConfig } from '@meshgate/contracts';
import { eventFrameBuffers } from '../common/event-stream';
import { PeerRemovals, PeerUpserts, type Peer } from '@meshgate/domain';
import { patchJsonPieces } from './patch-json';

/** The frame's data line, parsed: what an agent reads. */
const sent = (patch: ConfigPatch): unknown => {
  const frame = Buffer.concat(eventFrameBuffers('patch', patch.version, patchJsonPieces(patch))).toString();
  expect(frame.startsWith(`event: patch\nid: ${patch.version}\ndata: `) && frame.endsWith('\n\n')).toBe(true);
  return JSON.parse(frame.slice(frame.indexOf('data: ') + 'data: '.length));
};

const peer = (n: number): PeerConfig =>
  ({ publicKey: `key-${n}`, endpoint: `198.18.0.${n}:51820`, allowedIps: [`100.64.0.${n}/32`], persistentKeepalive: 25, group: 'g1' }) as PeerConfig;
const rules = (count: number): FirewallRule[] =>
  Array.from({ length: count }, (_, i) => ({ action: 'accept', srcGroups: [`g${i}`], src: [], proto: 'tcp', ports: String(1000 + i) }));

describe('patchJsonPieces', () => {
  it('is the JSON of the patch, whatever it carries, small or large', () => {
    const patches: ConfigPatch[] = [
      { version: 2, baseVersion: 1, peersUpserted: [], peersRemoved: [] },
      { version: 3, baseVersion: 2, peersUpserted: [peer(1), peer(2)], peersRemoved: ['key-9'], firewall: [], routes: [] },
      { version: 4, baseVersion: 3, peersUpserted: [peer(3)], peersRemoved: [], servedRoutes: ['10.0.0.0/8'], key: { issuedAt: 'a', expiresAt: null, expired: false } } as ConfigPatch,
      // Many peers and a long rule list go as shared bytes between the receiver's own text.
      { version: 5, baseVersion: 4, peersUpserted: Array.from({ length: 40 }, (_, i) => peer(i)), peersRemoved: ['key-1'], firewall: rules(30), qos: [] },
      { version: 6, baseVersion: 5, peersUpserted: [], peersRemoved: [], firewall: rules(30), routes: [], reachableGroups: ['g1'] },
    ];
    for (const patch of patches) expect(sent(patch)).toEqual(patch);
  });

  it('serialises a shared entry or rule list once and reuses it for every receiver', () => {
    const entry = peer(7);
    const many = Array.from({ length: 20 }, (_, i) => peer(100 + i));
    const [small, large] = [rules(1), rules(30)];
    const first = sent({ version: 2, baseVersion: 1, peersUpserted: [entry], peersRemoved: [], firewall: small, qos: [] }) as ConfigPatch;
    const firstMany = sent({ version: 2, baseVersion: 1, peersUpserted: many, peersRemoved: [], firewall: large }) as ConfigPatch;
    // Were they serialised again, these changes (never done to an object in a patch) would show.
    (entry as { endpoint: string }).endpoint = 'changed';
    (many[3] as { endpoint: string }).endpoint = 'changed';
    small[0].ports = '1';
    large[0].ports = '1';
    const second = sent({ version: 5, baseVersion: 4, peersUpserted: [entry], peersRemoved: [], firewall: small, qos: [] }) as ConfigPatch;
    const secondMany = sent({ version: 5, baseVersion: 4, peersUpserted: many, peersRemoved: [], firewall: large }) as ConfigPatch;
    expect([second.peersUpserted, second.firewall]).toEqual([first.peersUpserted, first.firewall]);
    expect([secondMany.peersUpserted, secondMany.firewall]).toEqual([firstMany.peersUpserted, firstMany.firewall]);
  });

  it('sends shared lists of peers and of removed keys (a group opened or closed to many receivers) less the receiver\'s own entry', () => {
    const group = Array.from({ length: 30 }, (_, i) => peer(i)) as unknown as Peer[];
    const other = Array.from({ length: 3 }, (_, i) => peer(50 + i)) as unknown as Peer[];
    const upsertsOf = (own: Peer[], except: number) => {
      const upserts = new PeerUpserts(own);
      upserts.addShared(group, except);
      upserts.addShared(other, -1);
      return upserts.list();
    };
    for (const [own, except] of [[[], -1], [[], 0], [[], 29], [[], 13], [[peer(90), peer(91)], 5]] as Array<[Peer[], number]>) {
      const peers = upsertsOf(own, except) as unknown as PeerConfig[];
      const removals = new PeerRemovals(own.map((p) => `gone-${p.publicKey}`));
      removals.addShared(group.map((p) => p.publicKey), except);
      const patch: ConfigPatch = { version: 9, baseVersion: 8, peersUpserted: peers, peersRemoved: removals.list(), firewall: rules(2) };
      const expected = [...own, ...group.filter((_, i) => i !== except), ...other];
      const removedKeys = [...own.map((p) => `gone-${p.publicKey}`), ...group.filter((_, i) => i !== except).map((p) => p.publicKey)];
      expect(sent(patch)).toEqual({ ...patch, peersUpserted: expected, peersRemoved: removedKeys });
    }
  });

  it('frames a large shared list by passing its bytes on, not copying them, for every receiver', () => {
    const group = Array.from({ length: 300 }, (_, i) => peer(i)) as unknown as Peer[];
    const frames = [0, 7].map((except) => {
      const upserts = new PeerUpserts();
      upserts.addShared(group, except);
      const patch: ConfigPatch = { version: 3, baseVersion: 2, peersUpserted: upserts.list() as unknown as PeerConfig[], peersRemoved: [] };
      const buffers = eventFrameBuffers('patch', patch.version, patchJsonPieces(patch));
      expect(JSON.parse(Buffer.concat(buffers).toString().split('data: ')[1])).toEqual(patch);
      return buffers;
    });
    // The list's bytes (~25 KB), one copy in memory behind both receivers' frames.
    const large = frames.map((buffers) => buffers.filter((b) => b.length >= 16 * 1024));
    expect(large.map((l) => l.length)).toEqual([1, 1]);
    expect(large[0][0].buffer).toBe(large[1][0].buffer);
  });
});

