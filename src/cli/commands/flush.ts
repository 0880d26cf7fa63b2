// flush [--timeout S] [--retry-dead]: delivers everything pending now; exit 4 if something is left, 5 if refused.
import { ConfigError } from '../../core/errors.js';
import type { Context } from '../context.js';
import { timeoutMs } from '../inputs.js';
import type { ParsedCommand } from '../parse.js';
import { openSession } from '../session.js';
import { deliverNow } from './deliver-now.js';

export async function flush(p: ParsedCommand, ctx: Context): Promise<number> {
  const timeout = timeoutMs(p, 30);
  const session = openSession(p, ctx);
  try {
    if (p.options['retry-dead'] === true) {
      const n = session.store.requeueDead(session.task, Date.now());
      ctx.logger.notice(`re-queued ${n} dead letter(s)`);
    }
    if (!session.config.endpoint) throw new ConfigError('no endpoint to deliver to: pass --endpoint, set PROGRESS_API_ENDPOINT, or run "progress init"');
    const before = session.store.pendingCount(session.task);
    await deliverNow(session, ctx, timeout);
    ctx.logger.notice(before.events > 0 ? `delivered ${before.events} event(s)` : 'nothing pending');
    return 0;
  } finally {
    session.store.close();
  }
}
