// wrap's event side: queues in-band events, heartbeats and the final event, and records them in batched transactions.
import { planCheckpoint, planError, planStage, planUpdate } from '../core/events.js';
import { MAX_IN_BAND_LINE, parseInBandLine, type InBandEvent } from '../core/in-band.js';
import { TIMELINE_CAP } from '../core/merge.js';
import type { UpdateInput } from '../core/payload.js';
import type { BatchResult, EventPlan, TaskState } from '../core/store.js';
import { formatDuration } from './commands/status.js';
import type { Context } from './context.js';
import { routeOf, startFlusher, type Session } from './session.js';

export type Planner = (state: TaskState) => EventPlan;

/** How long events wait in memory before one transaction records them all. */
export const BATCH_MS = 100;
/** A batch is recorded at once when this many events are waiting (memory stays bounded at any rate). */
const BATCH_MAX = 20_000;
/** Notices about malformed in-band lines shown before they are only counted. */
const MAX_NOTICES = 10;

export interface ReporterOptions {
  /** Called with the run state after each recorded batch (the spinner). */
  onState?: (state: TaskState) => void;
  /** Writes a warning line (above the spinner when there is one). */
  warn: (message: string) => void;
}

/** Plans one in-band event at the time it arrived. */
export function plannerFor(event: InBandEvent, task: string, at: number): Planner {
  switch (event.command) {
    case 'update':
      return (s) => planUpdate(s, task, event.input, at);
    case 'stage':
      return (s) => planStage(s, task, event.input, at);
    case 'error':
      return (s) => planError(s, task, event.input, at);
    case 'checkpoint':
      return (s) => planCheckpoint(s, task, event.input, at);
  }
}

/** The heartbeat: a plain update (it coalesces, so an outage never piles them up) with elapsed time and totals. */
export function heartbeatPlanner(task: string, at: number): Planner {
  return (s) => {
    const elapsed = s.runStartedAt === null ? 0 : at - s.runStartedAt;
    const totals = Object.entries(s.totals).map(([t, n]) => `${t}=${n}`);
    const message = `Running for ${formatDuration(elapsed)}${totals.length > 0 ? `: ${totals.join(', ')}` : ''}`;
    return planUpdate(s, task, { message, timeline: false }, at);
  };
}

/** A queued event: an in-band update (merged with its neighbours at commit) or any other planned event. */
export type Queued = { update: UpdateInput; at: number } | { planner: Planner };

/**
 * Turns the queue into planners. A long run of consecutive updates becomes ONE update planned once,
 * exactly as the outbox would coalesce them (sums of increments, latest values, one timeline entry
 * counting them, as boundTimeline folds them): planning 100,000 updates one by one costs more than parsing them.
 */
export function toPlanners(queue: readonly Queued[], task: string): Planner[] {
  const out: Planner[] = [];
  for (let i = 0; i < queue.length; ) {
    const item = queue[i]!;
    if (!('update' in item)) {
      out.push(item.planner);
      i++;
      continue;
    }
    let end = i;
    while (end < queue.length && 'update' in queue[end]!) end++;
    const run = queue.slice(i, end) as { update: UpdateInput; at: number }[];
    if (run.length <= TIMELINE_CAP) for (const u of run) out.push((s) => planUpdate(s, task, u.update, u.at));
    else out.push(mergedUpdatePlanner(run, task));
    i = end;
  }
  return out;
}

function mergedUpdatePlanner(run: readonly { update: UpdateInput; at: number }[], task: string): Planner {
  const merged: UpdateInput = { timeline: false };
  const items: Record<string, number> = Object.create(null);
  let counted = 0;
  let any = false;
  for (const { update } of run) {
    if (update.items) {
      for (const type in update.items) items[type] = (items[type] ?? 0) + update.items[type]!;
      any = true;
    }
    for (const key of ['processed', 'total', 'type', 'lastId', 'stage', 'operation', 'message'] as const) {
      if (update[key] !== undefined) (merged as unknown as Record<string, unknown>)[key] = update[key];
    }
    if (update.timeline) [merged.timeline, counted] = [true, counted + 1];
  }
  if (any) merged.items = items;
  const at = run[run.length - 1]!.at;
  return (s) => {
    const plan = planUpdate(s, task, merged, at);
    const entry = plan.payloads[0]?.timeline?.[0];
    if (entry) entry.details.coalescedUpdates = counted;
    return plan;
  };
}

export class WrapReporter {
  private queue: Queued[] = [];
  private timer: NodeJS.Timeout | undefined;
  private malformed = 0;
  /** Outbox rows written by the last batch (the final event's rows, at the end). */
  lastRowIds: number[] = [];
  /** Lines read so far, by source (the in-band channel, stdout markers), valid or not. */
  private readonly lineCounts = new Map<string, number>();

  constructor(
    private readonly session: Session,
    private readonly ctx: Context,
    private readonly options: ReporterOptions,
  ) {}

  /** Handles one line of the in-band channel (or a marker line); `undefined` is a line that was too long. */
  line(source: string, line: string | undefined): void {
    const n = (this.lineCounts.get(source) ?? 0) + 1;
    this.lineCounts.set(source, n);
    const at = Date.now();
    try {
      if (line === undefined) throw new Error(`line is longer than ${MAX_IN_BAND_LINE} characters`);
      const event = parseInBandLine(line);
      if (event) this.add(event.command === 'update' ? { update: event.input, at } : { planner: plannerFor(event, this.session.task, at) });
    } catch (error) {
      this.reject(`${source} line ${n} ignored: ${(error as Error).message}`);
    }
  }

  add(item: Planner | Queued): void {
    this.queue.push(typeof item === 'function' ? { planner: item } : item);
    if (this.queue.length >= BATCH_MAX) this.commit();
    else this.timer ??= setTimeout(() => this.commit(), BATCH_MS);
  }

  /** Records everything queued (plus `extra`, after it) in one transaction. */
  commit(extra: Planner[] = []): BatchResult | undefined {
    clearTimeout(this.timer);
    this.timer = undefined;
    const planners = [...toPlanners(this.queue, this.session.task), ...extra];
    this.queue = [];
    if (planners.length === 0) return undefined;
    const { store, task } = this.session;
    let result: BatchResult;
    try {
      result = store.recordBatch(task, Date.now(), planners, routeOf(this.session));
    } catch (error) {
      // The job goes on whatever happens to its reporting.
      this.options.warn(`could not record ${planners.length} event(s): ${(error as Error).message}`);
      return undefined;
    }
    if (result.startFlusher) startFlusher(this.session, this.ctx);
    for (const { error } of result.rejected) this.reject(`event ignored: ${error.message}`);
    this.lastRowIds = result.rowIds;
    this.options.onState?.(result.state);
    return result;
  }

  private reject(message: string): void {
    this.malformed++;
    if (this.malformed <= MAX_NOTICES) this.options.warn(message);
  }

  /** Says how many more malformed lines there were than were shown. */
  summarize(): void {
    if (this.malformed > MAX_NOTICES) this.options.warn(`${this.malformed - MAX_NOTICES} more malformed in-band line(s) were ignored`);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
