import { Command, CommanderError, Option } from 'commander';
import { AGENT_VERSION } from '../version';
import { runDown } from './down-command';
import { runStatus } from './status-command';
import { DEFAULT_CONFIG_PATH, UP_FLAGS, writeUpConfig } from './up-command';

/** What main.ts does next: run the daemon with these options, or exit (a command other than the daemon ran). */
export type CommandLine =
  | { kind: 'run'; configPath: string | undefined; downOnExit: boolean; rotateKey: boolean }
  | { kind: 'exit'; code: number };

export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

const processIo: CommandIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), env: process.env };

/**
 * The agent's command line (commander). Without a command it is the daemon, as it always was
 * (`meshgate-agent --config FILE`); `up` writes the config file from flags (and runs the daemon unless
 * `--no-start`), `status` reports what the running agent wrote, `down` removes the interface of a stopped agent.
 * Usage errors exit 2, as bad configuration does.
 */
export async function parseCommandLine(argv: string[], io: CommandIo = processIo): Promise<CommandLine> {
  let result: CommandLine = { kind: 'exit', code: 0 };
  const program = new Command('meshgate-agent')
    .description('MeshGate agent: joins this machine to the mesh and keeps its WireGuard interface as the control plane says.\n'
      + 'Without a command it runs the agent with the config file (and MESHGATE_<KEY> variables).')
    .version(`meshgate-agent ${AGENT_VERSION}`, '-V, --version', 'print the version')
    .enablePositionalOptions()
    .option('--config <file>', 'the config file (JSON; see apps/agent/README.md)')
    .option('--down-on-exit', 'remove the interface and its firewall table when stopped')
    .option('--rotate-key', 'rotate the node key once started (a running agent rotates on SIGUSR1)')
    .action((opts: { config?: string; downOnExit?: boolean; rotateKey?: boolean }) => {
      result = { kind: 'run', configPath: opts.config, downOnExit: opts.downOnExit ?? false, rotateKey: opts.rotateKey ?? false };
    });

  const up = program.command('up')
    .description('write the settings given as flags into the config file (0600; other keys kept), then run the agent')
    .option('--config <file>', 'the config file', DEFAULT_CONFIG_PATH)
    .option('--no-start', 'only write the config file (a service manager starts the agent)')
    .option('--down-on-exit', 'remove the interface and its firewall table when stopped');
  for (const flag of UP_FLAGS) up.addOption(new Option(`${flag.flag} <value>`, flag.help));
  up.action(async (opts: Record<string, string | boolean | undefined>) => {
    const configPath = String(opts.config);
    const code = await writeUpConfig(configPath, opts, io);
    if (code !== 0 || opts.start === false) result = { kind: 'exit', code };
    else result = { kind: 'run', configPath, downOnExit: opts.downOnExit === true, rotateKey: false };
  });

  program.command('status')
    .description("show the running agent's node, control plane, applied config version, enforcement and peers (exit 1 when not online)")
    .option('--config <file>', 'the config file (for state_dir)', DEFAULT_CONFIG_PATH)
    .option('--json', 'print the status file as JSON')
    .option('--wait <seconds>', 'wait up to this long for the node to be online')
    .action(async (opts: { config: string; json?: boolean; wait?: string }) => {
      result = { kind: 'exit', code: await runStatus(opts, io) };
    });

  program.command('down')
    .description('remove the interface and its firewall table, as --down-on-exit does (the agent must be stopped)')
    .option('--config <file>', 'the config file', DEFAULT_CONFIG_PATH)
    .action(async (opts: { config: string }) => {
      result = { kind: 'exit', code: await runDown(opts, io) };
    });

  for (const command of [program, ...program.commands]) {
    command.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // --help and --version end in a CommanderError too, with exit code 0.
    return { kind: 'exit', code: err.exitCode === 0 ? 0 : 2 };
  }
  return result;
}
