// Pure validation of user input: each function returns the clean value or throws a UsageError naming the argument.
import { UsageError } from './errors.js';

export const OPERATION_TYPES = ['discovery', 'branch_crawling', 'data_collection', 'finalization'] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

/** Longest text field kept in a payload; longer text is cut with a marker so no request grows without bound. */
export const MAX_TEXT = 4096;
/** Longest JSON accepted for --context / --data, in bytes. */
export const MAX_JSON = 16 * 1024;
/** Longest id (last-id, checkpoint id) and name (stage, type). */
export const MAX_ID = 1024;
export const MAX_NAME = 200;

const TYPE_NAME = /^[A-Za-z0-9_.-]+$/;

/** A bad value as quoted in an error message: JSON-escaped (so it stays on one line) and cut, so a huge argument is not echoed whole. */
export function quote(raw: string, max = 60): string {
  return JSON.stringify(raw.length > max ? `${raw.slice(0, max)}…` : raw);
}

/** A whole number >= 0 that JSON and JavaScript represent exactly. */
export function parseCount(raw: string, what: string): number {
  const text = raw.trim();
  if (!/^\d+$/.test(text)) throw new UsageError(`${what} must be a whole number >= 0, got ${quote(raw)}`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new UsageError(`${what} is too large (at most ${Number.MAX_SAFE_INTEGER}), got ${text}`);
  return value;
}

/** A type name: letters, digits, `_`, `-`, `.`. */
export function parseTypeName(raw: string, what: string): string {
  if (!TYPE_NAME.test(raw) || raw.length > MAX_NAME) {
    throw new UsageError(`${what} must be a name of letters, digits, _, - or . (at most ${MAX_NAME}), got ${quote(raw)}`);
  }
  return raw;
}

/** `--items TYPE=N`, repeatable; a type may appear once. Returns a null-prototype map. */
export function parseItems(values: readonly string[]): Record<string, number> | undefined {
  if (values.length === 0) return undefined;
  const items: Record<string, number> = Object.create(null);
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq < 0) throw new UsageError(`--items expects TYPE=N, got ${JSON.stringify(value)}`);
    const type = parseTypeName(value.slice(0, eq), '--items TYPE');
    if (Object.prototype.hasOwnProperty.call(items, type)) throw new UsageError(`--items names type "${type}" twice`);
    items[type] = parseCount(value.slice(eq + 1), `--items ${type}`);
  }
  return items;
}

export function parseOperation(raw: string, what = '--operation'): OperationType {
  if (!(OPERATION_TYPES as readonly string[]).includes(raw)) {
    throw new UsageError(`${what} must be one of ${OPERATION_TYPES.join(', ')}, got ${quote(raw)}`);
  }
  return raw as OperationType;
}

/** A non-empty single-line-or-not text of bounded length (stage names, ids). */
export function parseName(raw: string, what: string, max = MAX_NAME): string {
  if (raw.trim() === '') throw new UsageError(`${what} must not be empty`);
  if (raw.length > max) throw new UsageError(`${what} is too long (${raw.length} characters, at most ${max})`);
  if (/[\u0000]/.test(raw)) throw new UsageError(`${what} must not contain NUL characters`);
  return raw;
}

/** Free text (messages, errors): cut to MAX_TEXT with a marker rather than refused. */
export function capText(raw: string): string {
  if (raw.length <= MAX_TEXT) return raw;
  const marker = '…[truncated]';
  return raw.slice(0, MAX_TEXT - marker.length) + marker;
}

/** `--context` / `--data`: any JSON value up to MAX_JSON bytes. */
export function parseJson(raw: string, what: string): unknown {
  if (Buffer.byteLength(raw) > MAX_JSON) throw new UsageError(`${what} is too large (at most ${MAX_JSON} bytes of JSON)`);
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new UsageError(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Seconds as given to --timeout / --heartbeat: a number >= 0. */
export function parseSeconds(raw: string, what: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 7 * 86_400) {
    throw new UsageError(`${what} must be a number of seconds >= 0, got ${quote(raw)}`);
  }
  return value;
}
