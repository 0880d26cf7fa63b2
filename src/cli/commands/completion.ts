// completion: prints a bash, zsh or fish completion script generated from the command grammar (specs.ts via the program).
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { OPERATION_TYPES } from '../../core/validate.js';
import type { Context } from '../context.js';
import { COMMANDS } from '../specs.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface OptionInfo {
  long: string;
  takesValue: boolean;
  multiple: boolean;
  description: string;
}

interface CommandInfo {
  name: string;
  description: string;
  options: OptionInfo[];
}

/** Values some options complete to; the rest take free text. */
const VALUE_WORDS: Record<string, string[]> = { operation: [...OPERATION_TYPES] };
const DIR_OPTIONS = new Set(['state-dir']);
const FILE_OPTIONS = new Set(['data', 'state-dir']);

function optionsOf(cmd: Command, specName?: string): OptionInfo[] {
  return cmd.options
    .filter((o) => o.long && !o.hidden)
    .map((o) => ({
      long: o.long!.slice(2),
      takesValue: o.required || o.optional,
      multiple: COMMANDS[specName ?? '']?.options.some((s) => s.name === o.long!.slice(2) && s.multiple) ?? false,
      description: o.description,
    }));
}

/** Commands and options as the program declares them (the spec commands come from specs.ts). */
export function describeProgram(program: Command): { global: OptionInfo[]; commands: CommandInfo[] } {
  return {
    global: optionsOf(program),
    commands: program.commands
      .filter((c) => !(c as unknown as { _hidden?: boolean })._hidden)
      .map((c) => ({ name: c.name(), description: c.description(), options: optionsOf(c, c.name()) })),
  };
}

const sq = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
const firstLine = (s: string) => (s.split('\n')[0] ?? '').slice(0, 90);

function bash(p: ReturnType<typeof describeProgram>): string {
  const globalValued = p.global.filter((o) => o.takesValue).map((o) => `--${o.long}`);
  const cases = p.commands.map((c) => `    ${c.name}) opts=${sq(c.options.map((o) => `--${o.long}`).join(' '))} ;;`).join('\n');
  const valued = [...new Set([...p.global, ...p.commands.flatMap((c) => c.options)].filter((o) => o.takesValue).map((o) => `--${o.long}`))];
  return `# bash completion for progress; load with: source <(progress completion bash)
_progress() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local cmd="" i=1 opts=""
  while (( i < COMP_CWORD )); do
    case "\${COMP_WORDS[i]}" in
      ${globalValued.join('|') || '--__none'}) (( i += 2 )); continue ;;
      -*) (( i++ )); continue ;;
      *) cmd="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  if [[ -z "$cmd" ]]; then
    COMPREPLY=( $(compgen -W ${sq([...p.commands.map((c) => c.name), ...p.global.map((o) => `--${o.long}`)].join(' '))} -- "$cur") )
    return
  fi
  if [[ "$cmd" == wrap ]]; then
    # After "--" or the first word that is not an option, complete CMD and its arguments.
    local j=$(( i + 1 ))
    while (( j < COMP_CWORD )); do
      case "\${COMP_WORDS[j]}" in
        --) (( j++ )); break ;;
        --stage|--operation|--heartbeat|--tail-lines|${globalValued.join('|') || '--__none'}) (( j += 2 )) ;;
        -*) (( j++ )) ;;
        *) break ;;
      esac
    done
    if (( j < COMP_CWORD )); then COMPREPLY=( $(compgen -f -- "$cur") ); return; fi
    if (( j == COMP_CWORD )) && [[ "\${COMP_WORDS[j-1]}" == -- || "$cur" != -* ]]; then COMPREPLY=( $(compgen -c -- "$cur") ); return; fi
  fi
  case "$prev" in
    --operation) COMPREPLY=( $(compgen -W ${sq(OPERATION_TYPES.join(' '))} -- "$cur") ); return ;;
    --state-dir) COMPREPLY=( $(compgen -d -- "$cur") ); return ;;
    ${valued.filter((o) => o !== '--operation' && o !== '--state-dir').join('|')}) return ;;
  esac
  case "$cmd" in
${cases}
  esac
  if [[ "$cur" == -* || "$cmd" == wrap ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  elif [[ "$cmd" == completion ]]; then
    COMPREPLY=( $(compgen -W ${sq(SHELLS.join(' '))} -- "$cur") )
  elif [[ "$cmd" == discover ]]; then
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -F _progress progress
`;
}

