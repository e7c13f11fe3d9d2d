import { PeerRemovals, PeerUpserts } from './shared-lists';
import type { Peer } from './topology';

const peer = (n: number, endpoint: string | null = null): Peer =>
  ({ publicKey: `pk-${n}`, name: `n${n}`, address: `100.64.0.${n}`, endpoint, candidates: [], group: 'g' }) as unknown as Peer;

describe('PeerUpserts and PeerRemovals (shared lists)', () => {
  const group = [peer(1), peer(2), peer(3)];
  const other = [peer(7), peer(8)];

  it('lists shared entries after those set before them, less the receiver\'s own, without building a map', () => {
    const upserts = new PeerUpserts([peer(0)]);
    upserts.addShared(group, 1);
    upserts.addShared(other, -1);
    expect(upserts.size).toBe(5);
    expect(upserts.list().map((p) => p.publicKey)).toEqual(['pk-0', 'pk-1', 'pk-3', 'pk-7', 'pk-8']);
    // The very objects of the shared lists: serialised once downstream for every receiver.
    expect(upserts.list()[1]).toBe(group[0]);
  });

  it('behaves as a map of every entry once read or written by key', () => {
    const upserts = new PeerUpserts();
    upserts.addShared(group, 0);
    upserts.addShared([peer(9)], 0); // only the receiver itself: nothing
    expect(upserts.size).toBe(2);
    expect(upserts.has('pk-1')).toBe(false);
    expect(upserts.get('pk-3')).toBe(group[2]);
    upserts.set('pk-2', peer(2, '198.51.100.2:51820'));
    upserts.set('pk-5', peer(5));
    expect(upserts.delete('pk-3')).toBe(true);
    expect([...upserts.keys()]).toEqual(['pk-2', 'pk-5']);
    expect(upserts.list().map((p) => p.endpoint)).toEqual(['198.51.100.2:51820', null]);
    expect([...upserts].map(([key]) => key)).toEqual([...upserts.values()].map((p) => p.publicKey));
    expect(upserts.size).toBe(2);
  });

  it('gives the same entries, in the same order, as setting each one would', () => {
    const shared = new PeerUpserts([peer(0)]);
    shared.addShared(group, 2);
    shared.addShared(other, -1);
    const one = new Map<string, Peer>([['pk-0', peer(0)]]);
    for (const p of [group[0], group[1], ...other]) one.set(p.publicKey, p);
    expect(shared.list()).toEqual([...one.values()]);
    expect([...shared]).toEqual([...one]);
  });

  it('removals: a set of keys, shared lists in it as if each key had been added', () => {
    const keys = ['pk-1', 'pk-2', 'pk-3'];
    const removals = new PeerRemovals(['pk-0']);
    removals.addShared(keys, 2);
    expect(removals.size).toBe(3);
    expect(removals.list()).toEqual(['pk-0', 'pk-1', 'pk-2']);
    const again = new PeerRemovals();
    again.addShared(keys, -1);
    expect(again.has('pk-3')).toBe(true);
    again.add('pk-9');
    expect(again.delete('pk-1')).toBe(true);
    expect([...again]).toEqual(['pk-2', 'pk-3', 'pk-9']);
    expect(again.size).toBe(3);
  });
});

