// Property-based tests (fast-check, seeded and bounded): parsing, validation, payloads, merging, discovery input.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { toCheckpointInput, toCompleteInput, toErrorInput, toStageInput, toUpdateInput } from '../../src/cli/inputs.js';
import { parseCommandArgs, type ParsedCommand } from '../../src/cli/parse.js';
import { COMMANDS, COMMON_OPTIONS } from '../../src/cli/specs.js';
import { parseAreas } from '../../src/core/areas.js';
import { UsageError } from '../../src/core/errors.js';
import { boundTimeline, mergeQueuedUpdates, mergeUpdates } from '../../src/core/merge.js';
import { buildCompletePayload, buildErrorPayload, buildStagePayload, buildUpdatePayload, type Payload, type TimelineEntry } from '../../src/core/payload.js';
import { OPERATION_TYPES } from '../../src/core/validate.js';
import { nullish } from './json-shape.js';

const SEED = 20261204;
const run = (property: fc.IProperty<any> | fc.IAsyncProperty<any>, numRuns = 300) => fc.assert(property as fc.IProperty<unknown>, { seed: SEED, numRuns });

const CONVERT: Record<string, (p: ParsedCommand) => unknown> = {
  update: toUpdateInput,
  stage: toStageInput,
  error: toErrorInput,
  checkpoint: toCheckpointInput,
  complete: toCompleteInput,
};

/** Parses and converts like the CLI does; returns 'ok' or rethrows anything that is not a UsageError. */
function parseAndConvert(command: string, args: string[]): 'ok' | 'usage' {
  try {
    const p = parseCommandArgs(command, args);
    CONVERT[command]?.(p);
    return 'ok';
  } catch (error) {
    if (error instanceof UsageError) return 'usage';
    throw error;
  }
}

const commandName = fc.constantFrom(...Object.keys(COMMANDS));
/** Tokens a user (or a fuzzer) might type: real option names, near misses, values, odd unicode. */
const argToken = fc.oneof(
  fc.constantFrom(...[...COMMON_OPTIONS, ...Object.values(COMMANDS).flatMap((c) => c.options)].map((o) => `--${o.name}`)),
  fc.constantFrom('--', '-', '-q', '--token', '--items=', '--=', '---x', '--help=1', 'a=1', '-1', '1e309', '__proto__=1', 'constructor', '{"a":1}'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }).map((s) => s.replace(/\u0000/g, '')),
);

