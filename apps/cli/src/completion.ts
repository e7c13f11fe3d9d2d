import type { Command } from 'commander';

/** One command of the tree, flattened for a completion script. */
interface Entry {
  /** `/nodes/list`; the root is ``. */
  path: string;
  subcommands: Array<{ name: string; description: string }>;
  options: string[];
  /** Values its arguments take (`.choices()`), and whether one is a file. */
  choices: string[];
  files: boolean;
}

function entries(program: Command): Entry[] {
  const globals = program.options.map((o) => o.long!).filter((flag) => flag !== '--version');
  const walk = (command: Command, path: string): Entry[] => {
    // As help lists them: hidden ones left out, commander's implicit `help` command in.
    const subcommands = command.createHelp().visibleCommands(command).map((c) => ({ name: c.name(), description: c.description() }));
    const own = command.options.map((o) => o.long ?? o.short!);
    const entry: Entry = {
      path,
      subcommands,
      options: [...new Set([...own, ...globals, '--help'])],
      choices: command.registeredArguments.flatMap((a) => a.argChoices ?? []),
      files: command.registeredArguments.some((a) => a.name() === 'file'),
    };
    return [entry, ...command.commands.flatMap((c) => walk(c, `${path}/${c.name()}`))];
  };
  return walk(program, '');
}

/** Flags after which the next word is the option's value, not a command. */
function valueFlags(program: Command): string[] {
  const all = (c: Command): string[] => [...c.options.filter((o) => o.required || o.optional).map((o) => o.long!), ...c.commands.flatMap(all)];
  return [...new Set(all(program))];
}

const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/**
 * The shell loop both completions share: walks the words typed so far into `$cmdpath` (the subcommand path, flags and
 * their values skipped), and completes nothing after a flag that takes a value. Bash and zsh differ only in where the
 * words are and where they start.
 */
function commandPathWalk(program: Command, shell: { first: number; words: string; until: string; previous: string }): string {
  const known = entries(program).filter((e) => e.path !== '').map((e) => e.path).join('|');
  const values = valueFlags(program).join('|');
  return `  for ((i = ${shell.first}; i < ${shell.until}; i++)); do
    word="\${${shell.words}[i]}"
    case "$word" in
      ${values}) ((i++)); continue ;;
      -*) continue ;;
    esac
    case "$cmdpath/$word" in
      ${known}) cmdpath="$cmdpath/$word" ;;
    esac
  done
  case "${shell.previous}" in
    ${values}) return 0 ;;
  esac
`;
}

/** Sourced by bash (`source <(meshgate completion bash)`): subcommands, options, argument choices and files. */
export function bashCompletion(program: Command): string {
  const list = entries(program);
  const cases = list.map((e) => {
    const words = [...e.subcommands.map((s) => s.name), ...e.choices, ...e.options].join(' ');
    return `    ${quote(e.path)}) words=${quote(words)}; files=${e.files ? 1 : 0} ;;`;
  }).join('\n');
  return `# bash completion for meshgate: source <(meshgate completion bash)
_meshgate() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmdpath="" word words="" files=0 i
  COMPREPLY=()
${commandPathWalk(program, { first: 1, words: 'COMP_WORDS', until: 'COMP_CWORD', previous: '$prev' })}  case "$cmdpath" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
  if [[ $files == 1 && $cur != -* ]]; then COMPREPLY+=($(compgen -f -- "$cur")); fi
  return 0
}
complete -o default -F _meshgate meshgate
`;
}

/** For zsh: `source <(meshgate completion zsh)` after compinit, or saved as `_meshgate` in a directory of $fpath. */
export function zshCompletion(program: Command): string {
  const list = entries(program);
  const cases = list.map((e) => {
    const subcommands = e.subcommands.map((s) => quote(`${s.name}:${s.description.replace(/:/g, '\\:')}`)).join(' ');
    const lines = [
      e.subcommands.length ? `subcommands=(${subcommands}); _describe -t commands 'meshgate command' subcommands` : '',
      e.choices.length ? `compadd -- ${e.choices.map(quote).join(' ')}` : '',
      e.files ? '_files' : '',
      `compadd -- ${e.options.map(quote).join(' ')}`,
    ].filter(Boolean);
    return `    ${quote(e.path)}) ${lines.join('; ')} ;;`;
  }).join('\n');
  return `#compdef meshgate
# zsh completion for meshgate: source <(meshgate completion zsh), or save as _meshgate in a directory of $fpath
_meshgate() {
  local cmdpath="" word i
  local -a subcommands
${commandPathWalk(program, { first: 2, words: 'words', until: 'CURRENT', previous: '\${words[CURRENT-1]}' })}  case "$cmdpath" in
${cases}
  esac
}
if [[ "\${funcstack[1]}" == _meshgate ]]; then _meshgate "$@"; else compdef _meshgate meshgate; fi
`;
}
