import { Command } from 'commander';
import type { AuditPage, MemberView } from '@meshgate/contracts';
import { CliContext, outputOf } from '../cli-context';
import { auditTimeMachineCommands } from './audit-time-machine.command';
import { parsePositiveInt } from '../option-parsers';
import { writeJson, writeNote, writeTable } from '../output';

interface AuditOptions {
  since?: string;
  until?: string;
  actor?: string;
  type?: string;
  limit?: number;
  cursor?: string;
}

const DETAILS_WIDTH = 60;

export function auditCommand(program: Command, cli: CliContext): void {
  const audit = program
    .command('audit')
    .description('the tenant\'s audit log, newest first, and questions about the past (owners, admins and auditors)')
    .option('--since <time>', 'from this instant: 2024-01-31 (midnight UTC) or 2024-01-31T09:00:00Z')
    .option('--until <time>', 'up to this instant, same forms')
    .option('--actor <id>', 'only what this user, node or system actor did (its id)')
    .option('--type <event>', 'only events of this type, e.g. PolicyUpdated')
    .option('--limit <n>', 'entries per page, 1 to 500 (default 50)', parsePositiveInt)
    .option('--cursor <cursor>', 'the next page: the cursor a previous page printed')
    .action(async (options: AuditOptions, command: Command) => {
      const out = outputOf(cli, command);
      const query = new URLSearchParams();
      for (const key of ['since', 'until', 'actor', 'type', 'cursor'] as const) if (options[key] !== undefined) query.set(key, options[key]);
      if (options.limit !== undefined) query.set('limit', String(options.limit));
      const client = cli.session.client();
      const page = (await client.request<AuditPage>('GET', `/api/v1/audit${query.size ? `?${query}` : ''}`)).body;
      if (out.json) return writeJson(out, page);
      const emails = new Map((await client.request<MemberView[]>('GET', '/api/v1/tenants/current/members')).body.map((m) => [m.userId, m.email]));
      writeTable(out, ['position', 'at', 'actor', 'type', 'subject', 'details'], page.items.map((e) => [
        e.position, e.at, e.actor.kind === 'user' ? emails.get(e.actor.id) ?? `user:${e.actor.id}` : `${e.actor.kind}:${e.actor.id}`,
        e.type, e.subject, clip(JSON.stringify(e.details)),
      ]), '(no audit entries)');
      if (page.nextCursor !== null) writeNote(out, `More: meshgate audit --cursor ${page.nextCursor} (with the same filters)`);
    });
  auditTimeMachineCommands(audit, cli);
}

function clip(text: string): string {
  return text === '{}' ? '' : text.length > DETAILS_WIDTH ? `${text.slice(0, DETAILS_WIDTH - 1)}…` : text;
}
