import type { Command } from 'commander';
import { Output } from './output';
import { Prompter } from './prompter';
import { Session } from './session';

/** What every command gets: the session (credentials and client), the prompter, the clock and where output goes. */
export interface CliContext {
  session: Session;
  prompter: Prompter;
  now: () => number;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** The CLI's own version (package.json). */
  version: string;
}

/** The output as the command's options (the global `--json` included) ask for it. */
export function outputOf(cli: CliContext, command: Command): Output {
  return { json: command.optsWithGlobals().json === true, stdout: cli.stdout, stderr: cli.stderr };
}
