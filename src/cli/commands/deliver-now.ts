// Delivery awaited by the caller (complete, flush): a bounded pass in this process, then the flusher for what is left.
import { DeliveryIncompleteError, RefusedError } from '../../core/errors.js';
import { deliver } from '../../core/deliver.js';
import type { Context } from '../context.js';
import { startFlusher, type Session } from '../session.js';

/** Delivers everything pending within timeoutMs; throws exit 4 (pending kept) or 5 (new dead letters). */
export async function deliverNow(session: Session, ctx: Context, timeoutMs: number): Promise<void> {
  const { store, task, config } = session;
  const started = Date.now();
  const deadBefore = store.deadLetters(task).count;
  // An explicit flush tries again even with a token the API refused before.
  store.clearAuthRefused(task);
  // "Deliver now": a background flusher waiting out its backoff tries again at once (we wait for it if it holds the lease).
  store.clearBackoff(task);
  const { Transport } = await import('../../core/transport.js');
  const transport = new Transport();
  let result;
  try {
    result = await deliver({
      store,
      transport,
      task,
      endpoint: config.endpoint!,
      token: config.token,
      tuning: config.tuning,
      mode: 'pass',
      deadline: Date.now() + timeoutMs,
    });
  } finally {
    await transport.close();
  }
  const dead = store.deadLetters(task);
  const pending = store.pendingCount(task);
  if (result.status === 'auth') {
    throw new DeliveryIncompleteError(`the API refused the token (${result.reason}); ${pending.events} event(s) are kept: fix the token, then run "progress flush"`);
  }
  if (pending.payloads > 0) {
    // Keep trying in the background; a later "progress flush" also delivers them.
    if (store.claimFlusher(task, Date.now(), config.endpoint!)) startFlusher(session, ctx);
    const why = result.status === 'incomplete' ? result.reason : 'timed out';
    // Say how long we really tried: a pass also gives up after PROGRESS_ATTEMPTS failures on one payload.
    const tried = (Date.now() - started) / 1000;
    throw new DeliveryIncompleteError(`${pending.events} event(s) still pending after ${tried < 10 ? tried.toFixed(1) : Math.round(tried)} s (${why}); they are kept and retried in the background, or run "progress flush"`);
  }
  if (dead.count > deadBefore) {
    throw new RefusedError(`the API refused ${dead.count - deadBefore} payload(s) (${dead.last?.reason ?? 'HTTP 4xx'}); they are in the dead letters (see "progress status")`);
  }
}
