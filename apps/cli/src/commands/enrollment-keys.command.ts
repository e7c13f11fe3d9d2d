import { Command } from 'commander';
import type { EnrollmentKeyCreated, EnrollmentKeyView } from '@meshgate/contracts';
import { CliContext, outputOf } from '../cli-context';
import { parseDuration } from '../option-parsers';
import { writeFields, writeJson, writeLine, writeNote, writeTable } from '../output';

interface CreateOptions {
  reusable?: boolean;
  ephemeral?: boolean;
  expires?: number;
  tags?: string[];
}

/** `keys`: enrollment keys (pre-auth keys), what agents enroll with. API keys, for people and scripts, are `api-keys`. */
export function enrollmentKeysCommand(program: Command, cli: CliContext): void {
  const keys = program.command('keys').description('enrollment keys, which agents enroll nodes with (API keys: meshgate api-keys)');

  keys
    .command('create')
    .description('create an enrollment key; it is shown this once')
    .option('--reusable', 'may enroll any number of nodes (default: one)')
    .option('--ephemeral', 'its nodes are removed once inactive (EPHEMERAL_NODE_TTL_SECONDS on the server)')
    .option('--expires <duration>', 'lifetime: 90s, 30m, 12h, 7d (at least 60s, at most 365d; default: never)', parseDuration)
    .option('--tags <tags...>', 'tags its nodes get (tag:web or web); you must own them per tagOwners')
    .action(async (options: CreateOptions, command: Command) => {
      const out = outputOf(cli, command);
      const body: Record<string, unknown> = {};
      if (options.reusable) body.reusable = true;
      if (options.ephemeral) body.ephemeral = true;
      if (options.expires !== undefined) body.expiresInSeconds = options.expires;
      if (options.tags !== undefined) body.tags = options.tags;
      const key = (await cli.session.client().request<EnrollmentKeyCreated>('POST', '/api/v1/enrollment-keys', { body })).body;
      if (out.json) return writeJson(out, key);
      writeFields(out, [
        ['id', key.id], ['key', key.key], ['reusable', key.reusable], ['ephemeral', key.ephemeral],
        ['tags', key.tags.join(', ')], ['expires', key.expiresAt ?? 'never'],
      ]);
      writeNote(out, 'The key is not shown again: put it in the agent\'s enrollment_key.');
    });

  keys
    .command('list')
    .description('the tenant\'s enrollment keys (never the keys themselves)')
    .option('--all', 'include revoked keys')
    .action(async (options: { all?: boolean }, command: Command) => {
      const out = outputOf(cli, command);
      const list = (await cli.session.client().request<EnrollmentKeyView[]>('GET', '/api/v1/enrollment-keys')).body
        .filter((k) => options.all || !k.revoked);
      if (out.json) return writeJson(out, list);
      writeTable(out, ['id', 'reusable', 'ephemeral', 'uses', 'tags', 'expires', 'created', 'revoked'], list.map((k) => [
        k.id, k.reusable, k.ephemeral, k.uses, k.tags.join(','), k.expiresAt ?? 'never', k.createdAt, k.revoked,
      ]), '(no enrollment keys)');
    });

  keys
    .command('revoke')
    .description('revoke an enrollment key: it enrolls no more nodes (nodes it enrolled stay)')
    .argument('<id>', 'the key\'s id (meshgate keys list)')
    .action(async (id: string, _options: unknown, command: Command) => {
      const out = outputOf(cli, command);
      await cli.session.client().request('DELETE', `/api/v1/enrollment-keys/${encodeURIComponent(id)}`);
      if (out.json) return writeJson(out, { revoked: id });
      writeLine(out, `Revoked enrollment key ${id}.`);
    });
}
