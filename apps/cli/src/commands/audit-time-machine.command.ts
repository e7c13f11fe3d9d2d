import { Command } from 'commander';
import type { AccessView, DecisionView, HistoryEventView, MemberView, ReachabilityView, TimelineView } from '@meshgate/contracts';
import { ApiClient } from '../api-client';
import { CliContext, outputOf } from '../cli-context';
import { CliError, ExitCode } from '../exit-codes';
import { parsePositiveInt } from '../option-parsers';
import { Output, writeJson, writeLine, writeTable } from '../output';

const AT = 'the instant: 2024-01-31 (midnight UTC) or 2024-01-31T09:00:00Z (not later than the server\'s clock)';

/** The audit time machine: questions about a past instant, answered from the log (owners, admins and auditors). */
export function auditTimeMachineCommands(audit: Command, cli: CliContext): void {
  audit
    .command('reachability')
    .description('could <src> reach <dst> at an instant: the rule that decided it and the events that made it so')
    .argument('<src>', 'a node (name or id)')
    .argument('<dst>', 'a node, or an IP address behind a subnet router')
    .requiredOption('--at <time>', AT)
    .option('--proto <proto>', 'tcp, udp, icmp, ... or a number (any when left out; tcp with --port)')
    .option('--port <port>', '1 to 65535 (any when left out)', parsePositiveInt)
    .action(async (src: string, dst: string, options: { at: string; proto?: string; port?: number }, command: Command) => {
      const out = outputOf(cli, command);
      const client = cli.session.client();
      const query = new URLSearchParams({ at: options.at, src, dst });
      if (options.proto !== undefined) query.set('proto', options.proto);
      if (options.port !== undefined) query.set('port', String(options.port));
      const view = (await client.request<ReachabilityView>('GET', `/api/v1/audit/reachability?${query}`)).body;
      if (out.json) return writeJson(out, view);
      const traffic = view.port !== null ? `${view.proto ?? 'tcp'}:${view.port}` : view.proto ?? 'any traffic';
      const target = view.dst.node?.name ?? view.dst.address;
      writeLine(out, `${view.allowed ? 'ALLOWED' : 'DENIED'}: ${view.src.name} -> ${target} (${traffic}) at ${view.asOf.at} (log position ${view.asOf.position})`);
      writeLine(out, `could reach: ${view.reach.summary}`);
      writeLine(out, `decided by: ${decisionText(view.decision)}`);
      if (view.route) writeLine(out, `route: ${view.route.prefix} via ${view.route.via.name}`);
      writeLine(out);
      writeEvents(out, view.events, await actorNames(client));
    });

  audit
    .command('access')
    .description('every node that could reach a node at an instant (--to), or that a node could reach (--from)')
    .requiredOption('--at <time>', AT)
    .option('--to <node>', 'who could reach this node')
    .option('--from <node>', 'what this node could reach')
    .action(async (options: { at: string; to?: string; from?: string }, command: Command) => {
      const out = outputOf(cli, command);
      if ((options.to === undefined) === (options.from === undefined)) throw new CliError(ExitCode.USAGE, 'give exactly one of --to <node> and --from <node>');
      const query = new URLSearchParams({ at: options.at, ...(options.to !== undefined ? { dst: options.to } : { src: options.from! }) });
      const view = (await cli.session.client().request<AccessView>('GET', `/api/v1/audit/access?${query}`)).body;
      if (out.json) return writeJson(out, view);
      writeLine(out, `${view.direction === 'to' ? 'Could reach' : 'Reachable from'} ${view.node.name} at ${view.asOf.at} (policy version ${view.policyVersion}, log position ${view.asOf.position}):`);
      writeTable(out, ['node', 'address', 'tags', 'reach'], view.nodes.map((n) => [n.node.name, n.node.address, n.node.tags.join(','), n.reach.summary]), '(no node)');
    });

  audit
    .command('timeline')
    .description('the intervals in which <src> could reach <dst>, each change with the event that caused it')
    .argument('<src>', 'a node (name or id)')
    .argument('<dst>', 'a node (name or id)')
    .requiredOption('--from <time>', `the window's start: ${AT}`)
    .requiredOption('--to <time>', 'the window\'s end, same forms')
    .action(async (src: string, dst: string, options: { from: string; to: string }, command: Command) => {
      const out = outputOf(cli, command);
      const client = cli.session.client();
      const query = new URLSearchParams({ src, dst, from: options.from, to: options.to });
      const view = (await client.request<TimelineView>('GET', `/api/v1/audit/timeline?${query}`)).body;
      if (out.json) return writeJson(out, view);
      const names = await actorNames(client);
      const cause = (e: HistoryEventView | null) => (e ? `${e.type} #${e.position} by ${actorText(e, names)}` : null);
      writeLine(out, `${view.src.name} -> ${view.dst.name}, ${view.from.at} to ${view.to.at}:`);
      writeTable(out, ['from', 'to', 'reach', 'opened by', 'closed by'], view.intervals.map((i) => [
        i.from.at, i.to.at, i.reach.summary, cause(i.from.event), cause(i.to.event),
      ]), '(no interval)');
    });
}

function decisionText(d: DecisionView): string {
  switch (d.kind) {
    case 'rule': return `acls[${d.index}] of policy version ${d.policyVersion} (${d.action}${d.schedule ? `, schedule ${d.schedule}` : ''}): ${JSON.stringify(d.entry)}`;
    case 'default-deny': return `the default deny of policy version ${d.policyVersion}${d.closedSchedules?.length ? ` (closed schedules: ${d.closedSchedules.map((s) => `acls[${s.index}] ${s.schedule}`).join(', ')})` : ''}`;
    case 'not-in-mesh': return `${d.node} was not in the mesh${d.event ? ` (${d.event.type} #${d.event.position})` : ''}`;
    case 'no-route': return 'no approved route carries the address';
  }
}

function writeEvents(out: Output, events: HistoryEventView[], names: Map<string, string>): void {
  writeTable(out, ['position', 'at', 'event', 'actor'], events.map((e) => [e.position, e.at, e.type, actorText(e, names)]), '(no events)');
}

async function actorNames(client: ApiClient): Promise<Map<string, string>> {
  const members = (await client.request<MemberView[]>('GET', '/api/v1/tenants/current/members')).body;
  return new Map(members.map((m) => [m.userId, m.email]));
}

function actorText(e: HistoryEventView, names: Map<string, string>): string {
  return e.actor.kind === 'user' ? names.get(e.actor.id) ?? `user:${e.actor.id}` : `${e.actor.kind}:${e.actor.id}`;
}
