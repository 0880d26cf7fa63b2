// Unit tests of wrap's in-band grammar (one grammar with the command line), the bounded line streams and batched recording.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { toUpdateInput } from '../src/cli/inputs.js';
import { parseCommandArgs } from '../src/cli/parse.js';
import { planStage, planUpdate } from '../src/core/events.js';
import { parseInBandLine, tokenize } from '../src/core/in-band.js';
import { LineSplitter, LineTail, MarkerFilter } from '../src/core/line-streams.js';
import { Store } from '../src/core/store.js';

describe('tokenize', () => {
  test.each([
    ['update --items issues=10', ['update', '--items', 'issues=10']],
    ['  error   "HTTP 502 from GitLab"  --type Http ', ['error', 'HTTP 502 from GitLab', '--type', 'Http']],
    [`error 'it''s' x`, ['error', 'its', 'x']],
    [`error "say \\"hi\\" \\$HOME \\n"`, ['error', 'say "hi" $HOME \\n']],
    [`error a\\ b c`, ['error', 'a b', 'c']],
    [`update --message ""`, ['update', '--message', '']],
    [`error --context '{"a": [1, 2]}' m`, ['error', '--context', '{"a": [1, 2]}', 'm']],
    ['', []],
  ])('%s', (line, words) => expect(tokenize(line)).toEqual(words));

  test.each([`error "open`, `error 'open`])('unterminated quote %s is refused', (line) => {
    expect(() => tokenize(line)).toThrow(/unterminated/);
  });
});

describe('parseInBandLine: the command-line grammar', () => {
  test('same input as the command line', () => {
    const args = ['--items', 'issues=10', '--items', 'mrs=2', '--last-id', '42', '--no-timeline'];
    expect(parseInBandLine(`update ${args.join(' ')}`)).toEqual({ command: 'update', input: toUpdateInput(parseCommandArgs('update', args)) });
  });

  test.each([
    ['stage discovery --operation discovery', 'stage'],
    ['error "boom" --type Http --context \'{"status":502}\'', 'error'],
    ['checkpoint 4711 --data \'{"page":3}\'', 'checkpoint'],
    ['progress update --items a=1', 'update'],
  ])('%s', (line, command) => expect(parseInBandLine(line)?.command).toBe(command));

  test.each(['', '   ', '# a comment'])('blank or comment %j is nothing', (line) => expect(parseInBandLine(line)).toBeUndefined());

  test.each([
    ['update --items issues=-1', /--items/],
    ['update --items', /needs a value/],
    ['update --bogus', /unknown option --bogus/],
    ['update --processed 1 --processed 2', /more than once/],
    ['stage', /NAME/],
    ['complete', /unknown in-band command "complete"/],
    ['discover', /unknown in-band command/],
    ['update --task other', /--task is not accepted in-band/],
    ['update --state-dir=/tmp/x', /--state-dir is not accepted in-band/],
    ['checkpoint --show', /not available in-band/],
    ['error "x" --context {bad', /--context is not valid JSON/],
    ['update --operation nope', /operation/],
  ])('%s is refused', (line, message) => expect(() => parseInBandLine(line)).toThrow(message));
});

/** Feeds `input` to a consumer in random chunks (seeded by fast-check). */
function chunked(input: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...points, input.length]) {
    if (p > from) out.push(input.subarray(from, p));
    from = Math.max(from, p);
  }
  return out;
}

describe('MarkerFilter', () => {
  const input = Buffer.from('hello\n::progress update --items a=1\n::prog\n:: progress x\n::progress stage s\nnot ::progress here\n::progress error "e"');
  const run = (chunks: Buffer[]) => {
    const out: Buffer[] = [];
    const markers: (string | undefined)[] = [];
    const f = new MarkerFilter((b) => out.push(Buffer.from(b)), (l) => markers.push(l), 1000);
    for (const c of chunks) f.push(c);
    f.end();
    return { out: Buffer.concat(out).toString(), markers };
  };

  test('marker lines are taken out, everything else passes unchanged, however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
        const r = run(chunked(input, cuts));
        expect(r.out).toBe('hello\n::prog\n:: progress x\nnot ::progress here\n');
        expect(r.markers).toEqual(['update --items a=1', 'stage s', 'error "e"']);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  test('a marker line longer than the limit is reported as too long, not buffered', () => {
    const markers: (string | undefined)[] = [];
    const f = new MarkerFilter(() => undefined, (l) => markers.push(l), 10);
    f.push(Buffer.from(`::progress update ${'x'.repeat(100)}\n::progress stage s\n`));
    expect(markers).toEqual([undefined, 'stage s']);
  });
});

describe('LineSplitter and LineTail', () => {
  test('lines survive any chunking, including multi-byte characters', () => {
    const input = Buffer.from('één\nzwei\n\ndrei ✓\nlast');
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 10 }), (cuts) => {
        const lines: (string | undefined)[] = [];
        const s = new LineSplitter(100, (l) => lines.push(l));
        for (const c of chunked(input, cuts)) s.push(c);
        s.end();
        expect(lines).toEqual(['één', 'zwei', '', 'drei ✓', 'last']);
      }),
      { seed: 7, numRuns: 200 },
    );
  });

  test('the tail keeps only the last N lines, bounded, whatever flows through', () => {
    const tail = new LineTail(3);
    for (let i = 0; i < 10_000; i++) tail.push(Buffer.from(`line ${i}\n`));
    tail.push(Buffer.from(`${'y'.repeat(50_000)}\nfetching 10%\rfetching 100%`));
    const lines = tail.lines();
    expect(lines.length).toBe(3);
    expect(lines[0]).toBe('line 9999');
    expect(lines[1]!.length).toBeLessThanOrEqual(1000);
    expect(lines[2]).toBe('fetching 100%');
  });

  test('a tail of 0 lines keeps nothing', () => {
    const tail = new LineTail(0);
    tail.push(Buffer.from('a\nb\n'));
    expect(tail.lines()).toEqual([]);
  });
});

describe('Store.recordBatch', () => {
  test('consecutive updates become one outbox row; other events keep their place; a bad event is skipped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'progress-batch-'));
    const store = Store.open(dir);
    try {
      const now = Date.now();
      const update = (n: number) => (s: Parameters<typeof planUpdate>[0]) => planUpdate(s, 't', { items: { issues: n }, timeline: true }, now);
      const planners = [
        ...Array.from({ length: 500 }, () => update(1)),
        (s: Parameters<typeof planUpdate>[0]) => planStage(s, 't', { name: 'second' }, now),
        update(Number.MAX_SAFE_INTEGER),
        update(2),
      ];
      const result = store.recordBatch('t', now, planners, { canDeliver: false });
      expect(result.rejected.map((r) => r.index)).toEqual([501]);
      expect(result.state.totals).toEqual({ issues: 502 });
      const rows = store.db.prepare('SELECT mergeable, events, body FROM outbox ORDER BY id').all() as { mergeable: number; events: number; body: string }[];
      expect(rows.map((r) => [r.mergeable, r.events])).toEqual([[1, 500], [0, 1], [1, 1]]);
      const first = JSON.parse(rows[0]!.body);
      expect(first.itemsByType).toEqual({ issues: 500 });
      expect(first.timeline.length).toBeLessThanOrEqual(101);
      expect(JSON.parse(rows[1]!.body).stage).toBe('second');
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
