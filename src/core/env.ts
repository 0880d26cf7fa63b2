// Every PROGRESS_* environment variable, declared once with its meaning, type and default.
import { ConfigError } from './errors.js';

type Env = Record<string, string | undefined>;

/** Settings that name the task and where it reports (precedence in config.ts). */
export const CONFIG_VARS = {
  /** API base URL; requests go to `{endpoint}/{taskId}/progress`. */
  endpoint: 'PROGRESS_API_ENDPOINT',
  /** Bearer token. Never accepted in argv. */
  token: 'PROGRESS_API_TOKEN',
  /** Path of a file holding the bearer token (first line, trimmed). */
  tokenFile: 'PROGRESS_API_TOKEN_FILE',
  /** The task id. */
  task: 'PROGRESS_TASK_ID',
  /** Where state lives; default `$XDG_STATE_HOME/progress`, else `~/.local/state/progress`. */
  stateDir: 'PROGRESS_STATE_DIR',
  /** `1` allows a bearer token over plain http to a non-loopback host. */
  allowInsecureHttp: 'PROGRESS_ALLOW_INSECURE_HTTP',
  /** `1` prints stack traces of internal errors. */
  debug: 'PROGRESS_DEBUG',
} as const;

/** Settings of `progress serve` (the embedded receiver). */
export const SERVE_VARS = {
  /** Bearer token that POSTs to `progress serve` must carry (`--token` wins). */
  token: 'PROGRESS_SERVE_TOKEN',
} as const;

/** Delivery tuning, in seconds where a time. */
export interface Tuning {
  /** One HTTP attempt (PROGRESS_REQUEST_TIMEOUT, default 10). */
  requestTimeoutMs: number;
  /** Attempts per payload within one delivery pass of `flush`/`complete` (PROGRESS_ATTEMPTS, default 3). */
  attempts: number;
  /** Minimum time between sends of plain updates, the coalescing window (PROGRESS_MIN_INTERVAL, default 1). */
  minIntervalMs: number;
  /** Longest an event command blocks on delivery (PROGRESS_MAX_WAIT, default 2). */
  maxWaitMs: number;
}

const TUNING_VARS: Record<keyof Tuning, { name: string; fallback: number; unit: 'seconds' | 'count'; min: number }> = {
  requestTimeoutMs: { name: 'PROGRESS_REQUEST_TIMEOUT', fallback: 10, unit: 'seconds', min: 0.05 },
  attempts: { name: 'PROGRESS_ATTEMPTS', fallback: 3, unit: 'count', min: 1 },
  minIntervalMs: { name: 'PROGRESS_MIN_INTERVAL', fallback: 1, unit: 'seconds', min: 0 },
  maxWaitMs: { name: 'PROGRESS_MAX_WAIT', fallback: 2, unit: 'seconds', min: 0 },
};

/** Reads the tuning variables; a malformed value is a configuration error (exit 3) naming the variable. */
export function readTuning(env: Env): Tuning {
  const out = {} as Tuning;
  for (const [key, spec] of Object.entries(TUNING_VARS) as [keyof Tuning, (typeof TUNING_VARS)[keyof Tuning]][]) {
    const raw = env[spec.name];
    let value = spec.fallback;
    if (raw !== undefined && raw.trim() !== '') {
      value = Number(raw);
      const whole = spec.unit === 'count';
      if (!Number.isFinite(value) || value < spec.min || value > 86_400 || (whole && !Number.isInteger(value))) {
        throw new ConfigError(
          `${spec.name}=${JSON.stringify(raw)} is not ${whole ? 'a whole number' : 'a number of seconds'} >= ${spec.min}`,
        );
      }
    }
    out[key] = spec.unit === 'seconds' ? Math.round(value * 1000) : value;
  }
  return out;
}

/** True when the variable is set to a truthy switch value (`1`, `true`, `yes`). */
export function isOn(env: Env, name: string): boolean {
  const v = env[name]?.trim().toLowerCase();
  return v === '1' || v === 'true' || v === 'yes';
}
