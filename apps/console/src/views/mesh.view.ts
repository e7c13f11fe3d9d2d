import type { TopologyEdgeView, TopologyNodeView } from '@meshgate/contracts';
import { ApiError } from '../api-client';
import { h, s, when } from '../dom';
import { GraphLayout, layoutByTag } from '../graph-layout';
import { linkState, loadMesh, Mesh, reachability } from '../topology-source';
import { announce, View } from './view';

/** How often the graph asks for fresh heartbeat state while it is on screen (less often when a fetch is slow). */
const REFRESH_MS = 5000;
/** Up to this many peerings, each is an element of its own (arrows, in-place restyling, its id on it). */
const MAX_EDGE_ELEMENTS = 1000;
/** Above it, one path per kind of peering; above this many, lines between tag groups (as thick as they are full). */
const MAX_NODE_EDGES = 20_000;

const describeNode = (n: TopologyNodeView, links: number) =>
  `${n.name}, ${n.status}${n.keyExpired ? ', key expired' : ''}${n.tags.length ? `, ${n.tags.join(' ')}` : ''}, ${links} peering${links === 1 ? '' : 's'}`;

function edgeClass(edge: TopologyEdgeView): string {
  const reach = reachability(edge);
  return `edge state-${linkState(edge)} reach-${reach === 'both' ? 'both' : reach === 'none' ? 'none' : 'one-way'}`;
}

/** Map from node id to its peerings, built once per load: O(edges). */
function edgesByNode(mesh: Mesh): Map<string, TopologyEdgeView[]> {
  const index = new Map<string, TopologyEdgeView[]>();
  const add = (id: string, edge: TopologyEdgeView) => {
    const list = index.get(id);
    if (list) list.push(edge);
    else index.set(id, [edge]);
  };
  for (const edge of mesh.edges) {
    add(edge.a.nodeId, edge);
    add(edge.b.nodeId, edge);
  }
  return index;
}

function drawEdges(mesh: Mesh, layout: GraphLayout): SVGGElement {
  const group = s('g', { class: 'edges', 'aria-hidden': 'true' });
  if (mesh.edges.length <= MAX_EDGE_ELEMENTS) {
    for (const edge of mesh.edges) {
      const a = layout.positions.get(edge.a.nodeId);
      const b = layout.positions.get(edge.b.nodeId);
      if (!a || !b) continue;
      const reach = reachability(edge);
      // One-way peerings point from the end that may open connections.
      const [from, to] = reach === 'b-to-a' ? [b, a] : [a, b];
      group.append(s('line', {
        class: edgeClass(edge), 'data-edge': edge.id, x1: from.x, y1: from.y, x2: to.x, y2: to.y,
        'marker-end': reach === 'a-to-b' || reach === 'b-to-a' ? 'url(#arrow)' : undefined,
      }));
    }
    return group;
  }
  if (mesh.edges.length <= MAX_NODE_EDGES) {
    // Thousands of lines as a few paths: a fraction of the elements to build, style and paint.
    const byKind = new Map<string, string[]>();
    for (const edge of mesh.edges) {
      const a = layout.positions.get(edge.a.nodeId);
      const b = layout.positions.get(edge.b.nodeId);
      if (!a || !b) continue;
      const kind = edgeClass(edge);
      const segments = byKind.get(kind) ?? [];
      segments.push(`M${a.x.toFixed(1)} ${a.y.toFixed(1)}L${b.x.toFixed(1)} ${b.y.toFixed(1)}`);
      byKind.set(kind, segments);
    }
    for (const [kind, segments] of byKind) group.append(s('path', { class: `${kind} merged`, d: segments.join(''), 'data-edges': segments.length }));
    return group;
  }
  const bundles = new Map<string, { a: string; b: string; count: number; up: number }>();
  for (const edge of mesh.edges) {
    const ga = layout.groupOf.get(edge.a.nodeId)!;
    const gb = layout.groupOf.get(edge.b.nodeId)!;
    const [a, b] = ga < gb ? [ga, gb] : [gb, ga];
    const key = `${a}\u0000${b}`;
    const bundle = bundles.get(key) ?? { a, b, count: 0, up: 0 };
    bundle.count++;
    if (edge.up) bundle.up++;
    bundles.set(key, bundle);
  }
  const centre = new Map(layout.groups.map((g) => [g.name, g.centre]));
  for (const bundle of bundles.values()) {
    const a = centre.get(bundle.a)!;
    const b = centre.get(bundle.b)!;
    group.append(s('line', {
      class: `edge bundle state-${bundle.up > 0 ? 'up' : 'unreported'}`, x1: a.x, y1: a.y, x2: b.x, y2: b.y,
      'stroke-width': Math.min(12, 1 + Math.log2(bundle.count)),
    }));
  }
  return group;
}

