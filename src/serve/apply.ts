// Applies one validated payload to the database, recording its Idempotency-Key in the same transaction.
import type Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { BodyError, type IncomingEvent } from './validate-body.js';

export type ApplyOutcome = 'applied' | 'duplicate';

type Row = Record<string, any>;

const SAMPLE_BUCKET_MS = 1000;
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/** True for the payload `complete` sends: stage "completed" or a completion timeline entry. */
export function isCompletion(event: IncomingEvent): boolean {
  return event.stage === 'completed' || (event.timeline ?? []).some((t) => t.event === 'completion');
}

/** Applies events; one instance per database. */
export class Applier {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      claimKey: db.prepare('INSERT INTO applied_keys (task, idem_key, body_sha256, applied_at) VALUES (?, ?, ?, ?) ON CONFLICT (task, idem_key) DO NOTHING'),
      keyHash: db.prepare('SELECT body_sha256 FROM applied_keys WHERE task = ? AND idem_key = ?').pluck(),
      task: db.prepare('SELECT * FROM tasks WHERE task = ?'),
      insertTask: db.prepare(
        "INSERT INTO tasks (task, run, run_started_at, last_event_at, updated_at, status) VALUES (?, 1, ?, ?, ?, 'running')",
      ),
      newRun: db.prepare(
        "UPDATE tasks SET run = run + 1, run_started_at = ?, completed_at = NULL, status = 'running', processed_items = NULL, total_items = NULL WHERE task = ?",
      ),
      clearTotals: db.prepare('DELETE FROM totals WHERE task = ?'),
      addTotal: db.prepare(
        `INSERT INTO totals (task, type, count) VALUES (?, ?, ?)
         ON CONFLICT (task, type) DO UPDATE SET count = min(count + excluded.count, ${MAX_COUNT})`,
      ),
      update: db.prepare(`UPDATE tasks SET
          stage = coalesce(@stage, stage), operation_type = coalesce(@operationType, operation_type),
          message = coalesce(@message, message), current_data_type = coalesce(@currentDataType, current_data_type),
          last_processed_id = coalesce(@lastProcessedId, last_processed_id),
          processed_items = coalesce(@processedItems, processed_items), total_items = coalesce(@totalItems, total_items),
          status = @status, completed_at = coalesce(@completedAt, completed_at),
          run_started_at = min(run_started_at, @at), last_event_at = max(last_event_at, @at), updated_at = @now,
          events = events + 1, errors = errors + @isError
        WHERE task = @task`),
      sumTotals: db.prepare('SELECT type, count FROM totals WHERE task = ? ORDER BY type'),
      processed: db.prepare('SELECT processed_items FROM tasks WHERE task = ?').pluck(),
      lastSample: db.prepare('SELECT id, at FROM samples WHERE task = ? AND run = ? ORDER BY id DESC LIMIT 1'),
      insertSample: db.prepare('INSERT INTO samples (task, run, at, done, items, totals) VALUES (?, ?, ?, ?, ?, ?)'),
      updateSample: db.prepare('UPDATE samples SET done = ?, items = ?, totals = ? WHERE id = ?'),
      timeline: db.prepare('INSERT INTO timeline (task, run, at_iso, event, details) VALUES (?, ?, ?, ?, ?)'),
      area: db.prepare(`INSERT INTO areas (task, type, gitlab_id, name, full_path, web_url, description, discovered_by, discovered_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (task, type, gitlab_id) DO UPDATE SET name = excluded.name,
            full_path = coalesce(excluded.full_path, full_path), web_url = coalesce(excluded.web_url, web_url),
            description = coalesce(excluded.description, description), discovered_by = coalesce(excluded.discovered_by, discovered_by)`),
    };
  }

  /**
   * Applies `event` to `task` unless `key` was applied before (then 'duplicate'). Throws BodyError 422 when a key
   * comes back with a different body (IETF Idempotency-Key draft). A request without a key is always applied.
   */
  apply(task: string, key: string | undefined, raw: string, event: IncomingEvent, now: number): ApplyOutcome {
    return this.db.transaction((): ApplyOutcome => {
      if (key !== undefined) {
        const hash = createHash('sha256').update(raw).digest('hex');
        if (this.s.claimKey.run(task, key, hash, now).changes === 0) {
          if (this.s.keyHash.get(task, key) !== hash) throw new BodyError(422, 'this Idempotency-Key was already used with a different body');
          return 'duplicate';
        }
      }
      this.applyEvent(task, event, now);
      return 'applied';
    }).immediate();
  }

  private applyEvent(task: string, event: IncomingEvent, now: number): void {
    let row = this.s.task.get(task) as Row | undefined;
    if (!row) {
      this.s.insertTask.run(task, event.at, event.at, now);
      row = this.s.task.get(task) as Row;
    } else if (row.status === 'completed') {
      // The client starts a new run with the first event after `complete`; totals and timer are per run.
      this.s.newRun.run(event.at, task);
      this.s.clearTotals.run(task);
      row = this.s.task.get(task) as Row;
    }
    const run = row.run as number;
    for (const [type, n] of Object.entries(event.itemsByType ?? {})) this.s.addTotal.run(task, type, n);

    const completion = isCompletion(event);
    this.s.update.run({
      task,
      stage: event.stage ?? null,
      operationType: event.operationType ?? null,
      message: event.message ?? null,
      currentDataType: event.currentDataType ?? null,
      lastProcessedId: event.lastProcessedId ?? null,
      processedItems: event.processedItems ?? null,
      totalItems: event.totalItems ?? null,
      status: completion ? 'completed' : event.type === 'error' ? 'error' : 'running',
      completedAt: completion ? event.at : null,
      at: event.at,
      now,
      isError: event.type === 'error' ? 1 : 0,
    });

    const timeline = [...(event.timeline ?? [])];
    if (event.type === 'error' && !timeline.some((t) => t.event === 'error')) {
      // A client that sends errors without a timeline entry still gets one, so the dashboard shows every error.
      timeline.push({ timestamp: new Date(event.at).toISOString(), event: 'error', details: { errorMessage: event.error ?? event.message ?? 'error' } });
    }
    for (const t of timeline) {
      const details = t.event === 'error' ? { stage: event.stage, lastProcessedId: event.lastProcessedId, ...t.details } : t.details;
      this.s.timeline.run(task, run, t.timestamp, t.event, JSON.stringify(details));
    }
    for (const a of event.areas ?? []) {
      this.s.area.run(task, a.type, a.gitlabId, a.name, a.fullPath ?? null, a.webUrl ?? null, a.description ?? null, a.discoveredBy ?? null, event.at);
    }
    if (event.itemsByType !== undefined || event.processedItems !== undefined || completion) this.sample(task, run, event.at);
  }

  /** Records cumulative counts for the chart, one row per task per second (a later event in the same second updates it). */
  private sample(task: string, run: number, at: number): void {
    const totals: Record<string, number> = {};
    let items = 0;
    for (const t of this.s.sumTotals.all(task) as Row[]) {
      totals[t.type as string] = t.count as number;
      items += t.count as number;
    }
    const done = (this.s.processed.get(task) as number | null) ?? items;
    const last = this.s.lastSample.get(task, run) as Row | undefined;
    const json = JSON.stringify(totals);
    if (last && at - (last.at as number) < SAMPLE_BUCKET_MS) this.s.updateSample.run(done, items, json, last.id);
    else this.s.insertSample.run(task, run, last ? Math.max(at, last.at as number) : at, done, items, json);
  }
}
