import { Command } from 'commander';
import type { MemberView, NodeStatus, NodeView } from '@meshgate/contracts';
import { ApiClient } from '../api-client';
import { CliContext, outputOf } from '../cli-context';
import { CliError, ExitCode } from '../exit-codes';
import { ago, writeFields, writeJson, writeLine, writeTable } from '../output';
import { confirmOrAbort } from './confirm';

const STATUSES: readonly NodeStatus[] = ['pending', 'online', 'offline'];

/** Names and ids in a path segment: a name is a DNS label, but nothing else is assumed. */
const nodePath = (ref: string) => `/api/v1/nodes/${encodeURIComponent(ref)}`;

export function nodesCommand(program: Command, cli: CliContext): void {
  const nodes = program.command('nodes').description('list, show, rename, remove and tag nodes');

  nodes
    .command('list')
    .description('the tenant\'s nodes')
    .option('--tag <tag>', 'only nodes carrying this tag (tag:web, or web)')
    .option('--status <status>', `only nodes with this status (${STATUSES.join(', ')})`)
    .action(async (options: { tag?: string; status?: string }, command: Command) => {
      const out = outputOf(cli, command);
      if (options.status !== undefined && !STATUSES.includes(options.status as NodeStatus)) {
        throw new CliError(ExitCode.USAGE, `--status must be one of ${STATUSES.join(', ')}`);
      }
      const tag = options.tag === undefined ? undefined : options.tag.startsWith('tag:') ? options.tag : `tag:${options.tag}`;
      const client = cli.session.client();
      const list = (await client.request<NodeView[]>('GET', '/api/v1/nodes')).body
        .filter((n) => (tag === undefined || n.tags.includes(tag)) && (options.status === undefined || n.status === options.status))
        .sort((a, b) => a.name.localeCompare(b.name));
      if (out.json) return writeJson(out, list);
      const owners = await ownerNames(client);
      const now = cli.now();
      writeTable(out, ['name', 'address', 'status', 'last seen', 'endpoint', 'tags', 'owner', 'id'], list.map((n) => [
        n.name, n.address, n.keyExpired ? `${n.status} (key expired)` : n.status, ago(n.lastSeenAt, now), n.endpoint,
        n.tags.join(','), n.owner === null ? null : owners.get(n.owner) ?? n.owner, n.id,
      ]), '(no nodes)');
    });

  nodes
    .command('show')
    .description('one node, by name or id')
    .argument('<node>', 'the node\'s name or id')
    .action(async (ref: string, _options: unknown, command: Command) => {
      const out = outputOf(cli, command);
      const client = cli.session.client();
      const node = (await client.request<NodeView>('GET', nodePath(ref))).body;
      if (out.json) return writeJson(out, node);
      const owners = node.owner === null ? new Map<string, string>() : await ownerNames(client);
      writeFields(out, [
        ['name', node.name], ['id', node.id], ['status', node.status], ['address', node.address], ['endpoint', node.endpoint],
        ['last seen', node.lastSeenAt === null ? null : `${node.lastSeenAt} (${ago(node.lastSeenAt, cli.now())})`],
        ['candidates', node.candidates.join(', ')], ['seen from', node.seenFrom],
        ['tags', node.tags.join(', ')], ['owner', node.owner === null ? null : owners.get(node.owner) ?? node.owner],
        ['public key', node.publicKey],
        ['key expires', node.keyExpiryDisabled ? 'never (expiry disabled)' : node.keyExpiresAt],
        ['key expired', node.keyExpired],
        ['advertised routes', node.advertisedRoutes.join(', ')], ['approved routes', node.approvedRoutes.join(', ')],
        ['exit node', node.exitNode], ['ephemeral', node.ephemeral],
      ]);
    });

  nodes
    .command('rm')
    .description('remove a node from the mesh (its peers drop it, its token stops working)')
    .argument('<node>', 'the node\'s name or id')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (ref: string, options: { yes?: boolean }, command: Command) => {
      const out = outputOf(cli, command);
      const client = cli.session.client();
      const node = (await client.request<NodeView>('GET', nodePath(ref))).body;
      await confirmOrAbort(cli, options.yes, `Remove node ${node.name} (${node.address})?`);
      await client.request('DELETE', nodePath(node.id));
      if (out.json) return writeJson(out, { removed: { id: node.id, name: node.name } });
      writeLine(out, `Removed ${node.name}.`);
    });

  nodes
    .command('rename')
    .description('rename a node (policies match it by the new name; the mesh\'s DNS answers it at once)')
    .argument('<node>', 'the node\'s name or id')
    .argument('<name>', 'the new name: lowercase letters, digits and dashes')
    .action(async (ref: string, name: string, _options: unknown, command: Command) => {
      const out = outputOf(cli, command);
      const node = (await cli.session.client().request<NodeView>('PUT', `${nodePath(ref)}/name`, { body: { name } })).body;
      if (out.json) return writeJson(out, { id: node.id, name: node.name });
      writeLine(out, `Renamed to ${node.name}.`);
    });

  nodes
    .command('tags')
    .description('show a node\'s tags, or replace them (each new tag must be yours to put, per tagOwners)')
    .argument('<node>', 'the node\'s name or id')
    .argument('[tags...]', 'the new tag set (tag:web or web); leave out to show the current one')
    .option('--clear', 'remove every tag (a node no user owns must keep one)')
    .action(async (ref: string, tags: string[], options: { clear?: boolean }, command: Command) => {
      const out = outputOf(cli, command);
      if (options.clear && tags.length > 0) throw new CliError(ExitCode.USAGE, 'give tags or --clear, not both');
      const client = cli.session.client();
      const node = tags.length === 0 && !options.clear
        ? (await client.request<NodeView>('GET', nodePath(ref))).body
        : (await client.request<NodeView>('PUT', `${nodePath(ref)}/tags`, { body: { tags } })).body;
      if (out.json) return writeJson(out, { id: node.id, name: node.name, tags: node.tags });
      writeLine(out, node.tags.length ? node.tags.join(' ') : '(no tags)');
    });
}

/** Owner ids as emails, from the member list (every role may read it); an owner no longer a member stays an id. */
async function ownerNames(client: ApiClient): Promise<Map<string, string>> {
  const members = (await client.request<MemberView[]>('GET', '/api/v1/tenants/current/members')).body;
  return new Map(members.map((m) => [m.userId, m.email]));
}
