// The receiver's SQLite database (better-sqlite3, WAL): schema, opening, and the read side (task list and detail).
import Database from 'better-sqlite3';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { ConfigError } from '../core/errors.js';

const SCHEMA_VERSION = 1;

/** The whole schema; README.md quotes it. Times are epoch milliseconds unless named `*_iso`. */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS tasks (
  task TEXT PRIMARY KEY,
  run INTEGER NOT NULL DEFAULT 1,          -- a payload after completion starts run + 1
  run_started_at INTEGER NOT NULL,         -- client time of the run's first event
  last_event_at INTEGER NOT NULL,          -- client time of the latest event
  updated_at INTEGER NOT NULL,             -- server time of the latest applied request
  completed_at INTEGER,
  status TEXT NOT NULL,                    -- running | error | completed
  stage TEXT, operation_type TEXT, message TEXT, current_data_type TEXT, last_processed_id TEXT,
  processed_items INTEGER, total_items INTEGER,
  events INTEGER NOT NULL DEFAULT 0,       -- applied requests
  errors INTEGER NOT NULL DEFAULT 0
);
-- Each Idempotency-Key is applied once per task: the insert below and the apply share one transaction.
CREATE TABLE IF NOT EXISTS applied_keys (
  task TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  body_sha256 TEXT NOT NULL,
  applied_at INTEGER NOT NULL,
  UNIQUE (task, idem_key)
);
CREATE TABLE IF NOT EXISTS totals (
  task TEXT NOT NULL, type TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (task, type)
) WITHOUT ROWID;
-- Cumulative counts over time for the chart: at most one row per task per second.
CREATE TABLE IF NOT EXISTS samples (
  id INTEGER PRIMARY KEY, task TEXT NOT NULL, run INTEGER NOT NULL, at INTEGER NOT NULL,
  done INTEGER NOT NULL, items INTEGER NOT NULL, totals TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_by_task ON samples (task, run, id);
CREATE TABLE IF NOT EXISTS timeline (
  id INTEGER PRIMARY KEY, task TEXT NOT NULL, run INTEGER NOT NULL,
  at_iso TEXT NOT NULL, event TEXT NOT NULL, details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS timeline_by_task ON timeline (task, event, id);
CREATE TABLE IF NOT EXISTS areas (
  task TEXT NOT NULL, type TEXT NOT NULL, gitlab_id TEXT NOT NULL, name TEXT NOT NULL,
  full_path TEXT, web_url TEXT, description TEXT, discovered_by TEXT, discovered_at INTEGER NOT NULL,
  PRIMARY KEY (task, type, gitlab_id)
);
`;

type Row = Record<string, any>;

/** What the list shows of a task (also the data of each SSE `task` event). */
export interface TaskSummary {
  id: string;
  status: 'running' | 'error' | 'completed';
  run: number;
  stage: string | null;
  operationType: string | null;
  message: string | null;
  currentDataType: string | null;
  lastProcessedId: string | null;
  processedItems: number | null;
  totalItems: number | null;
  totals: Record<string, number>;
  /** Sum of totals by type. */
  items: number;
  startedAt: string;
  lastEventAt: string;
  updatedAt: string;
  completedAt: string | null;
  /** Run duration so far (to the latest event, or to completion). */
  elapsedMs: number;
  /** Items per second over about the last 30 s (average over the run once completed). */
  itemsPerSecond: number | null;
  /** Seconds until processedItems reaches totalItems at the recent rate; null when unknown. */
  etaSeconds: number | null;
  events: number;
  errors: number;
  areas: number;
}

export interface TaskDetail extends TaskSummary {
  /** Cumulative items over time, downsampled to at most SERIES_POINTS points. */
  series: { at: string; done: number; totals: Record<string, number> }[];
  /** Stage changes, errors, completions and other non-progress entries (the latest TIMELINE_LIMIT), oldest first. */
  timeline: { at: string; event: string; run: number; details: unknown }[];
  /** How many progress_update entries the task's timeline holds (not listed). */
  progressUpdates: number;
  discoveredAreas: { type: string; gitlabId: string; name: string; fullPath: string | null; webUrl: string | null; description: string | null; discoveredBy: string | null }[];
}

export const SERIES_POINTS = 240;
export const TIMELINE_LIMIT = 300;
export const AREAS_LIMIT = 1000;
const RATE_WINDOW_MS = 30_000;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function parseTotals(text: string): Record<string, number> {
  try {
    return JSON.parse(text) as Record<string, number>;
  } catch {
    return {};
  }
}

/** Opens (creating when missing, mode 0600, parent 0700) the database at `path`. */
export function openDatabase(path: string): Database.Database {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
    // The addon is located directly, as in core/store.ts: the bundle carries better-sqlite3's JavaScript but not its .node file.
    const nativeBinding = createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node');
    const db = new Database(path, { timeout: 5_000, fileMustExist: true, nativeBinding });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    if ((db.pragma('user_version', { simple: true }) as number) < SCHEMA_VERSION) {
      db.transaction(() => {
        db.exec(SCHEMA);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      }).immediate();
    }
    return db;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`cannot open the serve database ${path}: ${code ?? (error as Error).message}`);
  }
}

/** Read-side queries over the database. */
export class TaskReader {
  private readonly taskRow;
  private readonly allTasks;
  private readonly taskCount;
  private readonly totalsOf;
  private readonly areaCount;
  private readonly lastSample;
  private readonly sampleBefore;
  private readonly firstSample;
  private readonly sampleCount;
  private readonly samplesEvery;
  private readonly timelineOf;
  private readonly progressCount;
  private readonly areasOf;

  constructor(private readonly db: Database.Database) {
    this.taskRow = db.prepare('SELECT * FROM tasks WHERE task = ?');
    this.allTasks = db.prepare('SELECT * FROM tasks ORDER BY updated_at DESC, task');
    this.taskCount = db.prepare('SELECT count(*) FROM tasks').pluck();
    this.totalsOf = db.prepare('SELECT type, count FROM totals WHERE task = ? ORDER BY count DESC, type');
    this.areaCount = db.prepare('SELECT count(*) AS n FROM areas WHERE task = ?').pluck();
    this.lastSample = db.prepare('SELECT * FROM samples WHERE task = ? AND run = ? ORDER BY id DESC LIMIT 1');
    this.sampleBefore = db.prepare('SELECT * FROM samples WHERE task = ? AND run = ? AND at <= ? ORDER BY id DESC LIMIT 1');
    this.firstSample = db.prepare('SELECT * FROM samples WHERE task = ? AND run = ? ORDER BY id LIMIT 1');
    this.sampleCount = db.prepare('SELECT count(*) FROM samples WHERE task = ? AND run = ?').pluck();
    this.samplesEvery = db.prepare(`SELECT at, done, totals FROM (
        SELECT at, done, totals, row_number() OVER (ORDER BY id) AS rn FROM samples WHERE task = ? AND run = ?
      ) WHERE (rn - 1) % ? = 0 OR rn = ? ORDER BY rn`);
    this.timelineOf = db.prepare(`SELECT * FROM (
        SELECT id, run, at_iso, event, details FROM timeline WHERE task = ? AND event != 'progress_update' ORDER BY id DESC LIMIT ?
      ) ORDER BY id`);
    this.progressCount = db.prepare("SELECT count(*) FROM timeline WHERE task = ? AND event = 'progress_update'").pluck();
    this.areasOf = db.prepare('SELECT * FROM areas WHERE task = ? ORDER BY discovered_at, type, gitlab_id LIMIT ?');
  }

  summary(task: string): TaskSummary | undefined {
    const row = this.taskRow.get(task) as Row | undefined;
    return row ? this.toSummary(row) : undefined;
  }

  count(): number {
    return this.taskCount.get() as number;
  }

  list(): TaskSummary[] {
    return (this.allTasks.all() as Row[]).map((r) => this.toSummary(r));
  }

  detail(task: string): TaskDetail | undefined {
    const summary = this.summary(task);
    if (!summary) return undefined;
    const n = this.sampleCount.get(task, summary.run) as number;
    const step = Math.max(1, Math.ceil(n / SERIES_POINTS));
    const series = (this.samplesEvery.all(task, summary.run, step, n) as Row[]).map((s) => ({
      at: iso(s.at as number)!,
      done: s.done as number,
      totals: parseTotals(s.totals as string),
    }));
    const timeline = (this.timelineOf.all(task, TIMELINE_LIMIT) as Row[]).map((t) => ({
      at: t.at_iso as string,
      event: t.event as string,
      run: t.run as number,
      details: JSON.parse(t.details as string) as unknown,
    }));
    const discoveredAreas = (this.areasOf.all(task, AREAS_LIMIT) as Row[]).map((a) => ({
      type: a.type as string,
      gitlabId: a.gitlab_id as string,
      name: a.name as string,
      fullPath: (a.full_path as string | null) ?? null,
      webUrl: (a.web_url as string | null) ?? null,
      description: (a.description as string | null) ?? null,
      discoveredBy: (a.discovered_by as string | null) ?? null,
    }));
    return { ...summary, series, timeline, progressUpdates: this.progressCount.get(task) as number, discoveredAreas };
  }

  private toSummary(row: Row): TaskSummary {
    const task = row.task as string;
    const run = row.run as number;
    const totals: Record<string, number> = {};
    let items = 0;
    for (const t of this.totalsOf.all(task) as Row[]) {
      totals[t.type as string] = t.count as number;
      items += t.count as number;
    }
    const completed = row.status === 'completed';
    const startedAt = row.run_started_at as number;
    const end = completed ? ((row.completed_at as number | null) ?? (row.last_event_at as number)) : (row.last_event_at as number);
    const elapsedMs = Math.max(0, end - startedAt);
    const { itemsPerSecond, doneRate } = this.rates(task, run, completed, elapsedMs, items);
    const processed = (row.processed_items as number | null) ?? null;
    const total = (row.total_items as number | null) ?? null;
    const done = processed ?? items;
    let etaSeconds: number | null = null;
    if (completed) etaSeconds = 0;
    else if (total !== null && doneRate !== null && doneRate > 0) etaSeconds = Math.max(0, Math.round((total - done) / doneRate));
    return {
      id: task,
      status: row.status as TaskSummary['status'],
      run,
      stage: row.stage ?? null,
      operationType: row.operation_type ?? null,
      message: row.message ?? null,
      currentDataType: row.current_data_type ?? null,
      lastProcessedId: row.last_processed_id ?? null,
      processedItems: processed,
      totalItems: total,
      totals,
      items,
      startedAt: iso(startedAt)!,
      lastEventAt: iso(row.last_event_at as number)!,
      updatedAt: iso(row.updated_at as number)!,
      completedAt: iso((row.completed_at as number | null) ?? null),
      elapsedMs,
      itemsPerSecond,
      etaSeconds,
      events: row.events as number,
      errors: row.errors as number,
      areas: this.areaCount.get(task) as number,
    };
  }

  /** Recent rates from the samples: latest against the last sample at least RATE_WINDOW_MS older (or the first). */
  private rates(task: string, run: number, completed: boolean, elapsedMs: number, items: number): { itemsPerSecond: number | null; doneRate: number | null } {
    if (completed) return { itemsPerSecond: elapsedMs > 0 ? round(items / (elapsedMs / 1000)) : null, doneRate: null };
    const last = this.lastSample.get(task, run) as Row | undefined;
    if (!last) return { itemsPerSecond: null, doneRate: null };
    const ref = ((this.sampleBefore.get(task, run, (last.at as number) - RATE_WINDOW_MS) ?? this.firstSample.get(task, run)) as Row);
    const seconds = ((last.at as number) - (ref.at as number)) / 1000;
    if (seconds <= 0) return { itemsPerSecond: null, doneRate: null };
    return {
      itemsPerSecond: round(((last.items as number) - (ref.items as number)) / seconds),
      doneRate: ((last.done as number) - (ref.done as number)) / seconds,
    };
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
