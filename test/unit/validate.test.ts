// Table-driven tests of the pure validators: each returns the clean value or throws a UsageError naming the argument.
import { describe, expect, test } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import {
  MAX_ID,
  MAX_JSON,
  MAX_NAME,
  MAX_TEXT,
  capText,
  parseCount,
  parseItems,
  parseJson,
  parseName,
  parseOperation,
  parseSeconds,
  parseTypeName,
} from '../../src/core/validate.js';

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseCount', () => {
  test.each([
    ['0', 0],
    ['42', 42],
    [' 7 ', 7],
    ['007', 7],
    [String(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER],
  ])('%j → %d', (raw, want) => expect(parseCount(raw, '--processed')).toBe(want));

  test.each(['', ' ', '-1', '1.5', '1e3', '0x10', 'NaN', 'Infinity', '+3', '1 2', 'ten', '١٢'])('%j is refused naming the argument', (raw) => {
    expect(usageError(() => parseCount(raw, '--processed'))).toContain('--processed');
  });

  test.each([String(2 ** 53), '9007199254740993', '1'.repeat(400)])('%s beyond 2^53 is refused as too large', (raw) => {
    expect(usageError(() => parseCount(raw, '--total'))).toMatch(/--total is too large/);
  });
});

describe('parseTypeName', () => {
  test.each(['issues', 'merge_requests', 'a.b-c', 'X9', '__proto__', 'x'.repeat(MAX_NAME)])('%j is accepted', (raw) => {
    expect(parseTypeName(raw, '--type')).toBe(raw);
  });
  test.each(['', 'a b', 'a=b', 'a/b', 'é', 'a\n', 'x'.repeat(MAX_NAME + 1)])('%j is refused', (raw) => {
    expect(usageError(() => parseTypeName(raw, '--type'))).toContain('--type');
  });
});

describe('parseItems', () => {
  test('no values is undefined (the field stays out of the payload)', () => expect(parseItems([])).toBeUndefined());
  test('several types', () => expect({ ...parseItems(['issues=10', 'mrs=0']) }).toEqual({ issues: 10, mrs: 0 }));
  test('__proto__ is a plain key of a null-prototype map', () => {
    const items = parseItems(['__proto__=3', 'constructor=1'])!;
    expect(Object.getPrototypeOf(items)).toBeNull();
    expect(Object.entries(items)).toEqual([['__proto__', 3], ['constructor', 1]]);
    expect(JSON.parse(JSON.stringify(items))).toEqual(JSON.parse('{"__proto__":3,"constructor":1}'));
  });
  test.each([
    [['issues'], /expects TYPE=N/],
    [['=3'], /--items TYPE/],
    [['issues=10', 'issues=2'], /twice/],
    [['issues=-1'], /whole number/],
    [['issues='], /whole number/],
    [['issues=1=2'], /whole number/],
    [['is sues=1'], /--items TYPE/],
    [['issues=99999999999999999999'], /too large/],
  ])('%j is refused (%s)', (values, pattern) => {
    expect(usageError(() => parseItems(values))).toMatch(pattern);
  });
});

describe('parseOperation', () => {
  test.each(['discovery', 'branch_crawling', 'data_collection', 'finalization'])('%s', (op) => expect(parseOperation(op)).toBe(op));
  test.each(['', 'Discovery', 'crawl', 'discovery '])('%j is refused listing the choices', (op) => {
    expect(usageError(() => parseOperation(op))).toMatch(/--operation must be one of discovery, branch_crawling/);
  });
});

describe('parseName', () => {
  test.each(['discovery', ' x ', 'ünïcødé ✓', 'a/b'])('%j is accepted as is', (raw) => expect(parseName(raw, 'stage NAME')).toBe(raw));
  test.each([
    ['', /must not be empty/],
    ['   ', /must not be empty/],
    ['a\u0000b', /NUL/],
    ['x'.repeat(MAX_NAME + 1), /too long/],
  ])('%j is refused', (raw, pattern) => expect(usageError(() => parseName(raw, 'stage NAME'))).toMatch(pattern));
  test('ids may be longer than names', () => expect(parseName('9'.repeat(MAX_ID), '--last-id', MAX_ID)).toHaveLength(MAX_ID));
});

describe('capText', () => {
  test.each([0, 1, MAX_TEXT - 1, MAX_TEXT])('%d characters stay as they are', (n) => expect(capText('m'.repeat(n))).toBe('m'.repeat(n)));
  test.each([MAX_TEXT + 1, 100_000])('%d characters are cut to MAX_TEXT with a marker', (n) => {
    const out = capText('m'.repeat(n));
    expect(out).toHaveLength(MAX_TEXT);
    expect(out.endsWith('…[truncated]')).toBe(true);
  });
});

describe('parseJson', () => {
  test.each([
    ['{"a":1}', { a: 1 }],
    ['[1,"x"]', [1, 'x']],
    ['"text"', 'text'],
    ['3', 3],
    ['null', null],
    ['{"__proto__":{"x":1}}', JSON.parse('{"__proto__":{"x":1}}')],
  ])('%s', (raw, want) => expect(parseJson(raw, '--context')).toEqual(want));
  test.each(['', '{', "{'a':1}", 'undefined', '{"a":1}x'])('%j is refused as invalid JSON', (raw) => {
    expect(usageError(() => parseJson(raw, '--context'))).toMatch(/--context is not valid JSON/);
  });
  test('the byte limit counts UTF-8 bytes, not characters', () => {
    expect(parseJson(JSON.stringify('x'.repeat(MAX_JSON - 2)), '--data')).toHaveLength(MAX_JSON - 2);
    expect(usageError(() => parseJson(JSON.stringify('é'.repeat(MAX_JSON / 2)), '--data'))).toMatch(/--data is too large/);
  });
});

describe('parseSeconds', () => {
  test.each([['0', 0], ['1.5', 1.5], ['30', 30], [String(7 * 86_400), 7 * 86_400]])('%j → %d', (raw, want) => {
    expect(parseSeconds(raw, '--timeout')).toBe(want);
  });
  test.each(['', ' ', '-1', 'NaN', 'Infinity', 'abc', String(7 * 86_400 + 1)])('%j is refused', (raw) => {
    expect(usageError(() => parseSeconds(raw, '--timeout'))).toContain('--timeout');
  });
});
