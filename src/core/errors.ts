// One error hierarchy: every expected failure carries the exit code SPEC §6 gives it.

/** Exit codes of SPEC §6. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  config: 3,
  deliveryIncomplete: 4,
  refused: 5,
} as const;

/**
 * Marks every ProgressError. The CLI is several bundles (dist/progress.cjs and the lazily loaded dist/lazy/*.cjs), each with
 * its own copy of this class, so `instanceof` fails for an error thrown in one bundle and caught in another: test the brand.
 */
const BRAND = Symbol.for('progress.error');

/** An expected failure: one line for the user and an exit code; never a stack trace. */
export class ProgressError extends Error {
  readonly [BRAND] = true;

  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'ProgressError';
  }
}

/** Whether `error` is a ProgressError, from whichever bundle it was thrown (see BRAND). */
export function isProgressError(error: unknown): error is ProgressError {
  return typeof error === 'object' && error !== null && (error as { [BRAND]?: unknown })[BRAND] === true;
}

/** Bad arguments or input (exit 2): nothing was recorded. */
export class UsageError extends ProgressError {
  constructor(message: string) {
    super(message, ExitCode.usage);
    this.name = 'UsageError';
  }
}

/** Missing or unusable configuration, or unusable state on disk (exit 3). */
export class ConfigError extends ProgressError {
  constructor(message: string) {
    super(message, ExitCode.config);
    this.name = 'ConfigError';
  }
}

/** Delivery did not finish where it was awaited (exit 4): the events are kept. */
export class DeliveryIncompleteError extends ProgressError {
  constructor(message: string) {
    super(message, ExitCode.deliveryIncomplete);
    this.name = 'DeliveryIncompleteError';
  }
}

/** The API refused a payload with a 4xx; it is in the dead letters (exit 5). */
export class RefusedError extends ProgressError {
  constructor(message: string) {
    super(message, ExitCode.refused);
    this.name = 'RefusedError';
  }
}
