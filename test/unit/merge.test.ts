// Table-driven tests of coalescing: mergeUpdates / mergeQueuedUpdates (the seed's mergeQueuedUpdates) and boundTimeline.
import { describe, expect, test } from 'vitest';
import { TIMELINE_CAP, addCounts, boundTimeline, mergeQueuedUpdates, mergeUpdates } from '../../src/core/merge.js';
import type { Payload, TimelineEntry } from '../../src/core/payload.js';

const at = (s: number) => new Date(Date.UTC(2026, 11, 4, 10, 0, s)).toISOString();
const upd = (s: number, extra: Partial<Payload> = {}): Payload => ({ type: 'progress', taskId: 't', timestamp: at(s), ...extra });
const tl = (s: number, event: TimelineEntry['event'] = 'progress_update', details: Record<string, unknown> = {}): TimelineEntry => ({
  timestamp: at(s),
  event,
  details,
});

describe('addCounts', () => {
  test.each([
    [undefined, undefined, {}],
    [{ a: 1 }, undefined, { a: 1 }],
    [undefined, { b: 2 }, { b: 2 }],
    [{ a: 1, b: 2 }, { b: 3, c: 0 }, { a: 1, b: 5, c: 0 }],
  ])('%j + %j = %j', (a, b, want) => expect({ ...addCounts(a, b) }).toEqual(want));
  test('__proto__ and constructor are counted as plain types', () => {
    const a = JSON.parse('{"__proto__":1,"constructor":2}');
    const sum = addCounts(a, a);
    expect(Object.entries(sum)).toEqual([['__proto__', 2], ['constructor', 4]]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('mergeUpdates', () => {
  test.each<[string, Payload, Payload, Partial<Payload>]>([
    ['later scalar wins', upd(1, { processedItems: 1, message: 'a' }), upd(2, { processedItems: 5, message: 'b' }), { timestamp: at(2), processedItems: 5, message: 'b' }],
    ['unset later keeps earlier', upd(1, { lastProcessedId: '41', stage: 's' }), upd(2, { processedItems: 3 }), { lastProcessedId: '41', stage: 's', processedItems: 3 }],
    ['items summed per type', upd(1, { itemsByType: { a: 1, b: 2 } }), upd(2, { itemsByType: { b: 3, c: 4 } }), { itemsByType: { a: 1, b: 5, c: 4 } }],
    ['items on one side only', upd(1), upd(2, { itemsByType: { a: 1 } }), { itemsByType: { a: 1 } }],
    ['timelines concatenated in order', upd(1, { timeline: [tl(1)] }), upd(2, { timeline: [tl(2)] }), { timeline: [tl(1), tl(2)] }],
    ['0 is a set value', upd(1, { processedItems: 9 }), upd(2, { processedItems: 0 }), { processedItems: 0 }],
  ])('%s', (_name, a, b, want) => {
    expect(JSON.parse(JSON.stringify(mergeUpdates(a, b)))).toMatchObject(want);
  });
  test('no field appears that neither side had', () => {
    expect(Object.keys(mergeUpdates(upd(1), upd(2))).sort()).toEqual(['taskId', 'timestamp', 'type']);
  });
  test('does not modify its inputs', () => {
    const a = upd(1, { itemsByType: { a: 1 }, timeline: [tl(1)] });
    const b = upd(2, { itemsByType: { a: 2 }, timeline: [tl(2)] });
    const before = JSON.stringify([a, b]);
    mergeUpdates(a, b);
    expect(JSON.stringify([a, b])).toBe(before);
  });
});

describe('mergeQueuedUpdates', () => {
  test('one update is itself', () => expect(mergeQueuedUpdates([upd(1, { processedItems: 2 })])).toEqual(upd(1, { processedItems: 2 })));
  test('empty list is a programming error', () => expect(() => mergeQueuedUpdates([])).toThrow());
  test('three updates, oldest first', () => {
    const m = mergeQueuedUpdates([
      upd(1, { itemsByType: { a: 1 }, lastProcessedId: '1', timeline: [tl(1)] }),
      upd(2, { itemsByType: { a: 2 }, timeline: [tl(2)] }),
      upd(3, { itemsByType: { b: 1 }, lastProcessedId: '3', timeline: [tl(3)] }),
    ]);
    expect(JSON.parse(JSON.stringify(m))).toEqual({
      type: 'progress',
      taskId: 't',
      timestamp: at(3),
      itemsByType: { a: 3, b: 1 },
      lastProcessedId: '3',
      timeline: [tl(1), tl(2), tl(3)],
    });
  });
});

describe('boundTimeline', () => {
  test.each([0, 1, TIMELINE_CAP])('%d entries stay untouched', (n) => {
    const entries = Array.from({ length: n }, (_, i) => tl(i, 'progress_update', { itemsByType: { a: 1 } }));
    expect(boundTimeline(entries)).toEqual(entries);
  });
  test('over the cap: updates fold into one entry that counts them and sums their items', () => {
    const entries = Array.from({ length: TIMELINE_CAP + 1 }, (_, i) =>
      tl(i, 'progress_update', { itemsByType: { a: 1, ...(i % 2 ? { b: 2 } : {}) }, processedItems: i, stage: 's' }),
    );
    const out = boundTimeline(entries);
    expect(out).toHaveLength(1);
    expect(out[0]).toEqual({
      timestamp: at(TIMELINE_CAP),
      event: 'progress_update',
      details: { processedItems: TIMELINE_CAP, stage: 's', itemsByType: { a: TIMELINE_CAP + 1, b: 2 * 50 }, coalescedUpdates: TIMELINE_CAP + 1 },
    });
  });
  test('an already folded entry counts for the updates it stands for', () => {
    const entries = [tl(0, 'progress_update', { coalescedUpdates: 500, itemsByType: { a: 500 } }), ...Array.from({ length: TIMELINE_CAP }, (_, i) => tl(i + 1, 'progress_update', { itemsByType: { a: 1 } }))];
    const [folded] = boundTimeline(entries);
    expect(folded!.details).toMatchObject({ coalescedUpdates: 500 + TIMELINE_CAP, itemsByType: { a: 500 + TIMELINE_CAP } });
  });
  test('updates without items fold without an itemsByType key', () => {
    const out = boundTimeline(Array.from({ length: TIMELINE_CAP + 5 }, (_, i) => tl(i)));
    expect(out).toEqual([{ timestamp: at(TIMELINE_CAP + 4), event: 'progress_update', details: { coalescedUpdates: TIMELINE_CAP + 5 } }]);
  });
  test('other events are kept, before the folded updates', () => {
    const entries = [...Array.from({ length: TIMELINE_CAP }, (_, i) => tl(i)), tl(200, 'error', { errorMessage: 'x' })];
    const out = boundTimeline(entries);
    expect(out.map((e) => e.event)).toEqual(['error', 'progress_update']);
  });
});
