// What a command runs with: its streams, environment and logger; tests pass their own.
import type { Logger } from './logger.js';

export interface Context {
  env: Record<string, string | undefined>;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  logger: Logger;
  /** Path of bin/progress.js, to start the background flusher. */
  entry: string;
  /** Set by commander actions, read after parsing. */
  exitCode: number;
}
