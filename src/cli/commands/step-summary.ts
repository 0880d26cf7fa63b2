// Appends a short Markdown summary of the run to $GITHUB_STEP_SUMMARY when a CI job provides one.
import { appendFileSync } from 'node:fs';
import type { TaskState } from '../../core/store.js';
import type { Context } from '../context.js';
import type { Session } from '../session.js';
import { formatDuration } from './status.js';

/** Writes the summary; a failure to write it is a warning, never a failed command. */
export function appendStepSummary(session: Session, state: TaskState, ctx: Context): void {
  const path = ctx.env.GITHUB_STEP_SUMMARY;
  if (!path) return;
  const duration = state.runStartedAt === null ? 0 : Date.now() - state.runStartedAt;
  const totals = Object.entries(state.totals);
  const pending = session.store.pendingCount(session.task);
  const dead = session.store.deadLetters(session.task).count;
  const cell = (s: string) => s.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`).replace(/\s+/g, ' ');
  const lines = [
    `### progress: ${cell(session.task)}`,
    '',
    `Stage **${cell(state.stage ?? '-')}**, duration ${formatDuration(duration)}, pending ${pending.events}, dead letters ${dead}.`,
    '',
    ...(totals.length > 0 ? ['| type | total |', '| --- | ---: |', ...totals.map(([t, n]) => `| ${cell(t)} | ${n} |`)] : ['No items counted.']),
    '',
  ];
  try {
    appendFileSync(path, `${lines.join('\n')}\n`);
  } catch (error) {
    ctx.logger.warn(`cannot append to GITHUB_STEP_SUMMARY: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
