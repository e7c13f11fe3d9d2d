import type { TopologyNodeView } from '@meshgate/contracts';

export interface Point { x: number; y: number }

export interface GraphLayout {
  positions: Map<string, Point>;
  /** Each tag group's label position (groups sit on a circle, nodes in a grid inside their group). */
  groups: Array<{ name: string; centre: Point; label: Point; nodeIds: string[] }>;
  /** The group (first tag, or "untagged") of each node. */
  groupOf: Map<string, string>;
  nodeRadius: number;
  /** Show node names under the dots (only while there are few enough to read). */
  labels: boolean;
  viewBox: { x: number; y: number; width: number; height: number };
}

const UNTAGGED = 'untagged';

/**
 * A force-free layout, linear in the number of nodes: nodes grouped by their first tag, each group a square grid,
 * the groups spaced around a circle in name order. The same mesh always gets the same picture.
 */
export function layoutByTag(nodes: TopologyNodeView[]): GraphLayout {
  const dense = nodes.length > 150;
  const spacing = dense ? 16 : 90;
  const nodeRadius = dense ? 5 : 16;
  const byGroup = new Map<string, TopologyNodeView[]>();
  const groupOf = new Map<string, string>();
  for (const node of nodes) {
    const group = node.tags[0] ?? UNTAGGED;
    groupOf.set(node.id, group);
    const members = byGroup.get(group);
    if (members) members.push(node);
    else byGroup.set(group, [node]);
  }
  const names = [...byGroup.keys()].sort();
  const clusters = names.map((name) => {
    const members = byGroup.get(name)!.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const columns = Math.ceil(Math.sqrt(members.length));
    // Half the grid's diagonal: a circle the whole square fits in.
    return { name, members, columns, radius: (columns * spacing) / Math.SQRT2 };
  });
  // Each group gets a share of the circle as wide as it is; the circle is then made large enough that no two groups'
  // circles overlap (checked for every pair when there are few groups, for neighbours otherwise: linear).
  const gap = spacing * 1.5;
  const circumference = clusters.reduce((sum, c) => sum + 2 * c.radius + gap, 0);
  const angles: number[] = [];
  let along = 0;
  for (const cluster of clusters) {
    angles.push(((along + cluster.radius + gap / 2) / circumference) * 2 * Math.PI - Math.PI / 2);
    along += 2 * cluster.radius + gap;
  }
  let ring = clusters.length === 1 ? 0 : Math.max(circumference / (2 * Math.PI), spacing);
  const separate = (i: number, j: number) => {
    const chord = 2 * Math.sin(Math.abs(angles[i] - angles[j]) / 2);
    if (chord > 1e-9) ring = Math.max(ring, (clusters[i].radius + clusters[j].radius + gap) / chord);
  };
  if (clusters.length <= 200) {
    for (let i = 0; i < clusters.length; i++) for (let j = i + 1; j < clusters.length; j++) separate(i, j);
  } else {
    for (let i = 0; i < clusters.length; i++) separate(i, (i + 1) % clusters.length);
  }
  const positions = new Map<string, Point>();
  const groups: GraphLayout['groups'] = [];
  clusters.forEach((cluster, index) => {
    const angle = angles[index];
    const cx = ring * Math.cos(angle);
    const cy = ring * Math.sin(angle);
    const rows = Math.ceil(cluster.members.length / cluster.columns);
    cluster.members.forEach((node, i) => {
      const column = i % cluster.columns;
      const row = Math.floor(i / cluster.columns);
      positions.set(node.id, {
        x: cx + (column - (cluster.columns - 1) / 2) * spacing,
        y: cy + (row - (rows - 1) / 2) * spacing,
      });
    });
    // Labels outside the circle (above the upper groups, below the lower ones), clear of the peerings between groups.
    const half = (rows * spacing) / 2;
    const labelY = cy > 1e-6 ? cy + half + nodeRadius + (dense ? 8 : 36) : cy - half - nodeRadius;
    groups.push({ name: cluster.name, centre: { x: cx, y: cy }, label: { x: cx, y: labelY }, nodeIds: cluster.members.map((n) => n.id) });
  });
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const p of positions.values()) {
    minX = Math.min(minX, p.x); maxX = Math.max(maxX, p.x);
    minY = Math.min(minY, p.y); maxY = Math.max(maxY, p.y);
  }
  for (const g of groups) {
    minY = Math.min(minY, g.label.y);
    maxY = Math.max(maxY, g.label.y);
  }
  if (positions.size === 0) minX = minY = maxX = maxY = 0;
  const margin = spacing;
  return {
    positions, groups, groupOf, nodeRadius, labels: !dense,
    viewBox: { x: minX - margin, y: minY - margin, width: maxX - minX + 2 * margin, height: maxY - minY + 2 * margin },
  };
}