describe('argument parsing and validation', () => {
  test('never throws anything but a UsageError', () => {
    run(fc.property(commandName, fc.array(argToken, { maxLength: 8 }), (command, args) => {
      parseAndConvert(command, args);
    }), 2000);
  });

  const count = fc.nat().map(String);
  const typeName = fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}$/);
  const text = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== '' && !s.includes('\u0000'));
  const op = fc.constantFrom(...OPERATION_TYPES);
  /** Valid `update` arguments built from the grammar, with what they must parse to. */
  const validUpdate = fc
    .record(
      {
        items: fc.uniqueArray(fc.tuple(typeName, count), { selector: ([t]) => t, maxLength: 4 }),
        processed: count,
        total: count,
        type: typeName,
        lastId: text,
        stage: text,
        operation: op,
        message: fc.string({ maxLength: 40 }),
        noTimeline: fc.boolean(),
      },
      { requiredKeys: ['items', 'noTimeline'] },
    )
    .chain((r) => {
      // The grammar: `--name VALUE`, or `--name=VALUE`, which a value starting with "-" needs.
      const opt = (name: string, value: string) => (value.startsWith('-') ? [`--${name}=${value}`] : [`--${name}`, value]);
      const parts: string[][] = r.items.map(([t, n]) => opt('items', `${t}=${n}`));
      if (r.processed !== undefined) parts.push(opt('processed', r.processed));
      if (r.total !== undefined) parts.push(opt('total', r.total));
      if (r.type !== undefined) parts.push(opt('type', r.type));
      if (r.lastId !== undefined) parts.push(opt('last-id', r.lastId));
      if (r.stage !== undefined) parts.push(opt('stage', r.stage));
      if (r.operation !== undefined) parts.push(opt('operation', r.operation));
      if (r.message !== undefined) parts.push(opt('message', r.message));
      if (r.noTimeline) parts.push(['--no-timeline']);
      return fc.shuffledSubarray(parts, { minLength: parts.length, maxLength: parts.length }).map((p) => ({ r, args: p.flat() }));
    });

  test('accepts every argument list of the grammar, with the values given', () => {
    run(fc.property(validUpdate, ({ r, args }) => {
      const input = toUpdateInput(parseCommandArgs('update', args));
      expect(input.items === undefined ? [] : Object.entries(input.items).sort()).toEqual(r.items.map(([t, n]) => [t, Number(n)]).sort());
      expect(input.processed).toBe(r.processed === undefined ? undefined : Number(r.processed));
      expect(input.total).toBe(r.total === undefined ? undefined : Number(r.total));
      expect(input.lastId).toBe(r.lastId);
      expect(input.stage).toBe(r.stage);
      expect(input.operation).toBe(r.operation);
      expect(input.message).toBe(r.message);
      expect(input.timeline).toBe(!r.noTimeline);
    }));
  });

  test('refuses the grammar plus one unknown option, one negative count or one duplicate option', () => {
    const known = new Set([...COMMON_OPTIONS, ...COMMANDS.update!.options].map((o) => o.name));
    const unknown = fc.stringMatching(/^[a-z][a-z-]{0,12}$/).filter((n) => !known.has(n) && !known.has(n.replace(/^no-/, '')));
    const mutation = fc.oneof(
      unknown.map((n) => [`--${n}`]),
      fc.integer({ min: -1e9, max: -1 }).map((n) => [`--total=${n}`]),
      fc.constant(['--total', '1', '--total', '2']),
      fc.constantFrom(['--items', 'x'], ['--items', '=1'], ['--total', '1.5'], ['--operation', 'crawl'], ['--type', 'a b']),
    );
    run(fc.property(validUpdate, mutation, fc.boolean(), ({ args }, extra, first) => {
      expect(parseAndConvert('update', args)).toBe('ok');
      expect(parseAndConvert('update', first ? [...extra, ...args] : [...args, ...extra])).toBe('usage');
    }));
  });
});

const iso = fc.integer({ min: Date.UTC(2020, 0), max: Date.UTC(2030, 0) }).map((ms) => new Date(ms).toISOString());
const counts = fc.dictionary(fc.constantFrom('issues', 'mrs', 'a.b', 'constructor', 'toString'), fc.nat({ max: 1_000_000 }), { maxKeys: 4 });
const entry: fc.Arbitrary<TimelineEntry> = fc.record({
  timestamp: iso,
  event: fc.constantFrom('progress_update', 'progress_update', 'progress_update', 'stage_change', 'error') as fc.Arbitrary<TimelineEntry['event']>,
  details: fc.record(
    { itemsByType: counts, processedItems: fc.nat(), stage: fc.string({ maxLength: 5 }), coalescedUpdates: fc.integer({ min: 1, max: 50 }) },
    { requiredKeys: [] },
  ),
});
const update: fc.Arbitrary<Payload> = fc
  .record(
    {
      timestamp: iso,
      processedItems: fc.nat(),
      totalItems: fc.nat(),
      currentDataType: fc.string({ maxLength: 6 }),
      itemsByType: counts,
      lastProcessedId: fc.string({ maxLength: 6 }),
      stage: fc.string({ maxLength: 6 }),
      operationType: fc.constantFrom(...OPERATION_TYPES),
      message: fc.string({ maxLength: 10 }),
      timeline: fc.array(entry, { maxLength: 3 }),
    },
    { requiredKeys: ['timestamp'] },
  )
  .map((r) => ({ type: 'progress' as const, taskId: 't', ...r }));

const wire = (p: unknown) => JSON.parse(JSON.stringify(p));
const sumOf = (maps: (Record<string, number> | undefined)[]) => {
  const out: Record<string, number> = {};
  for (const m of maps) for (const [k, v] of Object.entries(m ?? {})) out[k] = (Object.hasOwn(out, k) ? out[k]! : 0) + v;
  return out;
};

