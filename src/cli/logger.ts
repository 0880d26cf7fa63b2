// The one logger: results on stdout, notices and errors on stderr; colour only on a TTY, never with NO_COLOR or under CI.
import { Chalk } from 'chalk';

export interface Logger {
  /** Informational line; silenced by --quiet. */
  notice(message: string): void;
  /** Something the user should fix; shown even with --quiet. */
  warn(message: string): void;
  /** The failure that ends the command. */
  error(message: string): void;
  /** Machine or result output, on stdout. */
  out(text: string): void;
  /** Human report text, on stderr (SPEC §3: human text on stderr). */
  report(text: string): void;
  readonly color: boolean;
  readonly chalk: InstanceType<typeof Chalk>;
}

export interface LoggerOptions {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  quiet?: boolean;
}

/** Colour when stderr is a terminal and neither NO_COLOR nor CI is set. */
export function wantsColor(stderr: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  return !!stderr.isTTY && env.NO_COLOR === undefined && !env.CI && env.TERM !== 'dumb';
}

export function createLogger(options: LoggerOptions): Logger {
  const color = wantsColor(options.stderr, options.env);
  const chalk = new Chalk({ level: color ? 1 : 0 });
  const line = (text: string) => options.stderr.write(`${text}\n`);
  return {
    color,
    chalk,
    notice: (message) => {
      if (!options.quiet) line(`${chalk.dim('progress:')} ${message}`);
    },
    warn: (message) => line(`${chalk.yellow('progress: warning:')} ${message}`),
    error: (message) => line(`${chalk.red('progress: error:')} ${message}`),
    out: (text) => options.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`),
    report: (text) => options.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  };
}
