// Delivers a task's outbox in order, one sender at a time (the lease), with the retry policy of retry.ts.
import { createHash } from 'node:crypto';
import type { Tuning } from './env.js';
import { backoffDelay } from './retry.js';
import { scrub } from './scrub.js';
import { HANDOVER_WAIT_MS, type Store } from './store.js';
import type { Transport } from './transport.js';

export interface DeliverOptions {
  store: Store;
  transport: Transport;
  task: string;
  endpoint: string;
  token?: string;
  tuning: Tuning;
  /**
   * `daemon`: the detached flusher; waits out the coalescing window, retries without limit, lingers
   * briefly when idle. `pass`: flush/complete; sends everything now, PROGRESS_ATTEMPTS per payload, until the deadline.
   */
  mode: 'daemon' | 'pass';
  /** Epoch ms after which a pass gives up (pending events stay queued). */
  deadline?: number;
  /** How long an idle daemon waits for more events before it exits. */
  lingerMs?: number;
  now?: () => number;
}

export type DeliverResult =
  | { status: 'done' }
  | { status: 'incomplete'; reason: string }
  | { status: 'auth'; reason: string }
  | { status: 'lost-lease' }
  /** A daemon reached an event recorded for another endpoint and stopped; the flusher started for that endpoint goes on. */
  | { status: 'handover' };

const POLL_MS = 50;

/** Identifies a token (to remember that the API refused it) without revealing it. */
export function tokenMark(token: string | undefined): string {
  return createHash('sha256').update(token ?? '').digest('hex').slice(0, 16);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Runs delivery until the outbox is empty (and, for a daemon, idle), the deadline passes, or the token is refused. */
export async function deliver(options: DeliverOptions): Promise<DeliverResult> {
  const { store, transport, task, tuning, mode } = options;
  const now = options.now ?? Date.now;
  const pid = process.pid;
  const ttl = tuning.requestTimeoutMs + 15_000;
  const secrets = options.token ? [options.token] : [];
  const pastDeadline = () => options.deadline !== undefined && now() >= options.deadline;

  // A pass waits for a running sender rather than racing it (one sender keeps order); a waiting daemon
  // takes over if that sender dies, so events recorded meanwhile are never stranded.
  const waitUntil = now() + HANDOVER_WAIT_MS;
  while (!store.acquireLease(task, pid, now(), ttl, options.endpoint)) {
    if (!store.head(task)) return { status: 'done' };
    if (mode === 'daemon' && now() > waitUntil) return { status: 'done' };
    if (pastDeadline()) {
      const lastError = store.getDeliveryState(task).lastError;
      return { status: 'incomplete', reason: `the background flusher is still delivering${lastError ? `; last error: ${lastError}` : ''}` };
    }
    await sleep(mode === 'daemon' ? POLL_MS * 4 : POLL_MS);
  }

  let leaseUntil = now() + ttl;
  let idleSince: number | undefined;
  let attemptsOnHead = 0;
  let headId: number | undefined;
  /** A pass's own backoff (a daemon keeps its schedule in the store, where status shows it). */
  let passRetryAt = 0;
  try {
    for (;;) {
      // A flusher whose state directory was removed or recreated has nothing left to deliver from it.
      if (mode === 'daemon' && !store.isCurrent()) return { status: 'done' };
      if (leaseUntil - now() < tuning.requestTimeoutMs + 5_000) {
        if (!store.renewLease(task, pid, now(), ttl)) return { status: 'lost-lease' };
        leaseUntil = now() + ttl;
      }

      const head = store.head(task);
      if (!head) {
        // Giving the lease back is atomic with seeing the outbox empty: an event recorded while we held it
        // (and so did not start a flusher) is either seen here or finds the lease free and starts one.
        if (mode === 'pass') {
          if (store.releaseLeaseIfIdle(task, pid)) return { status: 'done' };
          continue;
        }
        idleSince ??= now();
        if (now() - idleSince >= (options.lingerMs ?? 1000) && store.releaseLeaseIfIdle(task, pid)) return { status: 'done' };
        await sleep(POLL_MS);
        continue;
      }
      idleSince = undefined;
      // Events go only where they were recorded for; `flush` and `complete` are explicit and send all to theirs.
      if (mode === 'daemon' && head.endpoint !== null && head.endpoint !== options.endpoint) return { status: 'handover' };
      if (head.id !== headId) [headId, attemptsOnHead, passRetryAt] = [head.id, 0, 0];

      if (mode === 'daemon') {
        const delivery = store.getDeliveryState(task);
        // Coalescing window: an unsent plain update waits for the interval unless something urgent queues behind it.
        const since = delivery.lastSendAt === null ? Infinity : now() - delivery.lastSendAt;
        if (head.mergeable && !head.idemKey && since < tuning.minIntervalMs && !store.hasUrgentAfter(task, head.id)) {
          await sleep(Math.min(POLL_MS, tuning.minIntervalMs - since));
          continue;
        }
        if (delivery.nextAttemptAt !== null && delivery.nextAttemptAt > now()) {
          await sleep(Math.min(POLL_MS * 4, delivery.nextAttemptAt - now()));
          continue;
        }
      } else if (passRetryAt > now()) {
        // Sleep in short steps so the lease is renewed during a long Retry-After.
        await sleep(Math.min(POLL_MS * 4, passRetryAt - now()));
        continue;
      }
      if (pastDeadline()) return { status: 'incomplete', reason: store.getDeliveryState(task).lastError ?? 'timed out' };

      // Freeze and read in one transaction: the body sent is exactly the body kept under this key.
      const row = store.freeze(head.id);
      if (!row) continue;
      const key = row.idemKey!;
      const outcome = await transport.post({
        endpoint: options.endpoint,
        task,
        token: options.token,
        idempotencyKey: key,
        body: row.body,
        timeoutMs: options.deadline !== undefined ? Math.max(1, Math.min(tuning.requestTimeoutMs, options.deadline - now())) : tuning.requestTimeoutMs,
      });
      const at = now();
      switch (outcome.kind) {
        case 'delivered':
          store.markDelivered(task, row.id, at);
          break;
        case 'auth':
          store.markAuthRefused(task, scrub(outcome.reason, secrets), tokenMark(options.token), at);
          return { status: 'auth', reason: scrub(outcome.reason, secrets) };
        case 'refused':
          store.markDead(row, outcome.status, scrub(outcome.reason, secrets), at);
          break;
        case 'retry': {
          attemptsOnHead += 1;
          const reason = scrub(outcome.reason, secrets);
          const delay = store.markRetry(task, reason, at, (failures) => backoffDelay(failures, outcome.retryAfterMs));
          if (mode === 'pass') {
            if (attemptsOnHead >= tuning.attempts) return { status: 'incomplete', reason };
            if (options.deadline !== undefined && at + delay >= options.deadline) return { status: 'incomplete', reason };
            passRetryAt = at + delay;
          }
          break;
        }
      }
    }
  } finally {
    store.releaseLeaseIfIdle(task, pid, true);
  }
}
