// The on-disk state of every task in one SQLite database: run state, totals, outbox, dead letters, flusher lease.
import Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, lstatSync, openSync, statSync, statfsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ensureStateDir } from './config.js';
import { ConfigError } from './errors.js';
import { boundTimeline, mergeUpdates } from './merge.js';
import type { Payload } from './payload.js';
import {
  DB_FILE,
  SCHEMA,
  SCHEMA_VERSION,
  toDeliveryState,
  toOutboxRow,
  toTaskState,
  type DeliveryState,
  type EventPlan,
  type OutboxRow,
  type RecordResult,
  type Route,
  type Row,
  type TaskState,
} from './store-rows.js';

export { DB_FILE };
export type { DeliveryState, EventPlan, OutboxRow, RecordResult, Route, TaskState };

/** Whether a process with this pid exists (EPERM means it does, under another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How long a freshly claimed lease waits for the flusher process to take it over. */
const START_GRACE_MS = 5000;
/** How long a flusher started for another endpoint waits for the lease before it gives up (the next command starts another). */
export const HANDOVER_WAIT_MS = 60_000;

/** A lease is held while unexpired and its holder lives; -1 marks a flusher being started. */
export function leaseHeld(d: Pick<DeliveryState, 'flusherPid' | 'leaseUntil'>, now: number): boolean {
  if (d.flusherPid === null || d.leaseUntil === null || d.leaseUntil <= now) return false;
  return d.flusherPid === -1 || isAlive(d.flusherPid);
}

function diskIsFull(path: string): boolean {
  try {
    return statfsSync(dirname(path)).bavail === 0;
  } catch {
    return false;
  }
}

/** Turns SQLite's failures into one clear line and exit 3 (unusable state). */
function storeError(error: unknown, path: string): Error {
  const code = (error as { code?: string }).code ?? '';
  const fsCode = (error as NodeJS.ErrnoException).code;
  if (fsCode === 'ENOENT' || /directory does not exist/.test((error as Error).message ?? '')) {
    return new ConfigError(`state database ${path} disappeared (was the state directory removed?)`);
  }
  const why: Record<string, string> = {
    SQLITE_CORRUPT: 'is corrupt',
    SQLITE_NOTADB: 'is not a progress state database (corrupt or foreign file)',
    SQLITE_READONLY: 'is read-only',
    SQLITE_FULL: 'cannot be written: the disk is full',
    SQLITE_CANTOPEN: 'cannot be opened',
    SQLITE_IOERR: 'cannot be written (I/O error)',
    SQLITE_BUSY: 'is locked by another process for too long',
    SQLITE_PERM: 'is not writable',
  };
  let key = Object.keys(why).find((k) => code.startsWith(k));
  // SQLite reports a full disk while growing its shared-memory index as an I/O error; say what it is.
  if (key === 'SQLITE_IOERR' && diskIsFull(path)) key = 'SQLITE_FULL';
  if (key) {
    const hint = key === 'SQLITE_CORRUPT' || key === 'SQLITE_NOTADB' ? '; move it aside to start afresh' : '';
    return new ConfigError(`state database ${path} ${why[key]}${hint}`);
  }
  return error as Error;
}

function fileIdentity(path: string): string {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return 'gone';
  }
}

let addonPath: string | undefined;
/** The compiled addon, located directly: better-sqlite3's default lookup (the `bindings` package) costs milliseconds per start. */
function nativeBinding(): string {
  addonPath ??= createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node');
  return addonPath;
}

/** Opens (creating if needed) the state database of a state directory. */
export class Store {
  readonly path: string;
  readonly db: Database.Database;
  readonly hostId: string;

  /** Device and inode of the database file opened, to notice it being deleted or replaced. */
  private readonly identity: string;

  private constructor(path: string, db: Database.Database, hostId: string) {
    this.identity = fileIdentity(path);
    this.path = path;
    this.db = db;
    this.hostId = hostId;
  }

