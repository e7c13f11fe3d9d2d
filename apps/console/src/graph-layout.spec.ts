import type { TopologyNodeView } from '@meshgate/contracts';
import { layoutByTag } from './graph-layout';

const node = (name: string, tags: string[]): TopologyNodeView => ({
  id: `id-${name}`, name, address: '100.64.0.1', status: 'online', endpoint: null, tags, owner: null, lastSeenAt: null, keyExpired: false,
});
const mesh = (sizes: Record<string, number>) =>
  Object.entries(sizes).flatMap(([tag, n]) => Array.from({ length: n }, (_, i) => node(`${tag.replace('tag:', '')}-${i}`, tag === 'untagged' ? [] : [tag])));

/** Squares around each group's nodes, one node radius out. */
function boxes(layout: ReturnType<typeof layoutByTag>) {
  return layout.groups.map((g) => {
    const points = g.nodeIds.map((id) => layout.positions.get(id)!);
    const xs = points.map((p) => p.x);
    const ys = points.map((p) => p.y);
    const r = layout.nodeRadius;
    return { name: g.name, x0: Math.min(...xs) - r, x1: Math.max(...xs) + r, y0: Math.min(...ys) - r, y1: Math.max(...ys) + r };
  });
}

describe('layoutByTag (the mesh graph\u2019s force-free layout)', () => {
  it.each([
    ['three single nodes', { 'tag:web': 1, 'tag:db': 1, 'tag:ops': 1 }],
    ['one big group and one small (1,000 nodes)', { 'tag:edge': 990, 'tag:hub': 10 }],
    ['many groups of mixed sizes', { 'tag:a': 400, 'tag:b': 3, 'tag:c': 150, 'tag:d': 1, 'tag:e': 60, untagged: 20 }],
  ])('places every node once and keeps the groups apart: %s', (_, sizes) => {
    const nodes = mesh(sizes);
    const layout = layoutByTag(nodes);
    expect(layout.positions.size).toBe(nodes.length);
    const seen = new Set([...layout.positions.values()].map((p) => `${p.x.toFixed(3)},${p.y.toFixed(3)}`));
    expect(seen.size).toBe(nodes.length);
    const all = boxes(layout);
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) {
        const [a, b] = [all[i], all[j]];
        const overlap = a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
        expect([a.name, b.name, overlap]).toEqual([a.name, b.name, false]);
      }
    }
    // Everything is inside the view box.
    const { x, y, width, height } = layout.viewBox;
    for (const p of layout.positions.values()) {
      expect(p.x).toBeGreaterThanOrEqual(x);
      expect(p.x).toBeLessThanOrEqual(x + width);
      expect(p.y).toBeGreaterThanOrEqual(y);
      expect(p.y).toBeLessThanOrEqual(y + height);
    }
  });

  it('groups by the first tag, untagged nodes together, the same picture for the same nodes in any order', () => {
    const nodes = [node('a', ['tag:web', 'tag:prod']), node('b', ['tag:web']), node('c', []), node('d', ['tag:db'])];
    const layout = layoutByTag(nodes);
    expect(layout.groups.map((g) => [g.name, g.nodeIds])).toEqual([['tag:db', ['id-d']], ['tag:web', ['id-a', 'id-b']], ['untagged', ['id-c']]]);
    expect(layoutByTag([...nodes].reverse()).positions).toEqual(layout.positions);
    expect(layout.labels).toBe(true);
    expect(layoutByTag(mesh({ 'tag:x': 151 })).labels).toBe(false);
  });
});
