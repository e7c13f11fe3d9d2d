import { Command } from 'commander';
import type { HealthView, NodeStatus, NodeView, PolicyView } from '@meshgate/contracts';
import { ApiClient } from '../api-client';
import { CliContext, outputOf } from '../cli-context';
import { Credentials } from '../credentials-store';
import { CliError, ExitCode } from '../exit-codes';
import { ago, writeFields, writeJson } from '../output';
import { parseServer } from '../session';
import { describeLogin } from './login.command';

interface Counts {
  nodes: Record<NodeStatus | 'total' | 'keyExpired', number>;
  policyVersion: number;
}

export function statusCommand(program: Command, cli: CliContext): void {
  program
    .command('status')
    .description('the server\'s health and version, this session, and the tenant\'s node counts')
    .option('--server <url>', 'another control plane than the one logged in to (health and version only)')
    .addHelpText('after', '\nExit code 7 when the server is unreachable or not ready, 3 when the session is not valid.')
    .action(async (options: { server?: string }, command: Command) => {
      const out = outputOf(cli, command);
      const stored = options.server === undefined ? cli.session.current() : null;
      if (options.server === undefined && !stored) throw new CliError(ExitCode.AUTH, 'not logged in: meshgate login --server <url>, or meshgate status --server <url>');
      const server = options.server !== undefined ? parseServer(options.server) : stored!.server;
      const health = await healthOf(new ApiClient(server, null));
      // A user-level session (no tenant yet) may read no tenant's nodes.
      const scoped = stored !== null && (stored.credential.kind === 'api-key' || stored.credential.tenant !== null);
      const counts = scoped && health.status === 'ok' ? await countsOf(cli.session.client()) : null;
      if (out.json) {
        writeJson(out, { server, cliVersion: cli.version, health, session: stored ? describeLogin(stored) : null, ...(counts ?? {}) });
      } else {
        writeFields(out, [
          ['server', server],
          ['health', `${health.status} (database ${health.database}, storage ${health.storage})`],
          ['server version', health.version ?? 'unknown'],
          ['cli version', cli.version],
          ...(stored ? [['session', sessionText(stored, cli.now())] as [string, string]] : []),
          ...(counts ? [
            ['nodes', `${counts.nodes.total} (${counts.nodes.online} online, ${counts.nodes.offline} offline, ${counts.nodes.pending} pending, ${counts.nodes.keyExpired} with an expired key)`],
            ['policy', `version ${counts.policyVersion}`],
          ] as Array<[string, string]> : []),
        ]);
      }
      if (health.status !== 'ok') throw new CliError(ExitCode.UNAVAILABLE, 'the server is not ready');
    });
}

/** /health answers 503 with the same fields as its message when the server is not ready. */
async function healthOf(client: ApiClient): Promise<Partial<HealthView> & Pick<HealthView, 'status'>> {
  const reply = await client.probe<HealthView | { message?: HealthView }>('GET', '/health');
  if (reply.status === 200) return reply.body as HealthView;
  const body = reply.body as { message?: HealthView };
  if (reply.status === 503 && typeof body.message === 'object') return body.message;
  throw new CliError(ExitCode.UNAVAILABLE, `${client.server}/health answered ${reply.status}`);
}

async function countsOf(client: ApiClient): Promise<Counts> {
  const nodes = (await client.request<NodeView[]>('GET', '/api/v1/nodes')).body;
  const policy = (await client.request<PolicyView>('GET', '/api/v1/policies')).body;
  const counts: Counts['nodes'] = { total: nodes.length, online: 0, offline: 0, pending: 0, keyExpired: 0 };
  for (const n of nodes) {
    counts[n.status] += 1;
    if (n.keyExpired) counts.keyExpired += 1;
  }
  return { nodes: counts, policyVersion: policy.version };
}

function sessionText(stored: Credentials, now: number): string {
  const c = stored.credential;
  if (c.kind === 'api-key') return `API key ${describeLogin(stored).keyId}`;
  const expiry = c.expiresAt > now ? `expires ${ago(new Date(c.expiresAt).toISOString(), now)}` : 'expired';
  return `${c.email}${c.tenant ? `, tenant ${c.tenant.name} (${c.tenant.role})` : ', no tenant'}, ${expiry}`;
}
