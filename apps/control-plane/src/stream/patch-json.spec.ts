import type { ConfigPatch, FirewallRule, PeerConfig } from '@meshgate/contracts';
import { eventFrameBytes } from '../common/event-stream';
import { patchJsonPieces } from './patch-json';

/** The frame's data line, parsed: what an agent reads. */
const sent = (patch: ConfigPatch): unknown => {
  const frame = eventFrameBytes('patch', patch.version, patchJsonPieces(patch)).toString();
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
});