function drawNodes(mesh: Mesh, layout: GraphLayout, links: Map<string, TopologyEdgeView[]>): SVGGElement {
  const group = s('g', { class: 'nodes' });
  mesh.nodes.forEach((node, i) => {
    const p = layout.positions.get(node.id)!;
    const g = s('g', {
      class: `node status-${node.status}${node.keyExpired ? ' key-expired' : ''}`, transform: `translate(${p.x} ${p.y})`,
      role: 'button', tabindex: i === 0 ? 0 : -1, 'data-node': node.id, 'data-index': i,
      'aria-label': describeNode(node, links.get(node.id)?.length ?? 0),
    }, s('circle', { r: layout.nodeRadius }));
    if (layout.labels) g.append(s('text', { y: layout.nodeRadius + 14, 'text-anchor': 'middle' }, node.name));
    else g.append(s('title', {}, node.name));
    group.append(g);
  });
  return group;
}

function drawGraph(mesh: Mesh, layout: GraphLayout, links: Map<string, TopologyEdgeView[]>): SVGSVGElement {
  const { x, y, width, height } = layout.viewBox;
  const up = mesh.edges.filter((e) => e.up).length;
  const svg = s('svg', {
    class: 'mesh-graph', viewBox: `${x} ${y} ${width} ${height}`, preserveAspectRatio: 'xMidYMid meet', role: 'group',
    'aria-label': `Mesh graph: ${mesh.nodes.length} nodes, ${mesh.edges.length} peerings, ${up} up. Arrow keys move between nodes, Enter shows one.`,
  },
  s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10 + layout.nodeRadius, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' },
    s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' }))),
  drawEdges(mesh, layout),
  s('g', { class: 'groups', 'aria-hidden': 'true' }, ...layout.groups.map((g) =>
    s('text', { class: 'group-label', x: g.label.x, y: g.label.y, 'text-anchor': 'middle' }, `${g.name} (${g.nodeIds.length})`))),
  drawNodes(mesh, layout, links));
  return svg;
}

