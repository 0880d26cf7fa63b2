// status [--json]: the task's local state and delivery; the token is never shown, only whether one is set and from where.
import { requireTask } from '../../core/config.js';
import { UsageError } from '../../core/errors.js';
import { Store } from '../../core/store.js';
import type { Context } from '../context.js';
import type { ParsedCommand } from '../parse.js';
import { resolveFor } from '../session.js';

/** 3723000 → "1h 2m 3s". */
export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const parts = [[Math.floor(s / 86400), 'd'], [Math.floor((s % 86400) / 3600), 'h'], [Math.floor((s % 3600) / 60), 'm'], [s % 60, 's']] as const;
  const shown = parts.filter(([n], i) => n > 0 || i === parts.length - 1);
  return shown.map(([n, u]) => `${n}${u}`).join(' ');
}

export async function status(p: ParsedCommand, ctx: Context): Promise<number> {
  if (p.operands.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(p.operands[0])} for "progress status"`);
  const config = resolveFor(p, ctx);
  const task = requireTask(config);
  const store = Store.openIfExists(config.stateDir);
  const now = Date.now();
  try {
    const state = store?.getTaskState(task);
    const delivery = store?.getDeliveryState(task);
    const pending = store?.pendingCount(task) ?? { payloads: 0, events: 0 };
    const dead = store?.deadLetters(task) ?? { count: 0 };
    const running = state?.runStartedAt != null && !state.runCompleted;
    const report = {
      task,
      stateDir: config.stateDir,
      endpoint: config.endpoint ?? null,
      endpointSource: config.endpointSource,
      token: { set: config.token !== undefined, source: config.tokenSource },
      stage: state?.stage ?? null,
      operationType: state?.operation ?? null,
      run: {
        startedAt: state?.runStartedAt != null ? new Date(state.runStartedAt).toISOString() : null,
        completed: state?.runCompleted ?? false,
        elapsedMs: running ? now - state!.runStartedAt! : null,
      },
      totals: { ...(state?.totals ?? {}) },
      processedItems: state?.processed ?? null,
      totalItems: state?.total ?? null,
      lastCheckpoint: state?.checkpoint ?? null,
      // `checkpoint ID --data JSON` keeps its resume data here, so a crawler can read it back: status --json | jq .checkpointData
      checkpointData: state?.checkpointData != null ? (JSON.parse(state.checkpointData) as unknown) : null,
      pending: { events: pending.events, payloads: pending.payloads },
      deadLetters: { count: dead.count, lastReason: dead.last?.reason ?? null },
      lastDeliveryError: delivery?.lastError ? { message: delivery.lastError, kind: delivery.lastErrorKind, at: new Date(delivery.lastErrorAt ?? 0).toISOString() } : null,
      lastSentAt: delivery?.lastSendAt ? new Date(delivery.lastSendAt).toISOString() : null,
      flusherRunning: delivery?.flusherPid != null && (delivery.leaseUntil ?? 0) > now,
    };
    if (p.options.json === true) {
      ctx.logger.out(JSON.stringify(report, null, 2));
      return 0;
    }
    const c = ctx.logger.style;
    const totals = Object.entries(report.totals);
    const lines = [
      `${c.bold('task')}        ${task}`,
      `${c.bold('endpoint')}    ${report.endpoint ?? c.yellow('(none: events wait locally)')}${report.endpoint ? ` (${report.endpointSource})` : ''}`,
      `${c.bold('token')}       ${report.token.set ? `set (${report.token.source})` : 'not set'}`,
      `${c.bold('stage')}       ${report.stage ?? '-'}${report.operationType ? ` (${report.operationType})` : ''}`,
      `${c.bold('run')}         ${report.run.startedAt ? `started ${report.run.startedAt}${report.run.completed ? ', completed' : `, ${formatDuration(report.run.elapsedMs ?? 0)} elapsed`}` : 'not started'}`,
      `${c.bold('totals')}      ${totals.length ? totals.map(([t, n]) => `${t}=${n}`).join(' ') : '-'}`,
      `${c.bold('processed')}   ${report.processedItems ?? '-'}${report.totalItems !== null ? ` / ${report.totalItems}` : ''}`,
      `${c.bold('checkpoint')}  ${report.lastCheckpoint ?? '-'}`,
      `${c.bold('pending')}     ${report.pending.events} event(s) in ${report.pending.payloads} payload(s)${report.flusherRunning ? ', delivering' : ''}`,
      `${c.bold('dead')}        ${report.deadLetters.count}${report.deadLetters.lastReason ? ` (last: ${report.deadLetters.lastReason})` : ''}`,
    ];
    if (report.lastDeliveryError) lines.push(`${c.bold('last error')}  ${report.lastDeliveryError.message} at ${report.lastDeliveryError.at}`);
    ctx.logger.report(lines.join('\n'));
    return 0;
  } finally {
    store?.close();
  }
}
