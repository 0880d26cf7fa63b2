// The one logger: results on stdout, notices and errors on stderr; colour (chalk) only on a TTY, never with NO_COLOR or under CI.

/** Text styles; plain identity functions when colour is off, so chalk is loaded only for a terminal. */
export interface Styles {
  bold(text: string): string;
  dim(text: string): string;
  yellow(text: string): string;
  red(text: string): string;
  green(text: string): string;
}

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
  readonly quiet: boolean;
  readonly style: Styles;
}

/** The streams a command may use; read only when written to (they may be getters that create the stream). */
export interface Stdio {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface LoggerOptions {
  stdio: Omit<Stdio, 'stdin'>;
  env: Record<string, string | undefined>;
  quiet?: boolean;
  /** Whether stderr is a terminal, when known without reading stdio.stderr (which would create the stream). */
  stderrIsTTY?: boolean;
}

/** Colour when stderr is a terminal and neither NO_COLOR nor CI is set. */
export function wantsColor(stderr: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  return !!stderr.isTTY && env.NO_COLOR === undefined && !env.CI && env.TERM !== 'dumb';
}

const plain = (text: string) => text;
const PLAIN: Styles = { bold: plain, dim: plain, yellow: plain, red: plain, green: plain };

export async function createLogger(options: LoggerOptions): Promise<Logger> {
  const { stdio } = options;
  const color = wantsColor(options.stderrIsTTY === undefined ? stdio.stderr : { isTTY: options.stderrIsTTY }, options.env);
  let style = PLAIN;
  if (color) {
    const { Chalk } = await import('chalk');
    const chalk = new Chalk({ level: 1 });
    style = { bold: chalk.bold, dim: chalk.dim, yellow: chalk.yellow, red: chalk.red, green: chalk.green };
  }
  const line = (text: string) => stdio.stderr.write(`${text}\n`);
  return {
    color,
    quiet: !!options.quiet,
    style,
    notice: (message) => {
      if (!options.quiet) line(`${style.dim('progress:')} ${message}`);
    },
    warn: (message) => line(`${style.yellow('progress: warning:')} ${message}`),
    error: (message) => line(`${style.red('progress: error:')} ${message}`),
    out: (text) => stdio.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`),
    report: (text) => stdio.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  };
}
