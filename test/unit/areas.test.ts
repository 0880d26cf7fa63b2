// Tests of discovery input parsing: JSON lines or one array, the seed's area shape, errors that name the line.
import { describe, expect, test } from 'vitest';
import { parseAreas } from '../../src/core/areas.js';
import { UsageError } from '../../src/core/errors.js';
import { MAX_ID, MAX_TEXT } from '../../src/core/validate.js';

const g = { type: 'group', id: 12, name: 'infra', full_path: 'infra', web_url: 'https://gl/infra', description: 'd' };
const p = { type: 'project', id: '7', name: 'api' };

function refused(input: string): string {
  try {
    parseAreas(input);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('accepted input', () => {
  test.each([
    ['JSON lines', `${JSON.stringify(g)}\n${JSON.stringify(p)}\n`],
    ['JSON lines with blank lines and CRLF', `\n${JSON.stringify(g)}\r\n\r\n  ${JSON.stringify(p)}  \n\n`],
    ['one JSON array', JSON.stringify([g, p])],
    ['an array after whitespace, spread over lines', `  \n${JSON.stringify([g, p], null, 2)}\n`],
  ])('%s', (_name, input) => {
    expect(parseAreas(input, 'host')).toEqual([
      { type: 'group', name: 'infra', gitlabId: '12', fullPath: 'infra', webUrl: 'https://gl/infra', description: 'd', discoveredBy: 'host' },
      { type: 'project', name: 'api', gitlabId: '7', discoveredBy: 'host' },
    ]);
  });
  test('optional fields that are null are left out, never null', () => {
    const [a] = parseAreas(JSON.stringify({ ...p, full_path: null, web_url: null, description: null }));
    expect(a).toEqual({ type: 'project', name: 'api', gitlabId: '7' });
  });
  test('long text is capped', () => {
    const [a] = parseAreas(JSON.stringify({ ...p, name: 'n'.repeat(10_000), description: 'd'.repeat(10_000) }));
    expect(a!.name).toHaveLength(MAX_TEXT);
    expect(a!.description).toHaveLength(MAX_TEXT);
  });
});

describe('refused input names the problem and the line', () => {
  test.each([
    ['empty', '', /holds no areas/],
    ['only blank lines', '\n \n', /holds no areas/],
    ['empty array', '[]', /holds no areas/],
    ['broken array', '[{"type":"group"', /not a valid JSON array/],
    ['garbage on line 2', `${JSON.stringify(g)}\nnot json\n`, /^line 2: not valid JSON/],
    ['missing id on line 3', `${JSON.stringify(g)}\n\n${JSON.stringify({ type: 'group', name: 'x' })}`, /^line 3: missing "id"/],
    ['missing name', JSON.stringify({ type: 'group', id: 1 }), /line 1: missing "name"/],
    ['empty id', JSON.stringify({ type: 'group', id: ' ', name: 'x' }), /"id" must not be empty/],
    ['bad type', JSON.stringify({ type: 'user', id: 1, name: 'x' }), /"type" must be "group" or "project"/],
    ['id an object', JSON.stringify({ type: 'group', id: { a: 1 }, name: 'x' }), /"id" must be a string/],
    ['id not finite', '{"type":"group","id":1e999,"name":"x"}', /"id" must be a string/],
    ['a line that is an array', '[1]\n', /entry 1: expected a JSON object/],
    ['a JSON line that is a number', '42', /line 1: expected a JSON object/],
    ['entry 2 of an array', JSON.stringify([g, { type: 'group' }]), /^entry 2: missing "id"/],
    ['id too long', JSON.stringify({ type: 'group', id: 'x'.repeat(MAX_ID + 1), name: 'x' }), /"id" is too long/],
  ])('%s', (_name, input, pattern) => expect(refused(input)).toMatch(pattern));
});
