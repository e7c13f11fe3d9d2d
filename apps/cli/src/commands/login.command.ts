import { Command } from 'commander';
import { CliContext, outputOf } from '../cli-context';
import { Credentials } from '../credentials-store';
import { CliError, ExitCode } from '../exit-codes';
import { writeJson, writeLine } from '../output';
import { parseServer } from '../session';

interface LoginOptions {
  server?: string;
  email?: string;
  apiKey?: boolean;
  tenant?: string;
  tenantId?: string;
}

/** What is safe to show of the stored credentials: never the token or key. */
export function describeLogin(credentials: Credentials) {
  const c = credentials.credential;
  return c.kind === 'api-key'
    ? { server: credentials.server, kind: c.kind, keyId: c.key.split('.')[1] ?? null }
    : { server: credentials.server, kind: c.kind, email: c.email, tenant: c.tenant, expiresAt: new Date(c.expiresAt).toISOString() };
}

export function loginCommands(program: Command, cli: CliContext): void {
  program
    .command('login')
    .description('log in to a control plane and keep the token (mode 0600) for the next commands')
    .option('--server <url>', 'the control plane, e.g. https://meshgate.example.com (default: the last one logged in to)')
    .option('--email <email>', 'log in with this account (asked for when left out)')
    .option('--api-key', 'log in with an API key instead (mga.<id>.<secret>, asked for: never pass it as an argument)')
    .option('--tenant <name>', 'scope the session to this tenant (needed when you belong to several)')
    .option('--tenant-id <id>', 'scope the session to the tenant with this id (when two share a name)')
    .addHelpText('after', `
The password (or API key) is read from the terminal without echo, or as one line from stdin when it is not a
terminal:  printf '%s\\n' "$PASSWORD" | meshgate login --server https://mg.example.com --email me@example.com
There is no refresh token: when the session expires, commands run at a terminal ask for the password again;
elsewhere they exit 3.`)
    .action(async (options: LoginOptions, command: Command) => {
      const out = outputOf(cli, command);
      if (options.tenant !== undefined && options.tenantId !== undefined) throw new CliError(ExitCode.USAGE, 'give --tenant or --tenant-id, not both');
      if (options.apiKey && (options.email !== undefined || options.tenant !== undefined || options.tenantId !== undefined)) {
        throw new CliError(ExitCode.USAGE, '--api-key acts in its own tenant: leave out --email, --tenant and --tenant-id');
      }
      const server = await serverOf(cli, options.server);
      let credentials: Credentials;
      if (options.apiKey) {
        const key = await required(cli, 'API key: ', true);
        credentials = await cli.session.loginWithApiKey(server, key);
      } else {
        const email = options.email ?? (await required(cli, 'Email: ', false));
        const password = await required(cli, `Password for ${email}: `, true);
        credentials = await cli.session.loginWithPassword(server, email, password, { tenant: options.tenant, tenantId: options.tenantId });
      }
      if (out.json) return writeJson(out, describeLogin(credentials));
      const c = credentials.credential;
      if (c.kind === 'api-key') writeLine(out, `Logged in to ${server} with API key ${describeLogin(credentials).keyId}.`);
      else if (c.tenant) writeLine(out, `Logged in to ${server} as ${c.email}, tenant ${c.tenant.name} (${c.tenant.role}).`);
      else writeLine(out, `Logged in to ${server} as ${c.email}; you belong to no tenant yet (create one with POST /api/v1/auth/tenants).`);
    });

  program
    .command('logout')
    .description('forget the stored token')
    .action((_options: unknown, command: Command) => {
      const out = outputOf(cli, command);
      const removed = cli.session.store.remove();
      if (out.json) return writeJson(out, { loggedOut: removed });
      writeLine(out, removed ? 'Logged out.' : 'Not logged in.');
    });
}

async function serverOf(cli: CliContext, option: string | undefined): Promise<string> {
  if (option !== undefined) return parseServer(option);
  const stored = cli.session.current();
  if (stored) return stored.server;
  return parseServer(await required(cli, 'Server URL: ', false));
}

async function required(cli: CliContext, question: string, secret: boolean): Promise<string> {
  const answer = secret ? await cli.prompter.askSecret(question) : await cli.prompter.ask(question);
  if (answer === null || answer.trim() === '') throw new CliError(ExitCode.USAGE, `${question.replace(/:.*$/, '').toLowerCase()} is required`);
  return secret ? answer : answer.trim();
}