  static open(stateDir: string): Store {
    const path = join(stateDir, DB_FILE);
    ensureStateDir(stateDir);
    try {
      for (const file of [path, `${path}-wal`, `${path}-shm`]) {
        try {
          if (lstatSync(file).isSymbolicLink()) throw new ConfigError(`refusing to use ${file}: it is a symbolic link`);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
      // Create the file ourselves so it is 0600 whatever the umask; SQLite gives -wal and -shm the same mode.
      const fd = openSync(path, 'a', 0o600);
      closeSync(fd);
      chmodSync(path, 0o600);
      const db = new Database(path, { timeout: 15_000, fileMustExist: true, nativeBinding: nativeBinding() });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      if ((db.pragma('user_version', { simple: true }) as number) < SCHEMA_VERSION) {
        db.transaction(() => {
          db.exec(SCHEMA);
          db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run('host_id', randomBytes(8).toString('hex'));
          db.pragma(`user_version = ${SCHEMA_VERSION}`);
        }).immediate();
      }
      const hostRow = db.prepare("SELECT value FROM meta WHERE key = 'host_id'").get() as { value: string } | undefined;
      if (!hostRow) throw new ConfigError(`state database ${path} is incomplete (no host id); move it aside to start afresh`);
      return new Store(path, db, hostRow.value);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      if ((error as NodeJS.ErrnoException).code === 'EACCES' || (error as NodeJS.ErrnoException).code === 'EROFS') {
        throw new ConfigError(`state directory ${stateDir} is not writable (${(error as NodeJS.ErrnoException).code})`);
      }
      throw storeError(error, path);
    }
  }

  /** False once the database file was deleted or replaced (the state directory removed or recreated). */
  isCurrent(): boolean {
    return fileIdentity(this.path) === this.identity;
  }

  /** Opens the store only if this state directory already has one (read paths never create state). */
  static openIfExists(stateDir: string): Store | undefined {
    return existsSync(join(stateDir, DB_FILE)) ? Store.open(stateDir) : undefined;
  }

  close(): void {
    try {
      this.db.close();
    } catch {
      // closing twice or after a failed open is harmless
    }
  }

  /** Runs fn in one IMMEDIATE transaction, translating SQLite failures into configuration errors. */
  transaction<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (error) {
      throw storeError(error, this.path);
    }
  }

  read<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw storeError(error, this.path);
    }
  }

  private taskRow(task: string): Row | undefined {
    return this.db.prepare('SELECT * FROM tasks WHERE task = ?').get(task) as Row | undefined;
  }

  getTaskState(task: string): TaskState {
    return this.read(() => toTaskState(task, this.taskRow(task)));
  }

  getDeliveryState(task: string): DeliveryState {
    return this.read(() => toDeliveryState(this.taskRow(task)));
  }

  private saveTaskState(s: TaskState, now: number): void {
    this.db
      .prepare(
        `INSERT INTO tasks (task, run_started_at, run_completed, stage, operation, processed, total, totals, checkpoint, checkpoint_data, last_event_at)
         VALUES (@task, @runStartedAt, @runCompleted, @stage, @operation, @processed, @total, @totals, @checkpoint, @checkpointData, @now)
         ON CONFLICT (task) DO UPDATE SET run_started_at = excluded.run_started_at, run_completed = excluded.run_completed,
           stage = excluded.stage, operation = excluded.operation, processed = excluded.processed, total = excluded.total,
           totals = excluded.totals, checkpoint = excluded.checkpoint, checkpoint_data = excluded.checkpoint_data,
           last_event_at = excluded.last_event_at`,
      )
      .run({ ...s, runCompleted: s.runCompleted ? 1 : 0, totals: JSON.stringify(s.totals), now });
  }

  /**
   * Records one event atomically: the plan's state and its payload's place in the outbox commit
   * together or not at all. Claims the flusher lease when delivery is possible and nobody holds it.
   */
  record(task: string, now: number, plan: (state: TaskState) => EventPlan, route: Route): RecordResult {
    return this.transaction(() => {
      const row = this.taskRow(task);
      const { payloads, mergeable, state } = plan(toTaskState(task, row));
      this.saveTaskState(state, now);
      const rowIds = payloads.map((payload) => this.enqueue(task, payload, mergeable, now, route.endpoint));
      const startFlusher = route.canDeliver && this.claimLease(task, row, now, route.endpoint);
      return { rowIds, startFlusher, state };
    });
  }

  /** Appends a payload, or merges a plain update into an unsent plain update for the same endpoint at the tail. */
  private enqueue(task: string, payload: Payload, mergeable: boolean, now: number, endpoint: string | undefined): number {
    if (mergeable) {
      const tail = this.db.prepare('SELECT * FROM outbox WHERE task = ? ORDER BY id DESC LIMIT 1').get(task) as Row | undefined;
      if (tail && tail.mergeable === 1 && tail.idem_key === null && tail.endpoint === (endpoint ?? null)) {
        const merged = mergeUpdates(JSON.parse(String(tail.body)) as Payload, payload);
        if (merged.timeline) merged.timeline = boundTimeline(merged.timeline);
        this.db.prepare('UPDATE outbox SET body = ?, events = events + 1 WHERE id = ?').run(JSON.stringify(merged), tail.id);
        return tail.id as number;
      }
    }
    const info = this.db
      .prepare('INSERT INTO outbox (task, mergeable, body, endpoint, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(task, mergeable ? 1 : 0, JSON.stringify(payload), endpoint ?? null, now);
    return Number(info.lastInsertRowid);
  }

  /**
   * True when the caller should start a flusher: nobody holds the lease (it is claimed now), or the holder
   * delivers to another endpoint and no successor is waiting yet. A successor waits for the lease, which
   * the holder gives up when it reaches an event recorded for another endpoint.
   */
  private claimLease(task: string, row: Row | undefined, now: number, endpoint: string | undefined): boolean {
    const d = toDeliveryState(row);
    if (leaseHeld(d, now)) {
      if (endpoint === undefined || d.flusherEndpoint === null || d.flusherEndpoint === endpoint) return false;
      if (d.handoverUntil !== null && d.handoverUntil > now) return false;
      this.db.prepare('UPDATE tasks SET handover_until = ? WHERE task = ?').run(now + HANDOVER_WAIT_MS, task);
      return true;
    }
    this.db
      .prepare('UPDATE tasks SET flusher_pid = -1, lease_until = ?, flusher_endpoint = ? WHERE task = ?')
      .run(now + START_GRACE_MS, endpoint ?? null, task);
    return true;
  }

  /** Claims the flusher lease outside an event (after an incomplete flush); true when the caller should start one. */
  claimFlusher(task: string, now: number, endpoint: string): boolean {
    return this.transaction(() => this.claimLease(task, this.taskRow(task), now, endpoint));
  }

  /** Gives back a lease claimed for a flusher that could not be started. */
  releaseClaim(task: string): void {
    this.transaction(() => this.db.prepare('UPDATE tasks SET flusher_pid = NULL, lease_until = NULL WHERE task = ? AND flusher_pid = -1').run(task));
  }

  /** Changes run state without queueing anything (reset). */
  updateState(task: string, now: number, change: (state: TaskState) => TaskState): TaskState {
    return this.transaction(() => {
      const state = change(toTaskState(task, this.taskRow(task)));
      this.saveTaskState(state, now);
      return state;
    });
  }

  /** Takes the delivery lease for `pid`, delivering to `endpoint`, unless a live holder other than a starting claim has it. */
  acquireLease(task: string, pid: number, now: number, ttlMs: number, endpoint: string): boolean {
    return this.transaction(() => {
      const row = this.taskRow(task);
      const d = toDeliveryState(row);
      if (d.flusherPid !== pid && d.flusherPid !== -1 && leaseHeld(d, now)) return false;
      if (!row) this.db.prepare('INSERT INTO tasks (task) VALUES (?)').run(task);
      this.db
        .prepare('UPDATE tasks SET flusher_pid = ?, lease_until = ?, flusher_endpoint = ?, handover_until = NULL WHERE task = ?')
        .run(pid, now + ttlMs, endpoint, task);
      return true;
    });
  }

  /** Extends the lease; false when it was lost to another process. */
  renewLease(task: string, pid: number, now: number, ttlMs: number): boolean {
    return this.transaction(
      () => this.db.prepare('UPDATE tasks SET lease_until = ? WHERE task = ? AND flusher_pid = ?').run(now + ttlMs, task, pid).changes === 1,
    );
  }

  /** Releases the lease only if nothing is pending (else false: the holder must go on), atomically with the check. */
  releaseLeaseIfIdle(task: string, pid: number, force = false): boolean {
    return this.transaction(() => {
      if (!force && this.db.prepare('SELECT 1 FROM outbox WHERE task = ? LIMIT 1').get(task)) return false;
      this.db.prepare('UPDATE tasks SET flusher_pid = NULL, lease_until = NULL WHERE task = ? AND flusher_pid = ?').run(task, pid);
      return true;
    });
  }

  head(task: string): OutboxRow | undefined {
    const row = this.read(() => this.db.prepare('SELECT * FROM outbox WHERE task = ? ORDER BY id LIMIT 1').get(task) as Row | undefined);
    return row ? toOutboxRow(row) : undefined;
  }

  /** True when some row after `id` is not a plain update (so the head must go now, SPEC §4). */
  hasUrgentAfter(task: string, id: number): boolean {
    return this.read(() => !!this.db.prepare('SELECT 1 FROM outbox WHERE task = ? AND id > ? AND mergeable = 0 LIMIT 1').get(task, id));
  }

  /**
   * Fixes a row under an idempotency key before its first send and returns it as frozen, read in the same
   * transaction: a plain update merging into this row commits before (and is sent) or sees the key and
   * queues a new row. The body under a key never changes after this. Undefined when the row is gone.
   */
  freeze(id: number): OutboxRow | undefined {
    return this.transaction(() => {
      const row = this.db.prepare('SELECT * FROM outbox WHERE id = ?').get(id) as Row | undefined;
      if (!row) return undefined;
      if (row.idem_key === null) {
        row.idem_key = `progress-${this.hostId}-${row.id as number}`;
        this.db.prepare('UPDATE outbox SET idem_key = ? WHERE id = ?').run(row.idem_key, id);
      }
      return toOutboxRow(row);
    });
  }

  /** Forgets the backoff so the sender tries again at once (an explicit flush). */
  clearBackoff(task: string): void {
    this.transaction(() => this.db.prepare('UPDATE tasks SET next_attempt_at = NULL WHERE task = ?').run(task));
  }

  markDelivered(task: string, id: number, now: number): void {
    this.transaction(() => {
      this.db.prepare('DELETE FROM outbox WHERE id = ?').run(id);
      this.db
        .prepare('UPDATE tasks SET last_send_at = ?, failures = 0, next_attempt_at = NULL, last_error = NULL, last_error_kind = NULL WHERE task = ?')
        .run(now, task);
    });
  }

  /** Counts a failed attempt and schedules the next; returns the delay chosen by `delayFor(failures)`. */
  markRetry(task: string, reason: string, now: number, delayFor: (failures: number) => number): number {
    return this.transaction(() => {
      const row = this.db.prepare('SELECT failures FROM tasks WHERE task = ?').get(task) as { failures: number } | undefined;
      const failures = (row?.failures ?? 0) + 1;
      const delay = delayFor(failures);
      this.db
        .prepare(
          "UPDATE tasks SET failures = ?, next_attempt_at = ?, last_error = ?, last_error_kind = 'retry', last_error_at = ? WHERE task = ?",
        )
        .run(failures, now + delay, reason, now, task);
      return delay;
    });
  }

  /** Records that the API refused the token; `tokenMark` identifies the token without revealing it. */
  markAuthRefused(task: string, reason: string, tokenMark: string, now: number): void {
    this.transaction(() =>
      this.db
        .prepare("UPDATE tasks SET last_error = ?, last_error_kind = 'auth', last_error_at = ?, refused_token = ? WHERE task = ?")
        .run(reason, now, tokenMark, task),
    );
  }

  clearAuthRefused(task: string): void {
    this.transaction(() => this.db.prepare('UPDATE tasks SET refused_token = NULL WHERE task = ?').run(task));
  }

  /** Moves a refused payload to the dead letters; it never blocks what follows. */
  markDead(row: OutboxRow, status: number, reason: string, now: number): void {
    this.transaction(() => {
      this.db
        .prepare('INSERT INTO dead_letters (outbox_id, task, body, idem_key, status, reason, dead_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(row.id, row.task, row.body, row.idemKey, status, reason, now);
      this.db.prepare('DELETE FROM outbox WHERE id = ?').run(row.id);
      this.db
        .prepare("UPDATE tasks SET last_error = ?, last_error_kind = 'refused', last_error_at = ?, failures = 0, next_attempt_at = NULL WHERE task = ?")
        .run(reason, now, row.task);
    });
  }

  /** Where an outbox row is now. */
  rowFate(id: number): 'pending' | 'delivered' | 'dead' {
    return this.read(() => {
      if (this.db.prepare('SELECT 1 FROM outbox WHERE id = ?').get(id)) return 'pending';
      if (this.db.prepare('SELECT 1 FROM dead_letters WHERE outbox_id = ?').get(id)) return 'dead';
      return 'delivered';
    });
  }

  pendingCount(task: string): { payloads: number; events: number } {
    return this.read(() => {
      const r = this.db.prepare('SELECT COUNT(*) AS payloads, COALESCE(SUM(events), 0) AS events FROM outbox WHERE task = ?').get(task) as {
        payloads: number;
        events: number;
      };
      return r;
    });
  }

  deadLetters(task: string): { count: number; last?: { reason: string; status: number | null; deadAt: number } } {
    return this.read(() => {
      const { count } = this.db.prepare('SELECT COUNT(*) AS count FROM dead_letters WHERE task = ?').get(task) as { count: number };
      const last = this.db.prepare('SELECT reason, status, dead_at FROM dead_letters WHERE task = ? ORDER BY id DESC LIMIT 1').get(task) as
        | Row
        | undefined;
      return {
        count,
        last: last ? { reason: last.reason as string, status: (last.status as number | null) ?? null, deadAt: last.dead_at as number } : undefined,
      };
    });
  }

  listDeadLetters(task: string): { id: number; status: number | null; reason: string; deadAt: number; body: string }[] {
    return this.read(() =>
      (this.db.prepare('SELECT id, status, reason, dead_at, body FROM dead_letters WHERE task = ? ORDER BY id').all(task) as Row[]).map((r) => ({
        id: r.id as number,
        status: (r.status as number | null) ?? null,
        reason: r.reason as string,
        deadAt: r.dead_at as number,
        body: r.body as string,
      })),
    );
  }

  /** Puts every dead letter of the task back at the end of the outbox, under its old idempotency key. */
  requeueDead(task: string, now: number): number {
    return this.transaction(() => {
      const rows = this.db.prepare('SELECT * FROM dead_letters WHERE task = ? ORDER BY id').all(task) as Row[];
      const insert = this.db.prepare('INSERT INTO outbox (task, mergeable, body, idem_key, created_at) VALUES (?, 0, ?, ?, ?)');
      for (const r of rows) insert.run(task, r.body, r.idem_key, now);
      this.db.prepare('DELETE FROM dead_letters WHERE task = ?').run(task);
      return rows.length;
    });
  }

  /**
   * Records several events in ONE transaction, in order (wrap's in-band channel). Consecutive plain
   * updates merge in memory into one outbox payload, so thousands of updates cost one write.
   * A planner that throws (e.g. a total that would overflow) is skipped and reported in `rejected`.
   */
  recordBatch(task: string, now: number, planners: readonly ((state: TaskState) => EventPlan)[], route: Route): BatchResult {
    return this.transaction(() => {
      const row = this.taskRow(task);
      let state = toTaskState(task, row);
      const rowIds: number[] = [];
      const rejected: { index: number; error: Error }[] = [];
      let run: Payload | undefined;
      let runTimeline: NonNullable<Payload['timeline']> = [];
      let runEvents = 0;
      const flushRun = () => {
        if (!run) return;
        if (runTimeline.length > 0) run.timeline = boundTimeline(runTimeline);
        const id = this.enqueue(task, run, true, now, route.endpoint);
        if (runEvents > 1) this.db.prepare('UPDATE outbox SET events = events + ? WHERE id = ?').run(runEvents - 1, id);
        rowIds.push(id);
        [run, runTimeline, runEvents] = [undefined, [], 0];
      };
      planners.forEach((planner, index) => {
        let plan: EventPlan;
        try {
          plan = planner(state);
        } catch (error) {
          rejected.push({ index, error: error as Error });
          return;
        }
        state = plan.state;
        for (const payload of plan.payloads) {
          if (!plan.mergeable) {
            flushRun();
            rowIds.push(this.enqueue(task, payload, false, now, route.endpoint));
            continue;
          }
          const { timeline, ...rest } = payload;
          run = run ? mergeUpdates(run, rest) : rest;
          if (timeline) runTimeline.push(...timeline);
          // Fold early so a long run of updates never holds an unbounded timeline in memory.
          if (runTimeline.length > FOLD_TIMELINE_AT) runTimeline = boundTimeline(runTimeline);
          runEvents++;
        }
      });
      flushRun();
      this.saveTaskState(state, now);
      const startFlusher = route.canDeliver && rowIds.length > 0 && this.claimLease(task, row, now, route.endpoint);
      return { rowIds, startFlusher, state, rejected };
    });
  }
}

/** A batch folds its timeline once it holds this many entries (boundTimeline keeps 100 at most when it folds). */
const FOLD_TIMELINE_AT = 400;

/** The result of Store.recordBatch. */
export interface BatchResult extends RecordResult {
  /** Planners that threw, by index; nothing of theirs was recorded. */
  rejected: { index: number; error: Error }[];
}
