// reset: starts a new run for the task; pending events are kept and still delivered.
import { resetRun } from '../../core/events.js';
import type { Context } from '../context.js';
import type { ParsedCommand } from '../parse.js';
import { openSession } from '../session.js';
import { UsageError } from '../../core/errors.js';

export async function reset(p: ParsedCommand, ctx: Context): Promise<number> {
  if (p.operands.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(p.operands[0])} for "progress reset"`);
  const session = openSession(p, ctx, { checkTransport: false });
  try {
    session.store.updateState(session.task, Date.now(), (state) => resetRun(state, Date.now()));
    const { events } = session.store.pendingCount(session.task);
    ctx.logger.notice(`new run started for task ${JSON.stringify(session.task)}${events ? ` (${events} pending event(s) kept)` : ''}`);
    return 0;
  } finally {
    session.store.close();
  }
}