/** Escapes text for a zsh _arguments spec inside single quotes. */
const zdesc = (s: string) => firstLine(s).replace(/([[\]:\\])/g, '\\$1').replace(/'/g, "'\\''");

function zshOption(o: OptionInfo): string {
  const action = VALUE_WORDS[o.long] ? `(${VALUE_WORDS[o.long]!.join(' ')})` : DIR_OPTIONS.has(o.long) ? '_files -/' : FILE_OPTIONS.has(o.long) ? '_files' : ' ';
  return `'${o.multiple ? '*' : ''}--${o.long}${o.takesValue ? '=' : ''}[${zdesc(o.description)}]${o.takesValue ? `:${o.long}:${action}` : ''}'`;
}

function zsh(p: ReturnType<typeof describeProgram>): string {
  const describe = p.commands.map((c) => `    '${c.name}:${zdesc(c.description)}'`).join('\n');
  const cases = p.commands
    .map((c) => {
      const extra = c.name === 'wrap' ? " '(-)1:command:_command_names -e' '*::arguments:_normal'" : c.name === 'discover' ? " '1:file:_files'" : c.name === 'completion' ? " '1:shell:(bash zsh fish)'" : '';
      return `        ${c.name}) _arguments${c.name === 'wrap' ? ' -S' : ''} ${c.options.map(zshOption).join(' ')}${extra} ;;`;
    })
    .join('\n');
  return `#compdef progress
# zsh completion for progress; load with: source <(progress completion zsh), or save as _progress in your $fpath
_progress() {
  local curcontext="$curcontext" state line
  typeset -A opt_args
  local -a commands
  commands=(
${describe}
  )
  _arguments -C ${p.global.map(zshOption).join(' ')} '1: :->command' '*:: :->args'
  case $state in
    command) _describe -t commands 'progress command' commands ;;
    args)
      case $words[1] in
${cases}
      esac ;;
  esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _progress "$@"; else compdef _progress progress; fi
`;
}

function fish(p: ReturnType<typeof describeProgram>): string {
  const names = p.commands.map((c) => c.name).join(' ');
  const lines = [
    '# fish completion for progress; load with: progress completion fish | source',
    'complete -c progress -f',
    ...p.global.map((o) => `complete -c progress -l ${o.long}${o.takesValue ? ' -r' : ''} -d ${sq(firstLine(o.description))}`),
    ...p.commands.map((c) => `complete -c progress -n "not __fish_seen_subcommand_from ${names}" -a ${c.name} -d ${sq(firstLine(c.description))}`),
  ];
  for (const c of p.commands) {
    for (const o of c.options) {
      const values = VALUE_WORDS[o.long] ? ` -a ${sq(VALUE_WORDS[o.long]!.join(' '))}` : FILE_OPTIONS.has(o.long) ? ' -F' : '';
      lines.push(`complete -c progress -n "__fish_seen_subcommand_from ${c.name}" -l ${o.long}${o.takesValue ? ' -r' : ''}${values} -d ${sq(firstLine(o.description))}`);
    }
  }
  lines.push(
    'complete -c progress -n "__fish_seen_subcommand_from completion" -a "bash zsh fish"',
    'complete -c progress -n "__fish_seen_subcommand_from discover" -F',
    'complete -c progress -n "__fish_seen_subcommand_from wrap" -a "(__fish_complete_subcommand --fcs-skip=2)"',
  );
  return `${lines.join('\n')}\n`;
}

/** The completion script for a shell. */
export function completionScript(shell: string, program: Command): string {
  const p = describeProgram(program);
  switch (shell) {
    case 'bash':
      return bash(p);
    case 'zsh':
      return zsh(p);
    case 'fish':
      return fish(p);
    default:
      throw new UsageError(`completion supports ${SHELLS.join(', ')}; got ${JSON.stringify(shell)}`);
  }
}

export function registerCompletionCommand(program: Command, ctx: Context): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .argument('<SHELL>', SHELLS.join(', '))
    .addHelpText(
      'after',
      '\nExamples:\n  $ source <(progress completion bash)          # in ~/.bashrc\n  $ progress completion zsh > "${fpath[1]}/_progress"\n  $ progress completion fish > ~/.config/fish/completions/progress.fish\n',
    )
    .action((shell: string) => {
      ctx.stdout.write(completionScript(shell, program));
      ctx.exitCode = 0;
    });
}
