// wrap's in-band channel: one line = the arguments of an event command, tokenized like a shell and parsed by the CLI grammar.
import { toCheckpointInput, toErrorInput, toStageInput, toUpdateInput } from '../cli/inputs.js';
import { parseCommandArgs } from '../cli/parse.js';
import { IN_BAND_COMMANDS } from '../cli/specs.js';
import { UsageError } from './errors.js';
import type { CheckpointInput, ErrorInput, StageInput, UpdateInput } from './payload.js';

/** Longest in-band line accepted, in characters; longer lines are malformed (and never buffered whole). */
export const MAX_IN_BAND_LINE = 64 * 1024;

export type InBandEvent =
  | { command: 'update'; input: UpdateInput }
  | { command: 'stage'; input: StageInput }
  | { command: 'error'; input: ErrorInput }
  | { command: 'checkpoint'; input: CheckpointInput };

/** Options that would point an in-band event somewhere other than wrap's own task. */
const NOT_IN_BAND = ['--task', '--endpoint', '--state-dir'];

const SPACE = /[ \t\r\n\v\f]/;

/**
 * Splits a line into words the way a POSIX shell would after expansion: whitespace separates,
 * '…' is literal, "…" honours \\ \" \$ \` escapes, a backslash outside quotes escapes the next character.
 * No expansion of variables, globs or substitutions: the writing shell already did that.
 */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new UsageError('unterminated single quote');
      word += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      inWord = true;
      for (i++; ; i++) {
        if (i >= line.length) throw new UsageError('unterminated double quote');
        const d = line[i]!;
        if (d === '"') break;
        if (d === '\\' && i + 1 < line.length && '\\"$`\n'.includes(line[i + 1]!)) {
          i++;
          if (line[i] !== '\n') word += line[i];
        } else word += d;
      }
    } else if (c === '\\') {
      if (i + 1 < line.length) word += line[++i];
      inWord = true;
    } else if (SPACE.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * Parses one in-band line into a validated event; undefined for a blank line or a `#` comment.
 * Throws a UsageError with one clear line for anything the command line would refuse too.
 */
export function parseInBandLine(line: string): InBandEvent | undefined {
  if (line.length > MAX_IN_BAND_LINE) throw new UsageError(`line is longer than ${MAX_IN_BAND_LINE} characters`);
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  const words = tokenize(trimmed);
  // Lines copied from a script often keep the program name: accept `progress update ...` too.
  if (words[0] === 'progress') words.shift();
  const command = words.shift();
  if (command === undefined) return undefined;
  if (!IN_BAND_COMMANDS.has(command)) {
    throw new UsageError(`unknown in-band command ${JSON.stringify(command)} (expected one of ${[...IN_BAND_COMMANDS].join(', ')})`);
  }
  for (const word of words) {
    if (word === '--') break;
    const name = word.split('=', 1)[0]!;
    if (NOT_IN_BAND.includes(name)) throw new UsageError(`${name} is not accepted in-band: in-band events report to wrap's task`);
  }
  const parsed = parseCommandArgs(command, words);
  switch (command) {
    case 'update':
      return { command, input: toUpdateInput(parsed) };
    case 'stage':
      return { command, input: toStageInput(parsed) };
    case 'error':
      return { command, input: toErrorInput(parsed) };
    default: {
      const input = toCheckpointInput(parsed);
      if (input === undefined) throw new UsageError('checkpoint --show is not available in-band (it prints to the caller)');
      return { command: 'checkpoint', input };
    }
  }
}
