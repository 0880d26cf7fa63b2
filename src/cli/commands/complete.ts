// complete: records the completion (final counts, duration), then waits for everything pending to be delivered.
import { planComplete } from '../../core/events.js';
import type { Context } from '../context.js';
import { timeoutMs, toCompleteInput } from '../inputs.js';
import type { ParsedCommand } from '../parse.js';
import { explainBlockedDelivery, openSession } from '../session.js';
import { deliverNow } from './deliver-now.js';
import { appendStepSummary } from './step-summary.js';

export async function complete(p: ParsedCommand, ctx: Context): Promise<number> {
  const input = toCompleteInput(p);
  const timeout = timeoutMs(p, 30);
  const session = openSession(p, ctx);
  try {
    const { state } = session.store.record(session.task, Date.now(), (s) => planComplete(s, session.task, input, Date.now()), {
      endpoint: session.config.endpoint,
      canDeliver: false,
    });
    appendStepSummary(session, state, ctx);
    if (!session.config.endpoint) {
      explainBlockedDelivery(session, ctx);
      return 0;
    }
    await deliverNow(session, ctx, timeout);
    return 0;
  } finally {
    session.store.close();
  }
}
