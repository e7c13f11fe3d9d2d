import { Command } from 'commander';
import type { TenantMembershipView } from '@meshgate/contracts';
import { CliContext, outputOf } from '../cli-context';
import { CliError, ExitCode } from '../exit-codes';
import { writeJson, writeNote, writeTable } from '../output';

export function tenantsCommand(program: Command, cli: CliContext): void {
  program
    .command('tenants')
    .description('list the tenants you belong to (* marks the one this session acts in)')
    .addHelpText('after', '\nTo act in another tenant: meshgate login --tenant <name>')
    .action(async (_options: unknown, command: Command) => {
      const out = outputOf(cli, command);
      const stored = cli.session.current();
      if (stored?.credential.kind === 'api-key') {
        throw new CliError(ExitCode.AUTH, 'an API key acts in its one tenant and cannot list memberships: log in with a password for this');
      }
      const tenants = (await cli.session.client().request<TenantMembershipView[]>('GET', '/api/v1/auth/tenants')).body;
      const currentId = stored?.credential.kind === 'password' ? stored.credential.tenant?.id : undefined;
      if (out.json) return writeJson(out, tenants.map((t) => ({ ...t, current: t.id === currentId })));
      writeTable(out, ['', 'name', 'role', 'id'], tenants.map((t) => [t.id === currentId ? '*' : ' ', t.name, t.role, t.id]), '(no tenants)');
      if (currentId === undefined && tenants.length > 0) writeNote(out, 'This session is not scoped to a tenant: meshgate login --tenant <name>');
    });
}
