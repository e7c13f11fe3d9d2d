import { CliContext } from '../cli-context';
import { CliError, ExitCode } from '../exit-codes';

/** Asks on stderr, reads the answer from stdin (a terminal, or a line from a pipe); `--yes` skips it. */
export async function confirmOrAbort(cli: CliContext, yes: boolean | undefined, question: string): Promise<void> {
  if (yes) return;
  if (!(await cli.prompter.confirm(question))) throw new CliError(ExitCode.FAILED, 'aborted: nothing was changed');
}
