// update, stage, error and checkpoint: thin wrappers that validate and record.
import { planCheckpoint, planError, planStage, planUpdate } from '../../core/events.js';
import { Store } from '../../core/store.js';
import type { Context } from '../context.js';
import { toCheckpointInput, toErrorInput, toStageInput, toUpdateInput } from '../inputs.js';
import type { ParsedCommand } from '../parse.js';
import { requireTask } from '../../core/config.js';
import { resolveFor } from '../session.js';
import { recordEvent } from './record.js';

export async function update(p: ParsedCommand, ctx: Context): Promise<number> {
  const input = toUpdateInput(p);
  return recordEvent(p, ctx, (state, task, now) => planUpdate(state, task, input, now), { wait: false });
}

export async function stage(p: ParsedCommand, ctx: Context): Promise<number> {
  const input = toStageInput(p);
  return recordEvent(p, ctx, (state, task, now) => planStage(state, task, input, now), { wait: true });
}

export async function error(p: ParsedCommand, ctx: Context): Promise<number> {
  const input = toErrorInput(p);
  return recordEvent(p, ctx, (state, task, now) => planError(state, task, input, now), { wait: true });
}

export async function checkpoint(p: ParsedCommand, ctx: Context): Promise<number> {
  const input = toCheckpointInput(p);
  if (input === undefined) return showCheckpoint(p, ctx);
  return recordEvent(p, ctx, (state, task, now) => planCheckpoint(state, task, input, now), { wait: true });
}

/** `checkpoint --show`: the last checkpoint id on stdout, nothing if none; never creates state. */
function showCheckpoint(p: ParsedCommand, ctx: Context): number {
  const config = resolveFor(p, ctx);
  const task = requireTask(config);
  const store = Store.openIfExists(config.stateDir);
  if (!store) return 0;
  try {
    const id = store.getTaskState(task).checkpoint;
    if (id !== null) ctx.logger.out(id);
    return 0;
  } finally {
    store.close();
  }
}
