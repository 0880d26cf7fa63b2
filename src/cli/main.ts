// The CLI entry: event commands take a lean path (no commander, no network); everything else loads the commander program.
import { fileURLToPath } from 'node:url';
import { ExitCode, ProgressError } from '../core/errors.js';
import { DELIVER_COMMAND } from '../core/flusher.js';
import { collectSecrets, scrub } from '../core/scrub.js';
import { checkpoint, error as errorCommand, stage, update } from './commands/events.js';
import { complete } from './commands/complete.js';
import { discover } from './commands/discover.js';
import { flush } from './commands/flush.js';
import { reset } from './commands/reset.js';
import { status } from './commands/status.js';
import type { Context } from './context.js';
import { createLogger } from './logger.js';
import { findCommandIndex, parseCommandArgs, type ParsedCommand } from './parse.js';

export type Handler = (p: ParsedCommand, ctx: Context) => Promise<number>;

export const HANDLERS: Record<string, Handler> = {
  update,
  stage,
  error: errorCommand,
  checkpoint,
  complete,
  discover,
  status,
  flush,
  reset,
};

/** bin/progress.js, which the background flusher runs (from dist/progress.mjs or, in tests, src/cli/main.ts). */
const ENTRY = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../../bin/progress.js' : '../bin/progress.js', import.meta.url));

/** Runs the CLI with these arguments; returns the exit code (only bin ends the process). */
export async function main(argv: readonly string[], io: Partial<Omit<Context, 'logger'>> = {}): Promise<number> {
  const env = io.env ?? process.env;
  const base = {
    env,
    stdin: io.stdin ?? process.stdin,
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    entry: io.entry ?? ENTRY,
    exitCode: 0,
  };
  const quiet = argv.includes('--quiet') || argv.includes('-q');
  const ctx: Context = { ...base, logger: await createLogger({ ...base, quiet }) };
  try {
    if (argv[0] === DELIVER_COMMAND) return await (await import('./commands/deliver-daemon.js')).deliverDaemon(env);
    const at = findCommandIndex(argv);
    const name = at >= 0 ? argv[at]! : undefined;
    // `progress error -- --help` records the message "--help": only options before `--` ask for help.
    const end = argv.indexOf('--');
    const options = end < 0 ? argv : argv.slice(0, end);
    const wantsHelp = options.includes('--help') || options.includes('-h');
    if (name !== undefined && Object.hasOwn(HANDLERS, name) && !wantsHelp) {
      const parsed = parseCommandArgs(name, [...argv.slice(0, at), ...argv.slice(at + 1)]);
      return await HANDLERS[name]!(parsed, ctx);
    }
    const { runProgram } = await import('./program.js');
    return await runProgram(argv, ctx, HANDLERS);
  } catch (error) {
    return reportError(error, ctx);
  }
}

/** Escapes control characters (newlines, terminal escapes) that a user's value may have carried into a message. */
function oneLine(message: string): string {
  return message.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

/** One clear line and the exit code; a stack trace only for internal errors with PROGRESS_DEBUG=1. */
function reportError(error: unknown, ctx: Context): number {
  const secrets = collectSecrets(ctx.env);
  if (error instanceof ProgressError) {
    ctx.logger.error(oneLine(scrub(error.message, secrets)));
    return error.exitCode;
  }
  const err = error instanceof Error ? error : new Error(String(error));
  ctx.logger.error(oneLine(scrub(`internal error: ${err.message} (this is a bug; PROGRESS_DEBUG=1 shows the stack trace)`, secrets)));
  if (ctx.env.PROGRESS_DEBUG === '1' && err.stack) ctx.stderr.write(`${scrub(err.stack, secrets)}\n`);
  return ExitCode.internal;
}
