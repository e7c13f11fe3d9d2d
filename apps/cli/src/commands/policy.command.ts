import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { PolicyPreviewView, PolicyView } from '@meshgate/contracts';
import { ApiClient } from '../api-client';
import { CliContext, outputOf } from '../cli-context';
import { CliError, ExitCode } from '../exit-codes';
import { Output, writeJson, writeLine, writeNote } from '../output';
import { confirmOrAbort } from './confirm';

const HUJSON = 'application/hujson';

/** A policy document as read from a file: sent as JSON when it is JSON, else as HuJSON text for the server to read. */
interface PolicySource {
  text: string;
  contentType: 'application/json' | typeof HUJSON;
}

export function policyCommand(program: Command, cli: CliContext): void {
  const policy = program.command('policy').description('read, preview, test and replace the tenant\'s policy (Tailscale/headscale policy file)');

  policy
    .command('get')
    .description('print the policy: as written (HuJSON comments kept), or with --json as {version, policy}')
    .action(async (_options: unknown, command: Command) => {
      const out = outputOf(cli, command);
      const client = cli.session.client();
      if (out.json) return writeJson(out, (await client.request<PolicyView>('GET', '/api/v1/policies')).body);
      const reply = await client.request<PolicyView | string>('GET', '/api/v1/policies', { headers: { accept: `${HUJSON}, application/json` } });
      out.stdout.write(typeof reply.body === 'string' ? reply.body.replace(/\n?$/, '\n') : JSON.stringify(reply.body.policy, null, 2) + '\n');
      writeNote(out, `(policy version ${typeof reply.body === 'string' ? reply.headers.get('etag')?.replace(/"/g, '') : reply.body.version})`);
    });

  policy
    .command('preview')
    .description('what a candidate policy would change (pairs gained and lost, configs touched); stores nothing')
    .argument('<file>', 'the candidate, JSON or HuJSON ("-" for stdin)')
    .action(async (file: string, _options: unknown, command: Command) => {
      const out = outputOf(cli, command);
      const preview = await previewOf(cli.session.client(), readSource(file));
      if (out.json) return writeJson(out, preview);
      writePreview(out, preview);
    });

  policy
    .command('test')
    .description('run a policy\'s tests against the tenant\'s nodes (the current policy when no file is given)')
    .argument('[file]', 'the candidate, JSON or HuJSON ("-" for stdin)')
    .addHelpText('after', '\nExit code 0 when every test passes, 6 when any fails (each failure is printed).')
    .action(async (file: string | undefined, _options: unknown, command: Command) => {
      const out = outputOf(cli, command);
      const client = cli.session.client();
      const source: PolicySource = file !== undefined ? readSource(file)
        : { text: JSON.stringify((await client.request<PolicyView>('GET', '/api/v1/policies')).body.policy), contentType: 'application/json' };
      await previewOf(client, source);
      if (out.json) return writeJson(out, { passed: true });
      writeLine(out, 'All policy tests pass.');
    });

  policy
    .command('put')
    .description('replace the policy: shows the preview and asks before applying (unless --yes)')
    .argument('<file>', 'the new policy, JSON or HuJSON ("-" for stdin, with --yes)')
    .option('-y, --yes', 'apply without asking')
    .addHelpText('after', `
The policy is applied only if it is still the version previewed (If-Match): if someone changed it in between,
nothing is applied and the exit code is 5. Invalid documents and failing tests exit 6.`)
    .action(async (file: string, options: { yes?: boolean }, command: Command) => {
      const out = outputOf(cli, command);
      if (file === '-' && !options.yes) {
        throw new CliError(ExitCode.USAGE, 'a policy read from stdin needs --yes (the confirmation would be read from stdin too)');
      }
      const source = readSource(file);
      const client = cli.session.client();
      const preview = await previewOf(client, source);
      if (!out.json) writePreview(out, preview);
      await confirmOrAbort(cli, options.yes, `Apply this policy (replacing version ${preview.baseVersion})?`);
      const applied = (await client.request<PolicyView>('PUT', '/api/v1/policies', {
        text: source.text, contentType: source.contentType, headers: { 'if-match': `"${preview.baseVersion}"` },
      })).body;
      if (out.json) return writeJson(out, { preview, applied: { version: applied.version, warnings: applied.warnings ?? [] } });
      writeLine(out, `Applied: policy version ${applied.version}.`);
    });
}

function readSource(file: string): PolicySource {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new CliError(ExitCode.USAGE, `cannot read ${file === '-' ? 'stdin' : file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    JSON.parse(text);
    return { text, contentType: 'application/json' };
  } catch {
    return { text, contentType: HUJSON };
  }
}

/** Refusals (invalid document, failing tests) come back as CliErrors listing each problem by JSON path. */
async function previewOf(client: ApiClient, source: PolicySource): Promise<PolicyPreviewView> {
  return (await client.request<PolicyPreviewView>('POST', '/api/v1/policies/preview', { text: source.text, contentType: source.contentType })).body;
}

function writePreview(out: Output, preview: PolicyPreviewView): void {
  writeLine(out, `Against policy version ${preview.baseVersion}:`);
  if (preview.gained.length === 0 && preview.lost.length === 0) writeLine(out, '  no node gains or loses reachability');
  for (const g of preview.gained) writeLine(out, `  + ${g.src} -> ${g.dst}  ${g.reach}`);
  for (const l of preview.lost) writeLine(out, `  - ${l.src} -> ${l.dst}  ${l.reach}`);
  if (preview.truncated) writeLine(out, '  (more pairs change than are listed)');
  writeLine(out, preview.changedNodes.length
    ? `Configs that change (${preview.changedNodes.length}): ${preview.changedNodes.map((n) => n.name).join(', ')}`
    : 'No node\'s config changes.');
  for (const w of preview.warnings) writeLine(out, `Warning: ${w}`);
}
