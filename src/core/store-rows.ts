// The state database's schema, the row types of its tables, and their mapping from SQLite rows.
import { ConfigError } from './errors.js';
import { addCounts } from './merge.js';
import type { Payload } from './payload.js';

export const DB_FILE = 'state.db';
export const SCHEMA_VERSION = 1;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
  task TEXT PRIMARY KEY,
  run_started_at INTEGER,
  run_completed INTEGER NOT NULL DEFAULT 0,
  stage TEXT,
  operation TEXT,
  processed INTEGER,
  total INTEGER,
  totals TEXT NOT NULL DEFAULT '{}',
  checkpoint TEXT,
  checkpoint_data TEXT,
  last_event_at INTEGER,
  last_send_at INTEGER,
  failures INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_error TEXT,
  last_error_kind TEXT,
  last_error_at INTEGER,
  refused_token TEXT,
  flusher_pid INTEGER,
  lease_until INTEGER,
  flusher_endpoint TEXT,
  handover_until INTEGER
);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task TEXT NOT NULL,
  mergeable INTEGER NOT NULL,
  body TEXT NOT NULL,
  events INTEGER NOT NULL DEFAULT 1,
  idem_key TEXT,
  endpoint TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_by_task ON outbox (task, id);
CREATE TABLE IF NOT EXISTS dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  outbox_id INTEGER NOT NULL,
  task TEXT NOT NULL,
  body TEXT NOT NULL,
  idem_key TEXT,
  status INTEGER,
  reason TEXT NOT NULL,
  dead_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_by_task ON dead_letters (task, id);
`;

/** A task's run state as kept between invocations. */
export interface TaskState {
  task: string;
  runStartedAt: number | null;
  runCompleted: boolean;
  stage: string | null;
  operation: string | null;
  processed: number | null;
  total: number | null;
  totals: Record<string, number>;
  checkpoint: string | null;
  checkpointData: string | null;
}

/** A task's delivery bookkeeping. */
export interface DeliveryState {
  lastSendAt: number | null;
  failures: number;
  nextAttemptAt: number | null;
  lastError: string | null;
  lastErrorKind: string | null;
  lastErrorAt: number | null;
  refusedToken: string | null;
  flusherPid: number | null;
  leaseUntil: number | null;
  /** The endpoint the lease holder delivers to. */
  flusherEndpoint: string | null;
  /** Until when a flusher started for another endpoint waits to take the lease over. */
  handoverUntil: number | null;
}

/** Where a command's events go: rows remember their endpoint, so a flusher never sends them elsewhere. */
export interface Route {
  /** The endpoint configured when the event was recorded (none: any endpoint may deliver it later). */
  endpoint?: string;
  /** Whether a flusher may be started now (an endpoint is set and the API has not refused this token). */
  canDeliver: boolean;
}

export interface OutboxRow {
  id: number;
  task: string;
  mergeable: boolean;
  body: string;
  events: number;
  idemKey: string | null;
  endpoint: string | null;
  createdAt: number;
}

/** What an event command asks the store to do, given the task's state. */
export interface EventPlan {
  /** The payloads to queue, in order (discovery may be several chunks). */
  payloads: Payload[];
  /** Plain updates may merge into an unsent update at the tail of the outbox. */
  mergeable: boolean;
  /** The new run state. */
  state: TaskState;
}

export interface RecordResult {
  /** The outbox rows now holding this event's payloads. */
  rowIds: number[];
  /** True when this call claimed the flusher lease and should start one. */
  startFlusher: boolean;
  state: TaskState;
}

export type Row = Record<string, unknown>;

/** The state of a task that has recorded nothing yet. */
export function emptyTaskState(task: string): TaskState {
  return {
    task,
    runStartedAt: null,
    runCompleted: false,
    stage: null,
    operation: null,
    processed: null,
    total: null,
    totals: Object.create(null),
    checkpoint: null,
    checkpointData: null,
  };
}

export function toTaskState(task: string, row: Row | undefined): TaskState {
  if (!row) return emptyTaskState(task);
  let totals: Record<string, number>;
  try {
    totals = addCounts(undefined, JSON.parse(String(row.totals)) as Record<string, number>);
  } catch {
    throw new ConfigError(`state of task ${JSON.stringify(task)} is corrupt (totals are not JSON)`);
  }
  return {
    task,
    runStartedAt: (row.run_started_at as number | null) ?? null,
    runCompleted: row.run_completed === 1,
    stage: (row.stage as string | null) ?? null,
    operation: (row.operation as string | null) ?? null,
    processed: (row.processed as number | null) ?? null,
    total: (row.total as number | null) ?? null,
    totals,
    checkpoint: (row.checkpoint as string | null) ?? null,
    checkpointData: (row.checkpoint_data as string | null) ?? null,
  };
}

export function toDeliveryState(row: Row | undefined): DeliveryState {
  return {
    lastSendAt: (row?.last_send_at as number | null) ?? null,
    failures: (row?.failures as number | undefined) ?? 0,
    nextAttemptAt: (row?.next_attempt_at as number | null) ?? null,
    lastError: (row?.last_error as string | null) ?? null,
    lastErrorKind: (row?.last_error_kind as string | null) ?? null,
    lastErrorAt: (row?.last_error_at as number | null) ?? null,
    refusedToken: (row?.refused_token as string | null) ?? null,
    flusherPid: (row?.flusher_pid as number | null) ?? null,
    leaseUntil: (row?.lease_until as number | null) ?? null,
    flusherEndpoint: (row?.flusher_endpoint as string | null) ?? null,
    handoverUntil: (row?.handover_until as number | null) ?? null,
  };
}

export function toOutboxRow(row: Row): OutboxRow {
  return {
    id: row.id as number,
    task: row.task as string,
    mergeable: row.mergeable === 1,
    body: row.body as string,
    events: row.events as number,
    idemKey: (row.idem_key as string | null) ?? null,
    endpoint: (row.endpoint as string | null) ?? null,
    createdAt: row.created_at as number,
  };
}
