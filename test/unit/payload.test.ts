// Table-driven tests of the payload builders (SPEC §7): exact shapes, unset fields absent, never null.
import { describe, expect, test } from 'vitest';
import {
  buildCheckpointPayload,
  buildCompletePayload,
  buildDiscoveryPayload,
  buildErrorPayload,
  buildStagePayload,
  buildUpdatePayload,
  compact,
  type Area,
  type Payload,
} from '../../src/core/payload.js';
import { nullish } from './json-shape.js';

const NOW = '2026-12-04T10:00:00.000Z';

/** The payload as the server sees it. */
const wire = (p: Payload) => JSON.parse(JSON.stringify(p));

describe('compact', () => {
  test('drops undefined, keeps falsy values', () => {
    expect(compact({ a: undefined, b: 0, c: '', d: false })).toEqual({ b: 0, c: '', d: false });
    expect(Object.keys(compact({ a: undefined }))).toEqual([]);
  });
});

describe('buildUpdatePayload', () => {
  test('only the base fields and the timeline when nothing else is set', () => {
    const p = buildUpdatePayload('t', { timeline: true }, NOW);
    expect(wire(p)).toEqual({ type: 'progress', taskId: 't', timestamp: NOW, timeline: [{ timestamp: NOW, event: 'progress_update', details: {} }] });
  });
  test('--no-timeline leaves the timeline out entirely', () => {
    expect(wire(buildUpdatePayload('t', { timeline: false }, NOW))).toEqual({ type: 'progress', taskId: 't', timestamp: NOW });
  });
  test('every field set', () => {
    const p = buildUpdatePayload(
      't',
      { items: { issues: 10 }, processed: 5, total: 9, type: 'issues', lastId: '42', stage: 's', operation: 'data_collection', message: 'm', timeline: true },
      NOW,
    );
    expect(wire(p)).toEqual({
      type: 'progress',
      taskId: 't',
      timestamp: NOW,
      processedItems: 5,
      totalItems: 9,
      currentDataType: 'issues',
      itemsByType: { issues: 10 },
      lastProcessedId: '42',
      stage: 's',
      operationType: 'data_collection',
      message: 'm',
      timeline: [{ timestamp: NOW, event: 'progress_update', details: { processedItems: 5, currentDataType: 'issues', stage: 's', itemsByType: { issues: 10 } } }],
    });
  });
  test('zero counts are kept (0 is a value, not unset)', () => {
    expect(wire(buildUpdatePayload('t', { processed: 0, total: 0, items: { a: 0 }, timeline: false }, NOW))).toMatchObject({ processedItems: 0, totalItems: 0, itemsByType: { a: 0 } });
  });
});

describe('buildStagePayload', () => {
  test.each([
    [{ name: 'discovery' }, undefined, { stage: 'discovery', message: 'Transitioning to discovery' }, { toStage: 'discovery', timestamp: NOW }],
    [
      { name: 'collect', operation: 'data_collection' as const, message: 'go' },
      'discovery',
      { stage: 'collect', operationType: 'data_collection', message: 'go' },
      { fromStage: 'discovery', toStage: 'collect', operationType: 'data_collection', timestamp: NOW },
    ],
  ])('%j from %j', (input, from, fields, details) => {
    expect(wire(buildStagePayload('t', input, from, NOW))).toEqual({
      type: 'progress',
      taskId: 't',
      timestamp: NOW,
      ...fields,
      timeline: [{ timestamp: NOW, event: 'stage_change', details }],
    });
  });
});

