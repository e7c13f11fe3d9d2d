import { Argument, Command } from 'commander';
import { CliContext } from '../cli-context';
import { bashCompletion, zshCompletion } from '../completion';

export function completionCommand(program: Command, cli: CliContext): void {
  program
    .command('completion')
    .description('print a shell completion script')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .addHelpText('after', `
  bash:  source <(meshgate completion bash)        (or save it in /etc/bash_completion.d/meshgate)
  zsh:   source <(meshgate completion zsh)         (after compinit; or save it as _meshgate in a directory of $fpath)`)
    .action((shell: 'bash' | 'zsh') => {
      cli.stdout.write(shell === 'bash' ? bashCompletion(program) : zshCompletion(program));
    });
}
