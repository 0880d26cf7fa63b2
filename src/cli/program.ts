// The commander program: help, version, and the commands off the hot path. Loaded only when needed.
import { Command, CommanderError, Option } from 'commander';
import { ExitCode } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { init } from './commands/init.js';
import { registerCompletionCommand } from './commands/completion.js';
import { registerWrapCommand } from './commands/wrap.js';
import type { Context } from './context.js';
import { findCommandIndex, parseCommandArgs } from './parse.js';
import { COMMANDS, COMMON_OPTIONS, type OptionSpec } from './specs.js';
import type { Handler } from './main.js';

function flagsOf(o: OptionSpec): string {
  return o.value ? `--${o.name} <${o.value}>` : `--${o.name}`;
}

function addSpecOptions(cmd: Command, options: OptionSpec[]): void {
  for (const o of options) {
    const option = new Option(flagsOf(o), o.description);
    if (o.multiple) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    cmd.addOption(option);
  }
}

function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/** Builds the program; event commands reuse the spec parser so the grammar is the one of the hot path. */
export function buildProgram(argv: readonly string[], ctx: Context, handlers: Record<string, Handler>): Command {
  const program = new Command('progress')
    .description('Report a crawler\'s progress to a task API: durable on disk first, delivered with retry, coalescing and idempotency keys.')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
      // One line: commander puts its "(Did you mean ...?)" suggestion on a line of its own.
      // The value of an unknown `--opt=VALUE` is never echoed: it may be a secret typed by mistake (`--token=...`).
      outputError: (s) => ctx.logger.error(s.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ').replace(/('--?[^'=\s]+)=[^']*'/g, "$1=…'")),
    });
  addSpecOptions(program, COMMON_OPTIONS);
  program.addHelpText(
    'after',
    `${examples([
      'progress init --endpoint https://api.example.com/api/internal2/tasks --task job_123 --token-stdin <<<"$TOKEN"',
      'progress stage discovery --operation discovery',
      'progress update --items issues=10 --last-id 42',
      'progress complete --summary "done"',
    ])}\nExit codes: 0 ok, 1 internal error, 2 usage, 3 configuration, 4 delivery incomplete, 5 refused by the API.\n`,
  );

  for (const spec of Object.values(COMMANDS)) {
    const cmd = program
      .command(`${spec.name}${spec.operands ? ` ${spec.operands.replace(/^([A-Z]+)(\.\.\.)?$/, '<$1$2>').replace(/^\[([A-Z]+)\]$/, '[$1]')}` : ''}`)
      .description(spec.summary)
      .addHelpText('after', examples(spec.examples));
    addSpecOptions(cmd, [...spec.options, ...COMMON_OPTIONS]);
    cmd.action(async () => {
      const at = findCommandIndex(argv);
      ctx.exitCode = await handlers[spec.name]!(parseCommandArgs(spec.name, argv.slice(at + 1)), ctx);
    });
  }

  program
    .command('init')
    .description('store the task\'s endpoint (and token) and make it the current task')
    .requiredOption('--endpoint <URL>', 'API base URL')
    .requiredOption('--task <ID>', 'task id')
    .option('--token-stdin', 'read the API token from standard input (stored with mode 0600)')
    .option('--state-dir <DIR>', 'state directory')
    .option('--quiet', 'silence notices')
    .addHelpText('after', examples(['printf %s "$TOKEN" | progress init --endpoint https://api.example.com/tasks --task job_123 --token-stdin']))
    .action(async (opts: { endpoint: string; task: string; tokenStdin?: boolean; stateDir?: string; quiet?: boolean }) => {
      ctx.exitCode = await init({ ...opts, stateDir: opts.stateDir ?? (program.opts().stateDir as string | undefined) }, ctx);
    });

  program
    .command('serve')
    .description('run the embedded receiver: accepts progress POSTs, keeps them in SQLite, serves a live dashboard')
    .option('--port <N>', 'port to listen on (0 picks a free one)', '8787')
    .option('--host <HOST>', 'address to bind', '127.0.0.1')
    .option('--data <FILE>', 'SQLite database file (default: serve.db in the state directory)')
    .option('--token <T>', 'bearer token POSTs must carry (or PROGRESS_SERVE_TOKEN)')
    .option('--quiet', 'no request log')
    .addHelpText('after', examples(['progress serve', 'progress serve --port 0 --data ./progress.db', 'PROGRESS_SERVE_TOKEN=s3cret progress serve --host 0.0.0.0']))
    .action(async (opts: { port: string; host: string; data?: string; token?: string; quiet?: boolean }) => {
      // Loaded only here: the receiver costs nothing on the event commands' hot path.
      const { serve } = await import('./commands/serve.js');
      ctx.exitCode = await serve(opts, ctx);
    });

  registerWrapCommand(program, argv, ctx);
  registerCompletionCommand(program, ctx);

  return program;
}

/** Runs the commander program; commander's own errors become one line and exit 2. */
export async function runProgram(argv: readonly string[], ctx: Context, handlers: Record<string, Handler>): Promise<number> {
  const program = buildProgram(argv, ctx, handlers);
  try {
    ctx.exitCode = 0;
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return ExitCode.ok;
      if (error.code === 'commander.help' || error.code === 'commander.executeSubCommandAsync') return ExitCode.usage;
      // commander has already printed its one line through outputError
      return ExitCode.usage;
    }
    throw error;
  }
}
