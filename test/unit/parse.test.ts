// Table-driven tests of argument parsing over the command specs (the hot path, no commander) and of parsed → inputs.
import { describe, expect, test } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { toCheckpointInput, toCompleteInput, toErrorInput, toStageInput, toUpdateInput, timeoutMs } from '../../src/cli/inputs.js';
import { findCommandIndex, list, parseCommandArgs, str } from '../../src/cli/parse.js';
import { COMMANDS } from '../../src/cli/specs.js';

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('findCommandIndex', () => {
  test.each([
    [['update'], 0],
    [['--task', 'x', 'update'], 2],
    [['--task', 'update', 'stage'], 2],
    [['--quiet', '--state-dir', '/s', 'status'], 3],
    [['--', 'update'], 1],
    [['--'], -1],
    [[], -1],
    [['--help'], -1],
  ])('%j → %d', (argv, want) => expect(findCommandIndex(argv)).toBe(want));
});

describe('parseCommandArgs', () => {
  test('repeatable --items, values with "=" and spaces, switches', () => {
    const p = parseCommandArgs('update', ['--items', 'a=1', '--items=b=2', '--message', 'hello world', '--no-timeline', '-q']);
    expect(list(p.options, 'items')).toEqual(['a=1', 'b=2']);
    expect(str(p.options, 'message')).toBe('hello world');
    expect(p.options['no-timeline']).toBe(true);
    expect(p.options.quiet).toBe(true);
  });
  test('operands, and "--" ends options', () => {
    expect(parseCommandArgs('error', ['disk', 'full', '--type', 'IO']).operands).toEqual(['disk', 'full']);
    expect(parseCommandArgs('error', ['--', '--not-an-option']).operands).toEqual(['--not-an-option']);
  });
  test('a value starting with "-" works with --opt=VALUE', () => {
    expect(str(parseCommandArgs('update', ['--message=-5 items']).options, 'message')).toBe('-5 items');
  });
  test.each([
    ['update', ['--token', 'x'], /unknown option --token for "progress update"/],
    ['update', ['--token=hunter2-secret'], /unknown option --token for "progress update"/],
    ['update', ['--bogus'], /unknown option --bogus/],
    ['update', ['-x'], /unknown option -x/],
    ['update', ['--processed'], /--processed needs a value/],
    ['update', ['--message', '--items'], /--message needs a value; .*--message=VALUE/],
    ['update', ['--processed', '-1'], /--processed needs a value; .*--processed=VALUE/],
    ['update', ['--no-timeline=yes'], /--no-timeline does not take a value/],
    ['update', ['--processed', '1', '--processed', '2'], /--processed given more than once/],
    ['stage', ['a', '--message', 'x', '--message', 'y'], /--message given more than once/],
    ['status', ['--json=1'], /--json does not take a value/],
  ])('%s %j → %s', (command, args, pattern) => expect(usage(() => parseCommandArgs(command, args))).toMatch(pattern));
  test('no command accepts a --token option', () => {
    for (const name of Object.keys(COMMANDS)) {
      expect(usage(() => parseCommandArgs(name, ['--token', 'x']))).toMatch(/unknown option --token/);
    }
  });
  test('the token value given after --token= is never echoed', () => {
    for (const name of Object.keys(COMMANDS)) expect(usage(() => parseCommandArgs(name, ['--token=hunter2-secret']))).not.toContain('hunter2');
  });
});

const parsed = (command: string, args: string[]) => parseCommandArgs(command, args);

describe('inputs', () => {
  test('update: all options become typed input', () => {
    const input = toUpdateInput(parsed('update', ['--items', 'a=1', '--processed', '2', '--total', '3', '--type', 'a', '--last-id', '9', '--stage', 's', '--operation', 'discovery', '--message', 'm']));
    expect({ ...input, items: { ...input.items } }).toEqual({ items: { a: 1 }, processed: 2, total: 3, type: 'a', lastId: '9', stage: 's', operation: 'discovery', message: 'm', timeline: true });
  });
  test('update with nothing: only timeline set', () => {
    expect(toUpdateInput(parsed('update', []))).toEqual({ items: undefined, processed: undefined, total: undefined, type: undefined, lastId: undefined, stage: undefined, operation: undefined, message: undefined, timeline: true });
  });
  test.each([
    ['update', ['extra'], toUpdateInput, /unexpected argument "extra"/],
    ['update', ['--items', 'a'], toUpdateInput, /--items expects TYPE=N/],
    ['update', ['--processed=-1'], toUpdateInput, /--processed must be a whole number/],
    ['update', ['--operation', 'x'], toUpdateInput, /--operation must be one of/],
    ['update', ['--type', 'a b'], toUpdateInput, /--type must be a name/],
    ['stage', [], toStageInput, /stage needs a NAME/],
    ['stage', ['a', 'b'], toStageInput, /unexpected argument "b"/],
    ['stage', [' '], toStageInput, /stage NAME must not be empty/],
    ['error', [], toErrorInput, /error needs a MESSAGE/],
    ['error', ['m', '--context', '{'], toErrorInput, /--context is not valid JSON/],
    ['error', ['m', '--context', JSON.stringify('x'.repeat(17_000))], toErrorInput, /--context is too large/],
    ['checkpoint', [], toCheckpointInput, /checkpoint needs an ID/],
    ['checkpoint', ['1', '--data', 'x'], toCheckpointInput, /--data is not valid JSON/],
    ['checkpoint', ['1', '--show'], toCheckpointInput, /--show takes no ID/],
    ['complete', ['--processed', 'x'], toCompleteInput, /--processed must be/],
  ])('%s %j is refused', (command, args, convert, pattern) => {
    expect(usage(() => (convert as (p: ReturnType<typeof parsed>) => unknown)(parsed(command, args)))).toMatch(pattern);
  });
  test('error joins its words and caps the text', () => {
    expect(toErrorInput(parsed('error', ['disk', 'full'])).message).toBe('disk full');
    expect(toErrorInput(parsed('error', ['e'.repeat(10_000)])).message).toHaveLength(4096);
  });
  test('checkpoint --show is undefined; with data it is parsed', () => {
    expect(toCheckpointInput(parsed('checkpoint', ['--show']))).toBeUndefined();
    expect(toCheckpointInput(parsed('checkpoint', ['7', '--data', '{"p":1}']))).toEqual({ id: '7', data: { p: 1 } });
  });
  test.each([[[], 30_000], [['--timeout', '1.5'], 1500], [['--timeout', '0'], 0]])('flush %j timeout → %d ms', (args, ms) => {
    expect(timeoutMs(parsed('flush', args), 30)).toBe(ms);
  });
});
