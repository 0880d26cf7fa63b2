// The shared path of every event command: validate, record atomically, hand delivery to the flusher, wait briefly if asked.
import { RefusedError } from '../../core/errors.js';
import type { EventPlan, TaskState } from '../../core/store.js';
import type { Context } from '../context.js';
import type { ParsedCommand } from '../parse.js';
import { explainBlockedDelivery, openSession, routeOf, startFlusher, waitForRows } from '../session.js';

export type Planner = (state: TaskState, task: string, now: number) => EventPlan;

export interface RecordOptions {
  /** Wait up to PROGRESS_MAX_WAIT for delivery (stage, error, checkpoint, discover); updates never wait. */
  wait: boolean;
}


/** Records an event whose input was already validated; returns the exit code. */
export async function recordEvent(p: ParsedCommand, ctx: Context, plan: Planner, options: RecordOptions): Promise<number> {
  const session = openSession(p, ctx);
  try {
    const route = routeOf(session);
    const result = session.store.record(session.task, Date.now(), (state) => plan(state, session.task, Date.now()), route);
    if (result.startFlusher) startFlusher(session, ctx);
    if (route.canDeliver && options.wait && result.rowIds.length > 0) {
      if ((await waitForRows(session, result.rowIds, session.config.tuning.maxWaitMs)) === 'dead') {
        const last = session.store.deadLetters(session.task).last;
        throw new RefusedError(`the API refused the event (${last?.reason ?? 'HTTP 4xx'}); it is in the dead letters (see "progress status")`);
      }
    }
    explainBlockedDelivery(session, ctx);
    return 0;
  } finally {
    session.store.close();
  }
}
