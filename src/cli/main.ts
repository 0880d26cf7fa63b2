// The CLI entry: event commands take a lean path (no commander, no network); everything else loads the commander program.
import { fstatSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ExitCode, isProgressError } from '../core/errors.js';
import { DELIVER_COMMAND } from '../core/flusher.js';
import { collectSecrets, scrub } from '../core/scrub.js';
import { checkpoint, error as errorCommand, stage, update } from './commands/events.js';
import { complete } from './commands/complete.js';
import { discover } from './commands/discover.js';
import { flush } from './commands/flush.js';
import { reset } from './commands/reset.js';
import { status } from './commands/status.js';
import type { Context } from './context.js';
import { createLogger, type Stdio } from './logger.js';
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

/** bin/progress.js, which the background flusher runs (from dist/progress.cjs or, in tests, src/cli/main.ts); computed when one is started. */
function defaultEntry(): string {
  return fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../../bin/progress.js' : '../bin/progress.js', import.meta.url));
}

/** Runs the CLI with these arguments; returns the exit code (only bin ends the process). */
export async function main(argv: readonly string[], io: Partial<Omit<Context, 'logger'>> = {}): Promise<number> {
  const env = io.env ?? process.env;
  const stdio = lazyStdio(io);
  const quiet = argv.includes('--quiet') || argv.includes('-q');
  const logger = await createLogger({ stdio, env, quiet, stderrIsTTY: io.stderr ? io.stderr.isTTY : stderrIsTTY() });
  const ctx: Context = {
    env,
    get stdin() {
      return stdio.stdin;
    },
    get stdout() {
      return stdio.stdout;
    },
    get stderr() {
      return stdio.stderr;
    },
    logger,
    get entry() {
      return io.entry ?? defaultEntry();
    },
    exitCode: 0,
  };
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

/**
 * The standard streams, created on first use: Node builds process.stdin/stdout/stderr lazily, and the first read
 * loads its stream machinery (2-4 ms), which a quiet `update` never needs.
 */
function lazyStdio(io: Partial<Omit<Context, 'logger'>>): Stdio {
  return {
    get stdin() {
      return io.stdin ?? process.stdin;
    },
    get stdout() {
      return io.stdout ?? quietOnEpipe(process.stdout);
    },
    get stderr() {
      return io.stderr ?? quietOnEpipe(process.stderr);
    },
  };
}

const guarded = new WeakSet<NodeJS.WritableStream>();
/** A reader that goes away (`progress status --json | head -1`) is not an error of ours: later writes are dropped. */
function quietOnEpipe<T extends NodeJS.WritableStream>(stream: T): T {
  if (!guarded.has(stream)) {
    guarded.add(stream);
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
  return stream;
}

/** Whether fd 2 is a terminal; a pipe or a file is told by fstat, without creating process.stderr. */
function stderrIsTTY(): boolean {
  try {
    // A terminal is a character device; anything else (pipe, file, socket) is not one.
    if (!fstatSync(2).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return !!process.stderr.isTTY;
}

/** Escapes control characters (newlines, terminal escapes) that a user's value may have carried into a message. */
function oneLine(message: string): string {
  return message.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

/** One clear line and the exit code; a stack trace only for internal errors with PROGRESS_DEBUG=1. */
function reportError(error: unknown, ctx: Context): number {
  const secrets = collectSecrets(ctx.env);
  if (isProgressError(error)) {
    ctx.logger.error(oneLine(scrub(error.message, secrets)));
    return error.exitCode;
  }
  const err = error instanceof Error ? error : new Error(String(error));
  ctx.logger.error(oneLine(scrub(`internal error: ${err.message} (this is a bug; PROGRESS_DEBUG=1 shows the stack trace)`, secrets)));
  if (ctx.env.PROGRESS_DEBUG === '1' && err.stack) ctx.stderr.write(`${scrub(err.stack, secrets)}\n`);
  return ExitCode.internal;
}
