// Resolves configuration and opens the store for a command, and starts the flusher when a command claimed it.
import { assertTransportAllowed, requireTask, resolveConfig, type ResolvedConfig } from '../core/config.js';
import { tokenMark } from '../core/deliver.js';
import { spawnFlusher } from '../core/flusher.js';
import { Store, type Route } from '../core/store.js';
import type { Context } from './context.js';
import { str, type ParsedCommand } from './parse.js';

export interface Session {
  config: ResolvedConfig;
  task: string;
  store: Store;
}

export function resolveFor(p: ParsedCommand, ctx: Context): ResolvedConfig {
  const config = resolveConfig({ task: str(p.options, 'task'), endpoint: str(p.options, 'endpoint'), stateDir: str(p.options, 'state-dir') }, ctx.env);
  for (const warning of config.warnings) ctx.logger.warn(warning);
  return config;
}

/** Config + task + open store; the caller closes the store. */
export function openSession(p: ParsedCommand, ctx: Context, options: { checkTransport?: boolean } = {}): Session {
  const config = resolveFor(p, ctx);
  const task = requireTask(config);
  if (options.checkTransport !== false) assertTransportAllowed(config);
  return { config, task, store: Store.open(config.stateDir) };
}

/** Where this command's events go; delivery can start when an endpoint is set and the API has not refused this very token. */
export function routeOf(session: Session): Route {
  const endpoint = session.config.endpoint;
  if (!endpoint) return { canDeliver: false };
  const refused = session.store.getDeliveryState(session.task).refusedToken;
  return { endpoint, canDeliver: refused === null || refused !== tokenMark(session.config.token) };
}

export function startFlusher(session: Session, ctx: Context): void {
  const { config, task, store } = session;
  try {
    spawnFlusher({ entry: ctx.entry, stateDir: config.stateDir, task, endpoint: config.endpoint!, token: config.token, env: ctx.env });
  } catch (error) {
    store.releaseClaim(task);
    ctx.logger.warn(`could not start the background flusher (${(error as Error).message}); run "progress flush" to deliver`);
  }
}

/** Tells the user why pending events are not going out, if something stops them. */
export function explainBlockedDelivery(session: Session, ctx: Context): void {
  const { config, task, store } = session;
  if (!config.endpoint) {
    ctx.logger.notice('recorded locally; no endpoint is set (PROGRESS_API_ENDPOINT or "progress init"), then run "progress flush"');
    return;
  }
  const d = store.getDeliveryState(task);
  if (d.lastErrorKind === 'auth' && d.refusedToken === tokenMark(config.token)) {
    const { events } = store.pendingCount(task);
    ctx.logger.warn(`the API refused the token (${d.lastError ?? 'HTTP 401'}); ${events} event(s) are kept: fix the token, then run "progress flush"`);
  }
}

/**
 * Waits until the rows are delivered or one is refused, the flusher stops (e.g. the token was
 * refused), or timeoutMs passes. Whatever is still pending then is safe on disk and delivered later.
 */
export async function waitForRows(session: Session, rowIds: readonly number[], timeoutMs: number): Promise<'delivered' | 'dead' | 'pending'> {
  const { store, task } = session;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const fates = rowIds.map((id) => store.rowFate(id));
    if (fates.includes('dead')) return 'dead';
    if (fates.every((f) => f === 'delivered')) return 'delivered';
    if (Date.now() >= deadline || store.getDeliveryState(task).flusherPid === null) return 'pending';
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
