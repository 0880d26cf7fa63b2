// Wiring: argv → parsed options (src/cli/parse.ts) → validated inputs (src/cli/inputs.ts), table-driven.
import { describe, expect, test } from 'vitest';
import { UsageError } from '../src/core/errors.js';
import { MAX_TEXT } from '../src/core/validate.js';
import { timeoutMs, toCheckpointInput, toCompleteInput, toErrorInput, toStageInput, toUpdateInput } from '../src/cli/inputs.js';
import { findCommandIndex, parseCommandArgs, type ParsedCommand } from '../src/cli/parse.js';

/** What main() does on the fast path: find the command, parse everything else against its spec. */
function parse(argv: string[]): ParsedCommand {
  const at = findCommandIndex(argv);
  if (at < 0) throw new Error(`no command in ${JSON.stringify(argv)}`);
  return parseCommandArgs(argv[at]!, [...argv.slice(0, at), ...argv.slice(at + 1)]);
}

const toInput: Record<string, (p: ParsedCommand) => unknown> = {
  update: toUpdateInput,
  stage: toStageInput,
  error: toErrorInput,
  checkpoint: toCheckpointInput,
  complete: toCompleteInput,
};

function inputOf(argv: string[]): unknown {
  const p = parse(argv);
  return toInput[p.command]!(p);
}

describe('findCommandIndex', () => {
  test.each([
    [['update'], 0],
    [['--task', 'x', 'update'], 2],
    [['--state-dir', '/s', '--endpoint', 'http://h', 'stage', 'x'], 4],
    [['--quiet', 'update'], 1],
    [['--task', 'update', 'stage'], 2],
    [['--', 'update'], 1],
    [['--task'], -1],
    [[], -1],
    [['--version'], -1],
  ])('%j → %i', (argv, at) => {
    expect(findCommandIndex(argv)).toBe(at);
  });
});

describe('argv → inputs', () => {
  test.each([
    [
      ['update', '--items', 'issues=10', '--items', 'mrs=2', '--processed', '5', '--total', '9', '--type', 'issues', '--last-id', '42',
        '--stage', 's', '--operation', 'discovery', '--message', 'm'],
      { items: { issues: 10, mrs: 2 }, processed: 5, total: 9, type: 'issues', lastId: '42', stage: 's', operation: 'discovery', message: 'm', timeline: true },
    ],
    [['update'], { timeline: true }],
    [['update', '--no-timeline', '--items=a=1'], { items: { a: 1 }, timeline: false }],
    [['update', '--processed=007', '--total', ' 12 '], { processed: 7, total: 12, timeline: true }],
    [['update', '--items', 'x.y-z_1=0'], { items: { 'x.y-z_1': 0 }, timeline: true }],
    [['update', '--last-id', 'a b/c?d'], { lastId: 'a b/c?d', timeline: true }],
    [['--task', 'T', 'update', '--items', 'a=3'], { items: { a: 3 }, timeline: true }],
    [['stage', 'discovery', '--operation', 'discovery'], { name: 'discovery', operation: 'discovery' }],
    [['stage', '--message', 'hi', 'data collection'], { name: 'data collection', message: 'hi' }],
    [['error', 'disk', 'full', '--type', 'IOError', '--context', '{"a":[1]}'], { message: 'disk full', type: 'IOError', context: { a: [1] } }],
    [['error', 'boom', '--stage', 's', '--last-id', '7', '--operation', 'finalization', '--context', 'null'],
      { message: 'boom', stage: 's', lastId: '7', operation: 'finalization', context: null }],
    [['error', '--', '-1 is not a page'], { message: '-1 is not a page' }],
    [['checkpoint', '42', '--data', '{"page":3}'], { id: '42', data: { page: 3 } }],
    [['checkpoint', '--', '-5'], { id: '-5' }],
    [['checkpoint', '--show'], undefined],
    [['complete', '--summary', 'done', '--processed', '3'], { summary: 'done', processed: 3 }],
    [['complete'], {}],
  ])('%j', (argv, want) => {
    expect(inputOf(argv)).toEqual(want);
  });

  test('common options land in the parsed options, whatever their position', () => {
    expect(parse(['--task', 'T', '--state-dir', '/s', 'update', '--endpoint', 'http://h', '-q']).options).toMatchObject({
      task: 'T', 'state-dir': '/s', endpoint: 'http://h', quiet: true,
    });
    expect(parse(['status', '--json']).options.json).toBe(true);
    expect(parse(['flush', '--retry-dead']).options['retry-dead']).toBe(true);
    expect(parse(['discover', 'areas.jsonl', '--discovered-by', 'me'])).toMatchObject({ operands: ['areas.jsonl'], options: { 'discovered-by': 'me' } });
  });

  test('free text is capped with a marker rather than refused', () => {
    const input = inputOf(['update', '--message', 'x'.repeat(MAX_TEXT * 2)]) as { message: string };
    expect(input.message).toHaveLength(MAX_TEXT);
    expect(input.message.endsWith('…[truncated]')).toBe(true);
  });

  test.each([
    [['complete'], 30, 30_000],
    [['complete', '--timeout', '1.5'], 30, 1_500],
    [['flush', '--timeout', '0'], 30, 0],
  ])('timeoutMs(%j)', (argv, fallback, ms) => {
    expect(timeoutMs(parse(argv), fallback)).toBe(ms);
  });
});

describe('bad argv → one UsageError naming the argument', () => {
  test.each([
    [['update', '--items', 'issues'], /--items expects TYPE=N, got "issues"/],
    [['update', '--items', 'a=1', '--items', 'a=2'], /type "a" twice/],
    [['update', '--items', 'a=9007199254740992'], /--items a is too large/],
    [['update', '--processed', '-1'], /--processed needs a value/],
    [['update', '--processed=-1'], /--processed must be a whole number/],
    [['update', '--processed', '1', '--processed', '1'], /--processed given more than once/],
    [['update', '--wat'], /unknown option --wat for "progress update"/],
    [['update', '--no-timeline=1'], /--no-timeline does not take a value/],
    [['update', 'x'], /unexpected argument "x"/],
    [['update', '--type', 'a/b'], /--type must be a name/],
    [['update', '--operation', 'crawl'], /--operation must be one of discovery, branch_crawling, data_collection, finalization/],
    [['stage'], /stage needs a NAME/],
    [['stage', ' '], /stage NAME must not be empty/],
    [['stage', 'a', 'b'], /unexpected argument "b"/],
    [['error'], /error needs a MESSAGE/],
    [['error', 'x', '--context', '{'], /--context is not valid JSON/],
    [['checkpoint'], /checkpoint needs an ID/],
    [['checkpoint', '--show', '--data', '{}'], /--show takes no ID and no --data/],
    [['checkpoint', 'a\u0000b'], /must not contain NUL/],
    [['complete', 'x'], /unexpected argument "x"/],
    [['complete', '--timeout', 'x'], /--timeout must be a number of seconds/],
  ])('%j', (argv, message) => {
    let thrown: unknown;
    try {
      const p = parse(argv);
      toInput[p.command]!(p);
      if (p.command === 'complete') timeoutMs(p, 30);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as UsageError).exitCode).toBe(2);
    expect((thrown as UsageError).message).toMatch(message);
    expect((thrown as UsageError).message).not.toContain('\n');
  });

  test('repeated switches are accepted', () => {
    expect(parse(['update', '--quiet', '-q', '--no-timeline', '--no-timeline']).options).toMatchObject({ quiet: true, 'no-timeline': true });
  });
});