describe('buildErrorPayload', () => {
  test('minimal: type error, message prefixed, errorType defaults to Error', () => {
    expect(wire(buildErrorPayload('t', { message: 'boom' }, NOW))).toEqual({
      type: 'error',
      taskId: 't',
      timestamp: NOW,
      error: 'boom',
      message: 'Error: boom',
      timeline: [{ timestamp: NOW, event: 'error', details: { errorType: 'Error', errorMessage: 'boom', timestamp: NOW } }],
    });
  });
  test('all fields, context kept as given (also a JSON null context is a value the user chose)', () => {
    const p = wire(buildErrorPayload('t', { message: 'm', type: 'HttpError', stage: 's', lastId: '9', operation: 'discovery', context: { status: 502 } }, NOW));
    expect(p).toMatchObject({ stage: 's', lastProcessedId: '9', operationType: 'discovery' });
    expect(p.timeline[0].details).toEqual({ errorType: 'HttpError', errorMessage: 'm', context: { status: 502 }, timestamp: NOW });
  });
  test('the message field stays within the text cap even for a capped error', () => {
    const p = buildErrorPayload('t', { message: 'e'.repeat(4096) }, NOW);
    expect(p.message!.length).toBeLessThanOrEqual(4096);
  });
});

describe('buildCheckpointPayload', () => {
  test('sends the id and a message, no timeline; --data stays local', () => {
    expect(wire(buildCheckpointPayload('t', { id: '4711', data: { page: 3 } }, NOW))).toEqual({
      type: 'progress',
      taskId: 't',
      timestamp: NOW,
      lastProcessedId: '4711',
      message: 'Checkpoint saved at 4711',
    });
  });
});

describe('buildCompletePayload', () => {
  test.each([
    [{}, { stage: 'completed', message: 'Operation completed successfully' }, { finalCounts: { a: 1 }, duration: 1500, timestamp: NOW }],
    [
      { summary: 'done', processed: 7 },
      { stage: 'completed', message: 'done', processedItems: 7 },
      { finalCounts: { a: 1 }, duration: 1500, summary: 'done', timestamp: NOW },
    ],
  ])('%j', (input, fields, details) => {
    expect(wire(buildCompletePayload('t', input, { a: 1 }, 1500, NOW))).toEqual({
      type: 'progress',
      taskId: 't',
      timestamp: NOW,
      ...fields,
      timeline: [{ timestamp: NOW, event: 'completion', details }],
    });
  });
});

describe('buildDiscoveryPayload', () => {
  const areas: Area[] = [
    { type: 'group', name: 'g', gitlabId: '1' },
    { type: 'project', name: 'p', gitlabId: '2', fullPath: 'g/p', webUrl: 'https://x/g/p', description: 'd', discoveredBy: 'h' },
    { type: 'project', name: 'q', gitlabId: '3' },
  ];
  test('the seed\'s sendDiscoveredAreas shape with group/project counts', () => {
    expect(wire(buildDiscoveryPayload('t', areas, NOW))).toEqual({
      type: 'progress',
      taskId: 't',
      timestamp: NOW,
      status: 'new_areas_discovered',
      areas: wire({ areas } as unknown as Payload).areas,
      itemsByType: { groups: 1, projects: 2 },
      stage: 'discovery',
      operationType: 'discovery',
      message: 'Discovered 3 areas',
    });
  });
});

describe('no builder ever emits null or undefined', () => {
  const all: [string, Payload][] = [
    ['update', buildUpdatePayload('t', { timeline: true }, NOW)],
    ['update full', buildUpdatePayload('t', { items: { a: 1 }, processed: 1, timeline: true }, NOW)],
    ['stage', buildStagePayload('t', { name: 's' }, undefined, NOW)],
    ['error', buildErrorPayload('t', { message: 'm' }, NOW)],
    ['checkpoint', buildCheckpointPayload('t', { id: '1' }, NOW)],
    ['complete', buildCompletePayload('t', {}, {}, 0, NOW)],
    ['discovery', buildDiscoveryPayload('t', [{ type: 'group', name: 'g', gitlabId: '1' }], NOW)],
  ];
  test.each(all)('%s', (_name, payload) => {
    expect(nullish(payload)).toEqual([]);
    expect(JSON.stringify(payload)).not.toMatch(/null/);
  });
});
