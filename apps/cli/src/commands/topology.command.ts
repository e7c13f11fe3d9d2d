import { Command } from 'commander';
import type { TopologyEdgeView, TopologyNodeView, TopologyPage } from '@meshgate/contracts';
import { CliContext, outputOf } from '../cli-context';
import { parsePositiveInt } from '../option-parsers';
import { ago, writeJson, writeLine, writeNote, writeTable } from '../output';

interface TopologyOptions {
  node?: string;
  tag?: string;
  limit?: number;
  cursor?: string;
  all?: boolean;
}

export function topologyCommand(program: Command, cli: CliContext): void {
  program
    .command('topology')
    .description('the mesh: nodes and the WireGuard peerings between them, what each end may reach, and whether the link is up')
    .option('--node <node>', 'only this node (name or id) and its peerings')
    .option('--tag <tag>', 'only nodes carrying this tag, and their peerings')
    .option('--limit <n>', 'nodes per page, 1 to 500 (default 100)', parsePositiveInt)
    .option('--cursor <cursor>', 'the next page: the cursor a previous page printed')
    .option('--all', 'follow every page (an edge on several pages is listed once)')
    .action(async (options: TopologyOptions, command: Command) => {
      const out = outputOf(cli, command);
      const client = cli.session.client();
      const query = new URLSearchParams();
      for (const key of ['node', 'tag', 'cursor'] as const) if (options[key] !== undefined) query.set(key, options[key]);
      if (options.limit !== undefined) query.set('limit', String(options.limit));
      const nodes: TopologyNodeView[] = [];
      const edges = new Map<string, TopologyEdgeView>();
      let next: string | null;
      do {
        const page = (await client.request<TopologyPage>('GET', `/api/v1/topology${query.size ? `?${query}` : ''}`)).body;
        nodes.push(...page.nodes);
        for (const edge of page.edges) edges.set(edge.id, edge);
        next = page.nextCursor;
        if (next !== null) query.set('cursor', next);
      } while (options.all && next !== null);
      const result: TopologyPage = { nodes, edges: [...edges.values()], nextCursor: next };
      if (out.json) return writeJson(out, result);
      const now = cli.now();
      writeTable(out, ['node', 'status', 'address', 'endpoint', 'tags', 'last seen'], nodes.map((n) => [
        n.name, n.keyExpired ? `${n.status} (key expired)` : n.status, n.address, n.endpoint, n.tags.join(','), ago(n.lastSeenAt, now),
      ]), '(no nodes)');
      writeLine(out);
      writeTable(out, ['peering (a <-> b)', 'link', 'a may reach', 'b may reach', 'routes', 'last handshake'], result.edges.map((e) => [
        `${e.a.name} <-> ${e.b.name}`, e.up ? 'up' : e.a.live || e.b.live ? 'down' : 'unknown', e.a.reach, e.b.reach,
        [...e.a.routesVia.map((r) => `${r} via ${e.b.name}`), ...e.b.routesVia.map((r) => `${r} via ${e.a.name}`)].join(', '),
        ago(latest(e.a.live?.lastHandshakeAt ?? null, e.b.live?.lastHandshakeAt ?? null), now),
      ]), '(no peerings)');
      if (next !== null) writeNote(out, `More: meshgate topology --cursor ${next} (or --all)`);
    });
}

function latest(x: string | null, y: string | null): string | null {
  if (x === null) return y;
  if (y === null) return x;
  return Date.parse(x) >= Date.parse(y) ? x : y;
}
