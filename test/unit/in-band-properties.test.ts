// Property-based tests (fast-check, seeded) of wrap's in-band line parsing: never crashes, same grammar as argv.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { toUpdateInput } from '../../src/cli/inputs.js';
import { parseCommandArgs } from '../../src/cli/parse.js';
import { UsageError } from '../../src/core/errors.js';
import { parseInBandLine, tokenize } from '../../src/core/in-band.js';

const options = { seed: 20261204, numRuns: 500 };
/** Quotes a word for a POSIX shell: '…' with each ' written as '\''. */
const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

describe('in-band lines', () => {
  test('any line gives an event, nothing, or a UsageError', () => {
    const line = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.array(fc.constantFrom('update', 'stage', 'error', 'checkpoint', 'progress', '--items', 'a=1', '"', "'", '\\', '--task', '--', '#', '--show', '--context', '{}'), { maxLength: 8 }).map((w) => w.join(' ')),
    );
    fc.assert(
      fc.property(line, (l) => {
        try {
          const event = parseInBandLine(l);
          if (event !== undefined) expect(['update', 'stage', 'error', 'checkpoint']).toContain(event.command);
        } catch (error) {
          if (!(error instanceof UsageError)) throw error;
        }
      }),
      options,
    );
  });

  test('shell-quoted words come back unchanged', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 12 }), { maxLength: 6 }), (words) => {
        expect(tokenize(words.map(shellQuote).join(' '))).toEqual(words);
      }),
      options,
    );
  });

  test('an update line means what the same arguments mean on the command line', () => {
    const arg = fc.oneof(
      fc.tuple(fc.stringMatching(/^[a-z]{1,6}$/), fc.nat()).map(([t, n]) => [`--items=${t}=${n}`]),
      fc.nat().map((n) => ['--processed', String(n)]),
      fc.string({ maxLength: 20 }).map((m) => [`--message=${m}`]),
      fc.string({ minLength: 1, maxLength: 10 }).filter((s) => s.trim() !== '').map((s) => [`--last-id=${s}`]),
    );
    fc.assert(
      fc.property(fc.array(arg, { maxLength: 4 }), (parts) => {
        const args = parts.flat();
        let cli: unknown;
        try {
          cli = toUpdateInput(parseCommandArgs('update', args));
        } catch (error) {
          expect(error).toBeInstanceOf(UsageError);
          expect(() => parseInBandLine(`update ${args.map(shellQuote).join(' ')}`)).toThrow(UsageError);
          return;
        }
        const event = parseInBandLine(`update ${args.map(shellQuote).join(' ')}`);
        expect(event).toEqual({ command: 'update', input: cli });
      }),
      options,
    );
  });

  test.each(['--task=other', '--endpoint http://x', '--state-dir /tmp'])('update %s is refused in-band', (extra) => {
    expect(() => parseInBandLine(`update --items a=1 ${extra}`)).toThrow(/not accepted in-band/);
  });
});
