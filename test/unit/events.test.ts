// Tests of the event planners: run boundaries, the real previous stage, per-run totals, discovery chunks.
import { describe, expect, test } from 'vitest';
import { ProgressError } from '../../src/core/errors.js';
import {
  DISCOVERY_CHUNK,
  DISCOVERY_CHUNK_BYTES,
  chunkAreas,
  beginRun,
  planCheckpoint,
  planComplete,
  planDiscover,
  planError,
  planStage,
  planUpdate,
  resetRun,
} from '../../src/core/events.js';
import type { Area } from '../../src/core/payload.js';
import type { TaskState } from '../../src/core/store.js';
import { emptyTaskState } from '../../src/core/store-rows.js';

const fresh = (): TaskState => emptyTaskState('t');
const T0 = Date.UTC(2026, 11, 4, 10);

describe('runs', () => {
  test.each([
    ['no run yet', fresh(), T0 + 5, T0 + 5],
    ['running run is kept', { ...fresh(), runStartedAt: T0 }, T0 + 5, T0],
    ['completed run starts anew', { ...fresh(), runStartedAt: T0, runCompleted: true }, T0 + 5, T0 + 5],
  ])('%s', (_name, state, now, startedAt) => {
    const s = beginRun(state, now);
    expect(s.runStartedAt).toBe(startedAt);
    expect(s.runCompleted).toBe(false);
  });
  test('a new run clears totals and counts, not the stage or checkpoint', () => {
    const done = { ...fresh(), runStartedAt: T0, runCompleted: true, totals: { a: 3 }, processed: 3, total: 9, stage: 'completed', checkpoint: '7' };
    expect(beginRun(done, T0 + 1)).toMatchObject({ totals: {}, processed: null, total: null, stage: 'completed', checkpoint: '7' });
  });
  test('reset clears totals, stage and timer even mid-run', () => {
    const mid = { ...fresh(), runStartedAt: T0, totals: { a: 3 }, stage: 's', operation: 'discovery' };
    expect(resetRun(mid, T0 + 9)).toMatchObject({ runStartedAt: T0 + 9, totals: {}, stage: null, operation: null });
  });
  test('complete ends the run with duration and final counts; the next event starts a new run', () => {
    let s = planUpdate(fresh(), 't', { items: { a: 2 }, timeline: true }, T0).state;
    s = planUpdate(s, 't', { items: { a: 3, b: 1 }, timeline: true }, T0 + 1000).state;
    const c = planComplete(s, 't', { summary: 'ok' }, T0 + 2500);
    expect(c.state).toMatchObject({ runCompleted: true, stage: 'completed' });
    expect(c.payloads[0]!.timeline![0]!.details).toMatchObject({ finalCounts: { a: 5, b: 1 }, duration: 2500, summary: 'ok' });
    const next = planUpdate(c.state, 't', { items: { a: 1 }, timeline: true }, T0 + 9000).state;
    expect(next).toMatchObject({ runStartedAt: T0 + 9000, runCompleted: false, totals: { a: 1 } });
  });
  test('a clock going backwards never gives a negative duration', () => {
    const s = { ...fresh(), runStartedAt: T0 + 10_000 };
    expect(planComplete(s, 't', {}, T0).payloads[0]!.timeline![0]!.details.duration).toBe(0);
  });
});

describe('fromStage is the real previous stage', () => {
  test('first stage has no fromStage; later ones name the one before', () => {
    const a = planStage(fresh(), 't', { name: 'discovery', operation: 'discovery' }, T0);
    expect(a.payloads[0]!.timeline![0]!.details).not.toHaveProperty('fromStage');
    const b = planStage(a.state, 't', { name: 'collect' }, T0 + 1);
    expect(b.payloads[0]!.timeline![0]!.details).toMatchObject({ fromStage: 'discovery', toStage: 'collect' });
    expect(b.state.operation).toBeNull();
  });
  test('an update --stage counts as the current stage', () => {
    const u = planUpdate(fresh(), 't', { stage: 'crawl', timeline: false }, T0);
    expect(planStage(u.state, 't', { name: 'done' }, T0 + 1).payloads[0]!.timeline![0]!.details.fromStage).toBe('crawl');
  });
});

