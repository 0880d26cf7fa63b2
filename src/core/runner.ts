// Runs wrap's child with execa: stdin inherited, stderr (and stdout on request) piped, an extra in-band pipe, signals forwarded.
import { constants } from 'node:os';
import type { Readable } from 'node:stream';

/** The signals wrap forwards to its child (SPEC §5). */
export const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** How long wrap still reads the child's pipes after it exited: a background grandchild may hold them open forever. */
export const PIPE_GRACE_MS = 1000;

export interface ChildOptions {
  file: string;
  args: readonly string[];
  /** The child's whole environment. */
  env: Record<string, string | undefined>;
  /** Pipe stdout through wrap (for --markers or to print above a spinner); else the child writes to wrap's stdout directly. */
  pipeStdout: boolean;
  /** Descriptor number of the extra in-band pipe in the child (PROGRESS_FD), if any. */
  inBandFd?: number;
}

export interface ChildOutcome {
  exitCode?: number;
  /** Name of the signal that killed the child, e.g. SIGTERM. */
  signal?: string;
  /** The child could not be started: ENOENT (not found), EACCES (not executable), ... */
  spawnError?: string;
  durationMs: number;
}

export interface RunningChild {
  stdout?: Readable;
  stderr: Readable;
  inBand?: Readable;
  /** Sends a signal to the child (forwarding). */
  kill(signal: NodeJS.Signals): void;
  /** Settles once the child has exited and its pipes have ended, or were cut off PIPE_GRACE_MS after the exit. */
  done: Promise<ChildOutcome>;
}

/** wrap's exit code for an outcome: the child's own code, 128+N for signal N, 127 not found, 126 not executable. */
export function exitCodeFor(outcome: ChildOutcome): number {
  if (outcome.exitCode !== undefined) return outcome.exitCode;
  if (outcome.signal !== undefined) return 128 + ((constants.signals as Record<string, number>)[outcome.signal] ?? 0);
  return outcome.spawnError === 'ENOENT' ? 127 : 126;
}

/** Starts the child (execa is loaded here, lazily: only wrap pays for it). */
export async function startChild(options: ChildOptions): Promise<RunningChild> {
  const { execa } = await import('execa');
  const started = performance.now();
  const extra: ('inherit' | 'pipe')[] = [];
  if (options.inBandFd !== undefined) {
    while (extra.length < options.inBandFd - 3) extra.push('inherit');
    extra.push('pipe');
  }
  const stdio = ['inherit', options.pipeStdout ? 'pipe' : 'inherit', 'pipe', ...extra] as const;
  const subprocess = execa(options.file, [...options.args], {
    stdio,
    env: options.env,
    extendEnv: false,
    reject: false,
    buffer: false,
    // Forwarded signals are the child's to handle; wrap never escalates to SIGKILL on its own.
    forceKillAfterDelay: false,
    // No signal-exit hooks: wrap forwards signals itself, and signal-exit's "am I the only listener?" count
    // (which counts exit callbacks, not listeners) would otherwise re-raise SIGTERM on wrap before it is forwarded.
    cleanup: false,
    stripFinalNewline: false,
  });
  const pipes = [subprocess.stdout, subprocess.stderr, options.inBandFd !== undefined ? (subprocess.stdio[options.inBandFd] as Readable) : null].filter(
    (s): s is Readable => !!s,
  );
  let grace: NodeJS.Timeout | undefined;
  subprocess.once('exit', () => {
    grace = setTimeout(() => {
      for (const pipe of pipes) pipe.destroy();
    }, PIPE_GRACE_MS);
  });
  const done = (async (): Promise<ChildOutcome> => {
    const result = await subprocess;
    clearTimeout(grace);
    const durationMs = Math.round(performance.now() - started);
    if (typeof result.exitCode === 'number') return { exitCode: result.exitCode, durationMs };
    if (result.signal) return { signal: result.signal, durationMs };
    return { spawnError: (result as { code?: string }).code ?? 'EACCES', durationMs };
  })();
  return {
    stdout: subprocess.stdout ?? undefined,
    stderr: subprocess.stderr!,
    inBand: options.inBandFd !== undefined ? (subprocess.stdio[options.inBandFd] as Readable) : undefined,
    kill: (signal) => {
      try {
        subprocess.kill(signal);
      } catch {
        // the child is already gone
      }
    },
    done,
  };
}

/** Forwards SIGINT/SIGTERM/SIGHUP to `kill` instead of dying of them; returns the function that stops forwarding. */
export function forwardSignals(kill: (signal: NodeJS.Signals) => void): () => void {
  const handlers = FORWARDED_SIGNALS.map((signal) => [signal, () => kill(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

/** Reads a stream chunk by chunk into `write`, honouring backpressure: `write` returns false to pause until `drained`. */
export function pump(from: Readable, onChunk: (chunk: Buffer) => boolean | void, drained?: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    from.on('data', (chunk: Buffer) => {
      if (onChunk(chunk) === false && drained) {
        from.pause();
        drained.once('drain', () => from.resume());
      }
    });
    from.once('end', resolve);
    from.once('close', resolve);
    from.once('error', () => resolve());
  });
}
