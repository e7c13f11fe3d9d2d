import { Command, CommanderError } from 'commander';
import { CliContext } from './cli-context';
import { apiKeysCommand } from './commands/api-keys.command';
import { auditCommand } from './commands/audit.command';
import { completionCommand } from './commands/completion.command';
import { loginCommands } from './commands/login.command';
import { enrollmentKeysCommand } from './commands/enrollment-keys.command';
import { nodesCommand } from './commands/nodes.command';
import { policyCommand } from './commands/policy.command';
import { statusCommand } from './commands/status.command';
import { tenantsCommand } from './commands/tenants.command';
import { topologyCommand } from './commands/topology.command';
import { CliError, EXIT_CODES_HELP, ExitCode } from './exit-codes';

/** The whole command tree; settings made here before `.command()` calls are inherited by every subcommand. */
export function buildProgram(cli: CliContext): Command {
  const program = new Command('meshgate')
    .description('Administer a MeshGate control plane: nodes, enrollment keys, policy, audit log, topology.')
    .version(cli.version, '-V, --version', 'print the CLI version')
    .option('--json', 'print results as JSON, for scripts')
    .exitOverride()
    .configureOutput({ writeOut: (s) => cli.stdout.write(s), writeErr: (s) => cli.stderr.write(s) })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showSuggestionAfterError()
    .addHelpText('after', `\n${EXIT_CODES_HELP}\n\nCredentials: $MESHGATE_CONFIG_DIR, else $XDG_CONFIG_HOME/meshgate, else ~/.config/meshgate.`);
  loginCommands(program, cli);
  tenantsCommand(program, cli);
  nodesCommand(program, cli);
  enrollmentKeysCommand(program, cli);
  apiKeysCommand(program, cli);
  policyCommand(program, cli);
  auditCommand(program, cli);
  topologyCommand(program, cli);
  statusCommand(program, cli);
  completionCommand(program, cli);
  return program;
}

/** Parses `args` and runs the command; returns the exit code (see exit-codes.ts) instead of exiting. */
export async function runCli(args: string[], cli: CliContext): Promise<number> {
  const program = buildProgram(cli);
  try {
    await program.parseAsync(args, { from: 'user' });
    return ExitCode.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version asked for are a success; a command group run without its subcommand shows help as a usage error.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? ExitCode.OK : ExitCode.USAGE;
    }
    if (error instanceof CliError) {
      cli.stderr.write(`meshgate: ${error.message}\n`);
      for (const detail of error.details) cli.stderr.write(`  ${detail}\n`);
      return error.code;
    }
    throw error;
  }
}
