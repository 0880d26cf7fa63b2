// Parses a command's arguments against its spec (util.parseArgs: no dependency on the hot path).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../core/errors.js';
import { COMMANDS, COMMON_OPTIONS, type OptionSpec } from './specs.js';

export interface ParsedCommand {
  command: string;
  operands: string[];
  /** Option values by long name: string, string[] (repeatable) or true (switch). */
  options: Record<string, string | string[] | boolean | undefined>;
}

const configCache = new Map<string, ParseArgsConfig['options']>();

function parseOptionsFor(command: string): ParseArgsConfig['options'] {
  let options = configCache.get(command);
  if (!options) {
    options = {};
    const all: OptionSpec[] = [...COMMON_OPTIONS, ...(COMMANDS[command]?.options ?? [])];
    for (const o of all) options[o.name] = { type: o.value ? 'string' : 'boolean', multiple: o.multiple ?? false };
    options.q = { type: 'boolean' };
    configCache.set(command, options);
  }
  return options;
}

/** Turns parseArgs' messages into one short line that names the argument. */
function usageMessage(command: string, error: NodeJS.ErrnoException): string {
  const message = error.message.split('\n')[0] ?? error.message;
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? message} for "progress ${command}" (see progress ${command} --help)`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/ambiguous/.test(message)) return `${option} needs a value; to pass one starting with "-" write ${option}=VALUE`;
      if (/argument missing/.test(message)) return `${option} needs a value`;
      return `${option ?? 'an option'} does not take a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''} for "progress ${command}"`.replace(/ +for/, ' for');
    default:
      return message;
  }
}

/** Parses `args` (everything after the command name) for `command`; throws UsageError with one clear line. */
export function parseCommandArgs(command: string, args: readonly string[]): ParsedCommand {
  try {
    const { values, positionals, tokens } = parseArgs({
      args: [...args],
      options: parseOptionsFor(command),
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
    const options = values as ParsedCommand['options'];
    if (options.q) options.quiet = true;
    // A repeated single-valued option is a mistake, not "last one wins"; a repeated switch (--quiet -q) is harmless.
    const seen = new Set<string>();
    for (const token of tokens as { kind: string; name?: string; value?: string }[]) {
      if (token.kind !== 'option' || token.name === undefined || token.value === undefined) continue;
      const multiple = COMMANDS[command]?.options.find((o) => o.name === token.name)?.multiple ?? false;
      if (!multiple && seen.has(token.name)) throw new UsageError(`--${token.name} given more than once`);
      seen.add(token.name);
    }
    return { command, operands: positionals, options };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(usageMessage(command, error as NodeJS.ErrnoException));
  }
}

/** Global options may stand before the command: `progress --task X update ...`. Returns the command's index. */
export function findCommandIndex(argv: readonly string[]): number {
  const withValue = new Set(COMMON_OPTIONS.filter((o) => o.value).map((o) => `--${o.name}`));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (withValue.has(arg)) i++;
    else if (!arg.startsWith('-')) return i;
    else if (arg === '--') return i + 1 < argv.length ? i + 1 : -1;
  }
  return -1;
}

export function str(options: ParsedCommand['options'], name: string): string | undefined {
  const v = options[name];
  return typeof v === 'string' ? v : undefined;
}

export function list(options: ParsedCommand['options'], name: string): string[] {
  const v = options[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}