describe('totals', () => {
  test('updates add increments; the payload carries only this call\'s increment', () => {
    const a = planUpdate(fresh(), 't', { items: { issues: 10 }, timeline: true }, T0);
    const b = planUpdate(a.state, 't', { items: { issues: 5 }, processed: 15, timeline: true }, T0 + 1);
    expect(b.payloads[0]!.itemsByType).toEqual({ issues: 5 });
    expect({ ...b.state.totals }).toEqual({ issues: 15 });
    expect(b.state.processed).toBe(15);
    expect(b.mergeable).toBe(true);
  });
  test('a total beyond 2^53 is refused as usage, state untouched', () => {
    const s = { ...fresh(), runStartedAt: T0, totals: { a: Number.MAX_SAFE_INTEGER } };
    let thrown: unknown;
    try {
      planUpdate(s, 't', { items: { a: 1 }, timeline: false }, T0);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ProgressError);
    expect((thrown as ProgressError).exitCode).toBe(2);
    expect(s.totals.a).toBe(Number.MAX_SAFE_INTEGER);
  });
  test.each([
    ['stage', () => planStage(fresh(), 't', { name: 's' }, T0)],
    ['error', () => planError(fresh(), 't', { message: 'm' }, T0)],
    ['checkpoint', () => planCheckpoint(fresh(), 't', { id: '1' }, T0)],
    ['complete', () => planComplete(fresh(), 't', {}, T0)],
  ])('%s is never mergeable', (_name, plan) => expect(plan().mergeable).toBe(false));
});

describe('checkpoint and discovery', () => {
  test('checkpoint keeps id and data locally', () => {
    const c = planCheckpoint(fresh(), 't', { id: '42', data: { page: 2 } }, T0);
    expect(c.state).toMatchObject({ checkpoint: '42', checkpointData: '{"page":2}' });
    expect(JSON.stringify(c.payloads)).not.toContain('page');
  });
  test.each([1, DISCOVERY_CHUNK, DISCOVERY_CHUNK + 1, 3 * DISCOVERY_CHUNK + 7])('%d areas: chunked, counted once', (n) => {
    const areas: Area[] = Array.from({ length: n }, (_, i) => ({ type: i % 3 ? 'project' : 'group', name: `n${i}`, gitlabId: String(i) }));
    const plan = planDiscover(fresh(), 't', areas, T0);
    expect(plan.payloads).toHaveLength(Math.ceil(n / DISCOVERY_CHUNK));
    expect(plan.payloads.every((p) => p.areas!.length <= DISCOVERY_CHUNK)).toBe(true);
    expect(plan.payloads.flatMap((p) => p.areas)).toEqual(areas);
    const groups = areas.filter((a) => a.type === 'group').length;
    const sum = plan.payloads.reduce((acc, p) => acc + p.itemsByType!.groups! + p.itemsByType!.projects!, 0);
    expect(sum).toBe(n);
    expect({ ...plan.state.totals }).toEqual({ groups, projects: n - groups });
  });
});

describe('chunkAreas by size', () => {
  test('large areas split by bytes before the count limit, keeping order and every area', () => {
    const big = 'd'.repeat(4000);
    const areas = Array.from({ length: 300 }, (_, i) => ({ type: 'project' as const, name: `p${i}`, gitlabId: String(i), description: big }));
    const chunks = chunkAreas(areas);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(Buffer.byteLength(JSON.stringify(c))).toBeLessThanOrEqual(DISCOVERY_CHUNK_BYTES + 2);
    expect(chunks.flat().map((a) => a.gitlabId)).toEqual(areas.map((a) => a.gitlabId));
  });
});
