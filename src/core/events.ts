// What each event does to a task's run state, and the payloads it queues: pure functions of (state, input, now).
import { ExitCode, ProgressError } from './errors.js';
import { addCounts } from './merge.js';
import {
  buildCheckpointPayload,
  buildCompletePayload,
  buildDiscoveryPayload,
  buildErrorPayload,
  buildStagePayload,
  buildUpdatePayload,
  type Area,
  type CheckpointInput,
  type CompleteInput,
  type ErrorInput,
  type StageInput,
  type UpdateInput,
} from './payload.js';
import type { EventPlan, TaskState } from './store.js';

/** Most areas per discovery payload, so a large discovery never becomes one huge request. */
export const DISCOVERY_CHUNK = 500;
/** Most bytes of areas per discovery payload (long descriptions make few areas large). */
export const DISCOVERY_CHUNK_BYTES = 512 * 1024;

/** Splits areas into runs of at most DISCOVERY_CHUNK areas and about DISCOVERY_CHUNK_BYTES of JSON each, in order. */
export function chunkAreas(areas: readonly Area[]): Area[][] {
  const chunks: Area[][] = [];
  let chunk: Area[] = [];
  let bytes = 0;
  for (const area of areas) {
    const size = Buffer.byteLength(JSON.stringify(area)) + 1;
    if (chunk.length > 0 && (chunk.length >= DISCOVERY_CHUNK || bytes + size > DISCOVERY_CHUNK_BYTES)) {
      chunks.push(chunk);
      [chunk, bytes] = [[], 0];
    }
    chunk.push(area);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A run starts with the first event after none, after `complete`, or at `reset`; totals and timer are per run. */
export function beginRun(state: TaskState, now: number): TaskState {
  if (state.runStartedAt !== null && !state.runCompleted) return state;
  return { ...state, runStartedAt: now, runCompleted: false, totals: Object.create(null), processed: null, total: null };
}

/** `reset`: a new run with totals, stage and timer cleared. */
export function resetRun(state: TaskState, now: number): TaskState {
  return { ...beginRun({ ...state, runStartedAt: null }, now), stage: null, operation: null };
}

function addTotals(totals: Record<string, number>, items: Record<string, number> | undefined): Record<string, number> {
  const sum = addCounts(totals, items);
  for (const [type, n] of Object.entries(sum)) {
    if (!Number.isSafeInteger(n)) throw new ProgressError(`the total of "${type}" would exceed ${Number.MAX_SAFE_INTEGER}`, ExitCode.usage);
  }
  return sum;
}

export function planUpdate(state: TaskState, task: string, input: UpdateInput, now: number): EventPlan {
  const run = beginRun(state, now);
  return {
    mergeable: true,
    payloads: [buildUpdatePayload(task, input, iso(now))],
    state: {
      ...run,
      totals: addTotals(run.totals, input.items),
      processed: input.processed ?? run.processed,
      total: input.total ?? run.total,
      stage: input.stage ?? run.stage,
      operation: input.operation ?? run.operation,
    },
  };
}

export function planStage(state: TaskState, task: string, input: StageInput, now: number): EventPlan {
  const run = beginRun(state, now);
  return {
    mergeable: false,
    payloads: [buildStagePayload(task, input, state.stage ?? undefined, iso(now))],
    state: { ...run, stage: input.name, operation: input.operation ?? null },
  };
}

export function planError(state: TaskState, task: string, input: ErrorInput, now: number): EventPlan {
  return { mergeable: false, payloads: [buildErrorPayload(task, input, iso(now))], state: beginRun(state, now) };
}

export function planCheckpoint(state: TaskState, task: string, input: CheckpointInput, now: number): EventPlan {
  const run = beginRun(state, now);
  return {
    mergeable: false,
    payloads: [buildCheckpointPayload(task, input, iso(now))],
    state: { ...run, checkpoint: input.id, checkpointData: input.data === undefined ? null : JSON.stringify(input.data) },
  };
}

export function planComplete(state: TaskState, task: string, input: CompleteInput, now: number): EventPlan {
  const run = beginRun(state, now);
  const duration = Math.max(0, now - (run.runStartedAt ?? now));
  return {
    mergeable: false,
    payloads: [buildCompletePayload(task, input, { ...run.totals }, duration, iso(now))],
    state: { ...run, runCompleted: true, stage: 'completed', processed: input.processed ?? run.processed },
  };
}

export function planDiscover(state: TaskState, task: string, areas: Area[], now: number): EventPlan {
  const run = beginRun(state, now);
  const payloads = chunkAreas(areas).map((chunk) => buildDiscoveryPayload(task, chunk, iso(now)));
  const groups = areas.filter((a) => a.type === 'group').length;
  return {
    mergeable: false,
    payloads,
    state: { ...run, totals: addTotals(run.totals, { groups, projects: areas.length - groups }) },
  };
}
