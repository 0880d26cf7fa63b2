// The shared path of every event command: validate, record atomically, hand delivery to the flusher, wait briefly if asked.
import { RefusedError } from '../../core/errors.js';
import type { EventPlan, TaskState } from '../../core/store.js';
import type { Context } from '../context.js';
import type { ParsedCommand } from '../parse.js';
import { routeOf, explainBlockedDelivery, openSession, startFlusher, type Session } from '../session.js';

export type Planner = (state: TaskState, task: string, now: number) => EventPlan;

export interface RecordOptions {
  /** Wait up to PROGRESS_MAX_WAIT for delivery (stage, error, checkpoint, discover); updates never wait. */
  wait: boolean;
}

const POLL_MS = 10;

/** Records an event whose input was already validated; returns the exit code. */
export async function recordEvent(p: ParsedCommand, ctx: Context, plan: Planner, options: RecordOptions): Promise<number> {
  const session = openSession(p, ctx);
  try {
    const route = routeOf(session);
    const result = session.store.record(session.task, Date.now(), (state) => plan(state, session.task, Date.now()), route);
    if (result.startFlusher) startFlusher(session, ctx);
    if (route.canDeliver && options.wait && result.rowIds.length > 0) await awaitDelivery(session, result.rowIds);
    explainBlockedDelivery(session, ctx);
    return 0;
  } finally {
    session.store.close();
  }
}

/**
 * Waits until the rows are delivered or refused, the flusher stops, or PROGRESS_MAX_WAIT passes.
 * Whatever is still pending then is safe on disk and delivered later.
 */
async function awaitDelivery(session: Session, rowIds: number[]): Promise<void> {
  const { store, task, config } = session;
  const deadline = Date.now() + config.tuning.maxWaitMs;
  for (;;) {
    const fates = rowIds.map((id) => store.rowFate(id));
    if (fates.includes('dead')) {
      const last = store.deadLetters(task).last;
      throw new RefusedError(`the API refused the event (${last?.reason ?? 'HTTP 4xx'}); it is in the dead letters (see "progress status")`);
    }
    if (fates.every((f) => f === 'delivered')) return;
    if (Date.now() >= deadline) return;
    const d = store.getDeliveryState(task);
    if (d.flusherPid === null) return; // the flusher stopped (e.g. the token was refused); the events wait
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
