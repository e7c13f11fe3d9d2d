import { Command } from 'commander';
import type { ApiKeyCreatedView, ApiKeyView } from '@meshgate/contracts';
import { CliContext, outputOf } from '../cli-context';
import { parsePositiveInt } from '../option-parsers';
import { writeFields, writeJson, writeLine, writeNote, writeTable } from '../output';

/** `api-keys`: credentials for scripts, acting in the tenant with a role (`meshgate login --api-key` uses one). */
export function apiKeysCommand(program: Command, cli: CliContext): void {
  const keys = program.command('api-keys').description('API keys, for scripts and CI (meshgate login --api-key)');

  keys
    .command('create')
    .description('create an API key acting with a role, on your behalf; it is shown this once')
    .requiredOption('--description <text>', 'what it is for ("ci deploys"): shown in the list')
    .requiredOption('--role <role>', 'owner, admin, member or auditor (one you may grant)')
    .option('--expires-in-days <days>', 'lifetime in days, 1 to 365 (default 90)', parsePositiveInt)
    .action(async (options: { description: string; role: string; expiresInDays?: number }, command: Command) => {
      const out = outputOf(cli, command);
      const body: Record<string, unknown> = { description: options.description, role: options.role };
      if (options.expiresInDays !== undefined) body.expiresInDays = options.expiresInDays;
      const key = (await cli.session.client().request<ApiKeyCreatedView>('POST', '/api/v1/api-keys', { body })).body;
      if (out.json) return writeJson(out, key);
      writeFields(out, [['id', key.id], ['key', key.key], ['role', key.role], ['description', key.description], ['expires', key.expiresAt]]);
      writeNote(out, 'The key is not shown again. Use it as a bearer token, or: meshgate login --api-key');
    });

  keys
    .command('list')
    .description('the tenant\'s API keys (never the keys themselves)')
    .option('--all', 'include revoked keys')
    .action(async (options: { all?: boolean }, command: Command) => {
      const out = outputOf(cli, command);
      const list = (await cli.session.client().request<ApiKeyView[]>('GET', '/api/v1/api-keys')).body.filter((k) => options.all || !k.revoked);
      if (out.json) return writeJson(out, list);
      writeTable(out, ['id', 'role', 'description', 'expires', 'created', 'revoked'], list.map((k) => [
        k.id, k.role, k.description, k.expiresAt, k.createdAt, k.revoked,
      ]), '(no API keys)');
    });

  keys
    .command('revoke')
    .description('revoke an API key: from its next request it is refused')
    .argument('<id>', 'the key\'s id (meshgate api-keys list)')
    .action(async (id: string, _options: unknown, command: Command) => {
      const out = outputOf(cli, command);
      await cli.session.client().request('DELETE', `/api/v1/api-keys/${encodeURIComponent(id)}`);
      if (out.json) return writeJson(out, { revoked: id });
      writeLine(out, `Revoked API key ${id}.`);
    });
}