describe('merging', () => {
  test('mergeUpdates is associative', () => {
    run(fc.property(update, update, update, (a, b, c) => {
      expect(wire(mergeUpdates(mergeUpdates(a, b), c))).toEqual(wire(mergeUpdates(a, mergeUpdates(b, c))));
    }));
  });
  test('itemsByType sums are preserved and timelines keep every entry in order', () => {
    run(fc.property(fc.array(update, { minLength: 1, maxLength: 8 }), (updates) => {
      const merged = wire(mergeQueuedUpdates(updates));
      const items = sumOf(updates.map((u) => u.itemsByType));
      if (updates.some((u) => u.itemsByType)) expect(merged.itemsByType).toEqual(items);
      else expect(merged).not.toHaveProperty('itemsByType');
      expect(merged.timeline ?? []).toEqual(wire(updates.flatMap((u) => u.timeline ?? [])));
      expect(merged.timestamp).toBe(updates.at(-1)!.timestamp);
    }));
  });
  test('boundTimeline keeps the number of updates, the sum of their items and the other events', () => {
    run(fc.property(fc.array(entry, { maxLength: 260 }), (timeline) => {
      const bounded = boundTimeline(timeline);
      const updates = (t: TimelineEntry[]) => t.filter((e) => e.event === 'progress_update');
      const countOf = (t: TimelineEntry[]) => updates(t).reduce((n, e) => n + ((e.details.coalescedUpdates as number | undefined) ?? 1), 0);
      expect(countOf(bounded)).toBe(countOf(timeline));
      expect(sumOf(updates(bounded).map((e) => e.details.itemsByType as Record<string, number>))).toEqual(
        sumOf(updates(timeline).map((e) => e.details.itemsByType as Record<string, number>)),
      );
      expect(bounded.filter((e) => e.event !== 'progress_update')).toEqual(timeline.filter((e) => e.event !== 'progress_update'));
      expect(bounded.length).toBeLessThanOrEqual(Math.max(timeline.length, 1));
      if (timeline.length > 100) expect(updates(bounded).length).toBeLessThanOrEqual(1);
    }));
  });
});

describe('payloads never carry null or undefined', () => {
  const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
  test('any builder, any input, and any merge of them', () => {
    const updateInput = fc.record({
      items: maybe(counts),
      processed: maybe(fc.nat()),
      total: maybe(fc.nat()),
      type: maybe(fc.string()),
      lastId: maybe(fc.string()),
      stage: maybe(fc.string()),
      operation: maybe(fc.constantFrom(...OPERATION_TYPES)),
      message: maybe(fc.string()),
      timeline: fc.boolean(),
    });
    run(fc.property(fc.array(updateInput, { minLength: 1, maxLength: 4 }), maybe(fc.string()), maybe(fc.string()), iso, (inputs, s, from, now) => {
      const payloads = inputs.map((i) => buildUpdatePayload('t', i, now));
      const all = [
        ...payloads,
        mergeQueuedUpdates(payloads),
        buildStagePayload('t', { name: s ?? 'x', message: s }, from, now),
        buildErrorPayload('t', { message: s ?? 'x', type: from, stage: s, context: s === undefined ? undefined : { s } }, now),
        buildCompletePayload('t', { summary: s }, {}, 5, now),
      ];
      for (const p of all) expect(nullish(wire(p))).toEqual([]);
    }));
  });
});

describe('discovery input', () => {
  const jsonish = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.array(fc.record({ type: fc.constantFrom('group', 'project', 'x'), id: fc.oneof(fc.nat(), fc.string(), fc.constant(null)), name: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] }), { maxLength: 4 }).map((a) =>
      a.map((v) => JSON.stringify(v)).join('\n'),
    ),
  );
  test('parseAreas never crashes: areas or a UsageError', () => {
    run(fc.property(fc.array(jsonish, { maxLength: 4 }).map((parts) => parts.join('\n')), (input) => {
      try {
        const areas = parseAreas(input, 'h');
        expect(areas.length).toBeGreaterThan(0);
        for (const a of areas) expect(nullish(wire(a))).toEqual([]);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
      }
    }), 1000);
  });
});
