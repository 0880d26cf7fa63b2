// Builds the wire payloads of SPEC §7 from validated events: pure functions, no I/O.
import { capText, type OperationType } from './validate.js';

export type TimelineEvent = 'progress_update' | 'stage_change' | 'error' | 'completion';

export interface TimelineEntry {
  timestamp: string;
  event: TimelineEvent;
  details: Record<string, unknown>;
}

export interface Area {
  type: 'group' | 'project';
  name: string;
  gitlabId: string;
  fullPath?: string;
  webUrl?: string;
  description?: string;
  discoveredBy?: string;
}

/** One request body. Unset fields are absent, never null. */
export interface Payload {
  type: 'progress' | 'error';
  taskId: string;
  timestamp: string;
  status?: string;
  processedItems?: number;
  totalItems?: number;
  currentDataType?: string;
  itemsByType?: Record<string, number>;
  lastProcessedId?: string;
  stage?: string;
  operationType?: string;
  message?: string;
  error?: string;
  areas?: Area[];
  timeline?: TimelineEntry[];
}

export interface UpdateInput {
  items?: Record<string, number>;
  processed?: number;
  total?: number;
  type?: string;
  lastId?: string;
  stage?: string;
  operation?: OperationType;
  message?: string;
  timeline: boolean;
}

export interface StageInput {
  name: string;
  operation?: OperationType;
  message?: string;
}

export interface ErrorInput {
  message: string;
  type?: string;
  stage?: string;
  lastId?: string;
  operation?: OperationType;
  context?: unknown;
}

export interface CheckpointInput {
  id: string;
  data?: unknown;
}

export interface CompleteInput {
  summary?: string;
  processed?: number;
}

/** Drops undefined fields so the JSON never carries them (SPEC §7). */
export function compact<T extends object>(value: T): T {
  const out = {} as T;
  for (const [k, v] of Object.entries(value)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function base(taskId: string, now: string, type: Payload['type'] = 'progress'): Payload {
  return { type, taskId, timestamp: now };
}

export function buildUpdatePayload(taskId: string, input: UpdateInput, now: string): Payload {
  const payload = compact<Payload>({
    ...base(taskId, now),
    processedItems: input.processed,
    totalItems: input.total,
    currentDataType: input.type,
    itemsByType: input.items,
    lastProcessedId: input.lastId,
    stage: input.stage,
    operationType: input.operation,
    message: input.message,
  });
  if (input.timeline) {
    payload.timeline = [
      {
        timestamp: now,
        event: 'progress_update',
        details: compact({
          processedItems: input.processed,
          currentDataType: input.type,
          stage: input.stage,
          itemsByType: input.items,
        }),
      },
    ];
  }
  return payload;
}

export function buildStagePayload(taskId: string, input: StageInput, fromStage: string | undefined, now: string): Payload {
  return compact<Payload>({
    ...base(taskId, now),
    stage: input.name,
    operationType: input.operation,
    message: input.message ?? `Transitioning to ${input.name}`,
    timeline: [
      {
        timestamp: now,
        event: 'stage_change',
        details: compact({ fromStage, toStage: input.name, operationType: input.operation, timestamp: now }),
      },
    ],
  });
}

export function buildErrorPayload(taskId: string, input: ErrorInput, now: string): Payload {
  return compact<Payload>({
    ...base(taskId, now, 'error'),
    error: input.message,
    message: capText(`Error: ${input.message}`),
    stage: input.stage,
    lastProcessedId: input.lastId,
    operationType: input.operation,
    timeline: [
      {
        timestamp: now,
        event: 'error',
        details: compact({
          errorType: input.type ?? 'Error',
          errorMessage: input.message,
          context: input.context,
          timestamp: now,
        }),
      },
    ],
  });
}

export function buildCheckpointPayload(taskId: string, input: CheckpointInput, now: string): Payload {
  return { ...base(taskId, now), lastProcessedId: input.id, message: `Checkpoint saved at ${input.id}` };
}

export function buildCompletePayload(
  taskId: string,
  input: CompleteInput,
  finalCounts: Record<string, number>,
  durationMs: number,
  now: string,
): Payload {
  return compact<Payload>({
    ...base(taskId, now),
    processedItems: input.processed,
    stage: 'completed',
    message: input.summary ?? 'Operation completed successfully',
    timeline: [
      {
        timestamp: now,
        event: 'completion',
        details: compact({ finalCounts, duration: durationMs, summary: input.summary, timestamp: now }),
      },
    ],
  });
}

/** The seed's sendDiscoveredAreas payload for one chunk of areas. */
export function buildDiscoveryPayload(taskId: string, areas: Area[], now: string): Payload {
  const groups = areas.filter((a) => a.type === 'group').length;
  return {
    ...base(taskId, now),
    status: 'new_areas_discovered',
    areas,
    itemsByType: { groups, projects: areas.length - groups },
    stage: 'discovery',
    operationType: 'discovery',
    message: `Discovered ${areas.length} areas`,
  };
}
