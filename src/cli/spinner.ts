// wrap's status line on a terminal: an ora spinner on stderr; the child's output is printed above it (ora hooks the writes).
import type { TaskState } from '../core/store.js';
import { formatDuration } from './commands/status.js';
import { wantsColor } from './logger.js';

export interface SpinnerOptions {
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  quiet: boolean;
}

/** A spinner only on a terminal stderr, not under CI, not with --quiet (TERM=dumb counts as no terminal); colour as the logger decides. */
export function wantsSpinner(o: SpinnerOptions): boolean {
  return !!o.stderr.isTTY && !o.env.CI && o.env.TERM !== 'dumb' && !o.quiet;
}

export interface StatusLine {
  /** Shows a new state (stage, totals); the rate and elapsed time are derived here. */
  show(state: TaskState): void;
  stop(): void;
}

const RATE_WINDOW_MS = 10_000;

/** Formats `stage · issues 1,204 · projects 12 · 35.1 items/s · 1m 5s`. */
export function statusText(state: TaskState, ratePerSecond: number, elapsedMs: number): string {
  const totals = Object.entries(state.totals).map(([type, n]) => `${type} ${n.toLocaleString('en-US')}`);
  const parts = [state.stage ?? 'running', ...(totals.length > 0 ? totals : ['no items yet'])];
  if (state.processed !== null) parts.push(`processed ${state.processed}${state.total !== null ? `/${state.total}` : ''}`);
  parts.push(`${ratePerSecond >= 10 ? Math.round(ratePerSecond) : ratePerSecond.toFixed(1)} items/s`, formatDuration(elapsedMs));
  return parts.join(' · ');
}

/** Starts the spinner (ora is loaded here, lazily). */
export async function startStatusLine(o: SpinnerOptions, startedAt: number): Promise<StatusLine> {
  const { default: ora } = await import('ora');
  const spinner = ora({
    stream: o.stderr as NodeJS.WriteStream,
    isEnabled: true,
    color: wantsColor(o.stderr, o.env) ? 'cyan' : false,
    // The child may read the terminal: never swallow its keystrokes, never hide its cursor.
    discardStdin: false,
    hideCursor: false,
  });
  const samples: { at: number; items: number }[] = [];
  let last: TaskState | undefined;
  const render = () => {
    if (!last) return;
    const now = Date.now();
    const items = Object.values(last.totals).reduce((a, b) => a + b, 0);
    samples.push({ at: now, items });
    while (samples.length > 2 && now - samples[0]!.at > RATE_WINDOW_MS) samples.shift();
    const first = samples[0]!;
    const rate = now - first.at > 0 ? ((items - first.items) * 1000) / (now - first.at) : 0;
    spinner.text = statusText(last, Math.max(0, rate), now - startedAt);
  };
  const timer = setInterval(render, 1000);
  spinner.start();
  return {
    show(state) {
      const first = last === undefined;
      last = state;
      if (first) render();
    },
    stop() {
      clearInterval(timer);
      spinner.stop();
    },
  };
}
