// The one retry policy: which outcomes are retried, and how long to wait before the next attempt. Pure.

export type Outcome =
  | { kind: 'delivered' }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'auth'; reason: string }
  | { kind: 'refused'; status: number; reason: string };

/** Longest a Retry-After header may park delivery: a bad header cannot stall it for a day. */
export const RETRY_AFTER_CAP_MS = 60_000;
/** First backoff step and the cap of exponential backoff. */
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 8_000;

/** Classifies an HTTP status: 2xx delivered; 408, 429, 5xx retried; 401/403 token refused; other 4xx refused. */
export function classifyStatus(status: number, retryAfterMs?: number, detail = ''): Outcome {
  const suffix = detail ? `: ${detail}` : '';
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 408 || status === 429 || status >= 500) return { kind: 'retry', reason: `HTTP ${status}${suffix}`, retryAfterMs };
  if (status === 401 || status === 403) return { kind: 'auth', reason: `HTTP ${status}: the API refused the token${suffix}` };
  if (status >= 400) return { kind: 'refused', status, reason: `HTTP ${status}${suffix}` };
  // 1xx (after the interim ones) and 3xx: redirects are not followed, so the payload was not taken; try again later.
  return { kind: 'retry', reason: `HTTP ${status} (redirects are not followed)${suffix}` };
}

/** Parses Retry-After (delta-seconds or an HTTP date) into milliseconds, capped; undefined when absent or unusable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    // Only an HTTP date (it names a weekday or month); Date.parse would read "-5" or "1.5" as dates long past.
    if (!/^[A-Za-z]{3}/.test(text)) return undefined;
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 0), RETRY_AFTER_CAP_MS);
}

/**
 * Delay before attempt number `failures + 1`: exponential from BACKOFF_BASE_MS, capped, with "equal
 * jitter" (half fixed, half random) so parallel callers spread out. Retry-After, when given, is honoured
 * as the earliest next attempt; it can lengthen the wait (up to its cap) but never shorten it below the
 * backoff, so a server answering `Retry-After: 0` (or a date in the past) is not hammered in a loop.
 */
export function backoffDelay(failures: number, retryAfterMs: number | undefined, random: () => number = Math.random): number {
  const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1));
  const backoff = Math.round(step / 2 + random() * (step / 2));
  return retryAfterMs === undefined ? backoff : Math.max(retryAfterMs, backoff);
}