function details(node: TopologyNodeView, links: TopologyEdgeView[]): HTMLElement[] {
  const rows: Array<[string, string]> = [
    ['Address', node.address], ['Status', node.status + (node.keyExpired ? ' (key expired)' : '')], ['Tags', node.tags.join(' ') || '—'],
    ['Endpoint', node.endpoint ?? '—'], ['Last seen', when(node.lastSeenAt)],
  ];
  return [
    h('h2', {}, node.name),
    h('dl', {}, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('h3', {}, `Peerings (${links.length})`),
    h('ul', { class: 'peerings' }, ...links.map((edge) => {
      const [self, other] = edge.a.nodeId === node.id ? [edge.a, edge.b] : [edge.b, edge.a];
      const state = linkState(edge);
      const handshake = self.live?.lastHandshakeAt ?? other.live?.lastHandshakeAt ?? null;
      return h('li', { class: `state-${state}` },
        h('strong', {}, other.name), ` — ${state}${handshake ? `, last handshake ${when(handshake)}` : ''}; `,
        `${node.name} may open ${self.reach}, ${other.name} may open ${other.reach}`,
        self.routesVia.length ? `; routes ${self.routesVia.join(', ')} through ${other.name}` : '');
    })),
  ];
}

export const meshView: View = {
  title: 'Mesh',
  render(main) {
    const summary = h('p', { class: 'summary' }, 'Loading the mesh…');
    const canvas = h('div', { class: 'graph-canvas' });
    const panel = h('aside', { class: 'node-details card', 'aria-label': 'Selected node' }, h('p', {}, 'Select a node to see its peerings.'));
    const legend = h('ul', { class: 'legend', 'aria-label': 'Legend' },
      h('li', { class: 'status-online' }, 'online'), h('li', { class: 'status-offline' }, 'offline'), h('li', { class: 'status-pending' }, 'pending'),
      h('li', { class: 'state-up' }, 'handshake up'), h('li', { class: 'state-down' }, 'no handshake'), h('li', { class: 'state-unreported' }, 'not reported'),
      h('li', { class: 'reach-one-way' }, 'one-way (arrow: who may connect; no arrows above 1,000 peerings)'));
    main.append(h('h1', {}, 'Mesh'), summary, legend, h('div', { class: 'graph-layout' }, canvas, panel));

    let mesh: Mesh = { nodes: [], edges: [] };
    let links = new Map<string, TopologyEdgeView[]>();
    let selected: string | null = null;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let first = true;
    let fetchMs = 0;

    const select = (id: string, byUser: boolean) => {
      const node = mesh.nodes.find((n) => n.id === id);
      if (!node) return;
      if (byUser) announce(`${node.name}: ${links.get(id)?.length ?? 0} peerings, shown beside the graph`);
      selected = id;
      canvas.querySelectorAll('.node.selected').forEach((el) => el.classList.remove('selected'));
      canvas.querySelector(`[data-node="${id}"]`)?.classList.add('selected');
      panel.replaceChildren(...details(node, links.get(id) ?? []));
    };

    // Roving focus: the graph is one tab stop; arrows walk the nodes in drawing order.
    canvas.addEventListener('keydown', (event) => {
      const current = (event.target as Element).closest('.node') as SVGGElement | null;
      if (!current) return;
      const all = canvas.querySelectorAll<SVGGElement>('.node');
      const i = Number(current.dataset.index);
      const moves: Record<string, number> = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: all.length - 1 };
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        select(current.dataset.node!, true);
        return;
      }
      const next = moves[event.key];
      if (next === undefined || next < 0 || next >= all.length) return;
      event.preventDefault();
      current.setAttribute('tabindex', '-1');
      all[next].setAttribute('tabindex', '0');
      all[next].focus();
    });
    canvas.addEventListener('click', (event) => {
      const node = (event.target as Element).closest('.node') as SVGGElement | null;
      if (node) select(node.dataset.node!, true);
    });

    /** What the picture shows: when a poll brings the same, nothing is redrawn. */
    const signature = (m: Mesh) => m.nodes.map((n) => `${n.id}${n.status}${n.keyExpired}${n.tags[0]}`).join() + m.edges.map((e) => e.id + edgeClass(e)).join();
    let shown = '';
    const sameShape = (next: Mesh) => next.edges.length <= MAX_EDGE_ELEMENTS
      && next.nodes.length === mesh.nodes.length && next.edges.length === mesh.edges.length
      && next.nodes.every((n, i) => n.id === mesh.nodes[i].id && n.tags[0] === mesh.nodes[i].tags[0])
      && next.edges.every((e, i) => e.id === mesh.edges[i].id);

    const refresh = async () => {
      try {
        const started = performance.now();
        const next = await loadMesh();
        if (stopped) return;
        const loaded = performance.now();
        fetchMs = loaded - started;
        const up = next.edges.filter((e) => e.up).length;
        summary.textContent = `${next.nodes.length} nodes · ${next.edges.length} peerings · ${up} up`;
        const nextSignature = signature(next);
        const restyle = !first && nextSignature !== shown && sameShape(next);
        const redraw = first || (nextSignature !== shown && !restyle);
        // Handshake times and counters change on every poll: the details panel reads them from here.
        mesh = next;
        links = edgesByNode(mesh);
        if (restyle) {
          // Same nodes and peerings: only states changed, so restyle in place and keep focus where it is.
          const byId = new Map(mesh.edges.map((e) => [e.id, e]));
          canvas.querySelectorAll<SVGLineElement>('line[data-edge]').forEach((line) => line.setAttribute('class', edgeClass(byId.get(line.dataset.edge!)!)));
          mesh.nodes.forEach((node) => {
            const el = canvas.querySelector(`[data-node="${node.id}"]`)!;
            el.classList.remove('status-online', 'status-offline', 'status-pending', 'key-expired');
            el.classList.add(`status-${node.status}`, ...(node.keyExpired ? ['key-expired'] : []));
            el.setAttribute('aria-label', describeNode(node, links.get(node.id)?.length ?? 0));
          });
        } else if (redraw) {
          const svg = drawGraph(mesh, layoutByTag(mesh.nodes), links);
          canvas.replaceChildren(svg);
          const drawn = performance.now();
          // Render, measured (the e2e test reads it): fetching the topology, layout and building the SVG, and until the
          // frame showing it has been painted (the second animation frame after the DOM changed).
          svg.dataset.loadMs = fetchMs.toFixed(1);
          svg.dataset.renderMs = (drawn - loaded).toFixed(1);
          requestAnimationFrame(() => requestAnimationFrame(() => {
            svg.dataset.paintedMs = (performance.now() - loaded).toFixed(1);
          }));
        }
        shown = nextSignature;
        if (selected && mesh.nodes.some((n) => n.id === selected)) select(selected, false);
        if (first) announce(summary.textContent);
        first = false;
      } catch (error) {
        if (stopped) return;
        summary.textContent = `Could not load the mesh: ${error instanceof ApiError ? error.message : String(error)}`;
      }
      // A big mesh takes a while to fetch: never spend more than a quarter of the time fetching it.
      if (!stopped) timer = setTimeout(refresh, Math.max(REFRESH_MS, 3 * fetchMs));
    };
    void refresh();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  },
};

