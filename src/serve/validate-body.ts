// Validates one POSTed progress payload (SPEC §7) into a typed event: pure, throws BodyError (a 4xx) naming the field.
import type { Area, Payload } from '../core/payload.js';

/** Largest request body accepted. A discovery chunk of 500 areas with long descriptions stays well below it. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Longest task id accepted in a path (the client accepts ids of 10 KB and more). */
export const MAX_TASK_ID = 16 * 1024;
/** Longest id (area id, last processed id) accepted in a body. */
const MAX_ID = 1024;
const MAX_KEYS = 1000;
const MAX_NAME = 200;

/** A request the server refuses, with the HTTP status and one clear line for the client. */
export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

/** An area as the client sends it (SPEC §7): the same shape as the client's own. */
export type IncomingArea = Area;

export interface IncomingTimelineEntry {
  timestamp: string;
  event: string;
  details: Record<string, unknown>;
}

/**
 * A validated payload: the client's Payload without its envelope (task id from the path), with `at`,
 * when the client made the event (ms; the receive time when the payload has none). Absent fields stay absent.
 */
export type IncomingEvent = Omit<Payload, 'taskId' | 'timestamp' | 'timeline'> & { at: number; timeline?: IncomingTimelineEntry[] };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function count(v: unknown, field: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new BodyError(400, `"${field}" must be a whole number >= 0`);
  return v;
}

function text(v: unknown, field: string, max?: number): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new BodyError(400, `"${field}" must be a string`);
  if (max !== undefined && v.length > max) throw new BodyError(400, `"${field}" is too long (at most ${max} characters)`);
  return v;
}

function time(v: unknown, field: string): number | undefined {
  const s = text(v, field, 64);
  if (s === undefined) return undefined;
  const ms = Date.parse(s);
  if (!Number.isFinite(ms)) throw new BodyError(400, `"${field}" must be an ISO 8601 time`);
  return ms;
}

function counts(v: unknown, field: string): Record<string, number> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw new BodyError(400, `"${field}" must be an object of counts`);
  const entries = Object.entries(v);
  if (entries.length > MAX_KEYS) throw new BodyError(400, `"${field}" has too many types (at most ${MAX_KEYS})`);
  const out: Record<string, number> = Object.create(null);
  for (const [type, n] of entries) {
    if (type === '' || type.length > MAX_NAME) throw new BodyError(400, `"${field}" has an empty or too long type name`);
    out[type] = count(n, `${field}.${type}`)!;
  }
  return out;
}

function area(v: unknown, i: number): IncomingArea {
  const where = `areas[${i}]`;
  if (!isObject(v)) throw new BodyError(400, `"${where}" must be an object`);
  if (v.type !== 'group' && v.type !== 'project') throw new BodyError(400, `"${where}.type" must be "group" or "project"`);
  const id = typeof v.gitlabId === 'number' && Number.isFinite(v.gitlabId) ? String(v.gitlabId) : text(v.gitlabId, `${where}.gitlabId`, MAX_ID);
  if (id === undefined || id === '') throw new BodyError(400, `"${where}.gitlabId" is required`);
  const out: IncomingArea = { type: v.type, gitlabId: id, name: text(v.name, `${where}.name`) ?? id };
  for (const f of ['fullPath', 'webUrl', 'description', 'discoveredBy'] as const) {
    const value = text(v[f], `${where}.${f}`);
    if (value !== undefined) out[f] = value;
  }
  return out;
}

function timelineEntry(v: unknown, i: number, fallback: string): IncomingTimelineEntry {
  const where = `timeline[${i}]`;
  if (!isObject(v)) throw new BodyError(400, `"${where}" must be an object`);
  const event = text(v.event, `${where}.event`, MAX_NAME);
  if (!event) throw new BodyError(400, `"${where}.event" is required`);
  const at = time(v.timestamp, `${where}.timestamp`);
  if (v.details !== undefined && !isObject(v.details)) throw new BodyError(400, `"${where}.details" must be an object`);
  return { event, timestamp: at === undefined ? fallback : new Date(at).toISOString(), details: (v.details as Record<string, unknown>) ?? {} };
}

function list<T>(v: unknown, field: string, each: (item: unknown, i: number) => T): T[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new BodyError(400, `"${field}" must be an array`);
  if (v.length > 10 * MAX_KEYS) throw new BodyError(400, `"${field}" has too many entries`);
  return v.map(each);
}

/** Parses and validates a raw body for `task`; unknown fields are ignored so newer clients keep working. */
export function parseEvent(raw: string, task: string, receivedAt: number): IncomingEvent {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new BodyError(400, 'body is not valid JSON');
  }
  if (!isObject(body)) throw new BodyError(400, 'body must be a JSON object');
  const type = body.type ?? 'progress';
  if (type !== 'progress' && type !== 'error') throw new BodyError(400, '"type" must be "progress" or "error"');
  const taskId = text(body.taskId, 'taskId');
  if (taskId !== undefined && taskId !== task) throw new BodyError(400, '"taskId" does not match the task id in the path');
  const at = time(body.timestamp, 'timestamp') ?? receivedAt;
  const fallback = new Date(at).toISOString();
  const event: IncomingEvent = {
    type,
    at,
    status: text(body.status, 'status', MAX_NAME),
    processedItems: count(body.processedItems, 'processedItems'),
    totalItems: count(body.totalItems, 'totalItems'),
    currentDataType: text(body.currentDataType, 'currentDataType', MAX_NAME),
    itemsByType: counts(body.itemsByType, 'itemsByType'),
    lastProcessedId: text(body.lastProcessedId, 'lastProcessedId', MAX_ID),
    stage: text(body.stage, 'stage', MAX_NAME),
    operationType: text(body.operationType, 'operationType', MAX_NAME),
    message: text(body.message, 'message'),
    error: text(body.error, 'error'),
    areas: list(body.areas, 'areas', area),
    timeline: list(body.timeline, 'timeline', (v, i) => timelineEntry(v, i, fallback)),
  };
  for (const k of Object.keys(event) as (keyof IncomingEvent)[]) if (event[k] === undefined) delete event[k];
  return event;
}

/** The task id of `POST {any prefix}/{taskId}/progress`, URL-decoded; undefined when the path is not one. */
export function taskFromPath(pathname: string): string | undefined {
  const segments = pathname.split('/');
  if (segments.length < 3 || segments[segments.length - 1] !== 'progress') return undefined;
  let task: string;
  try {
    task = decodeURIComponent(segments[segments.length - 2]!);
  } catch {
    throw new BodyError(400, 'the task id in the path is not valid percent-encoding');
  }
  if (task === '') throw new BodyError(400, 'the task id in the path is empty');
  if (task.length > MAX_TASK_ID || task.includes('\u0000')) throw new BodyError(400, 'the task id in the path is too long or holds NUL');
  return task;
}
