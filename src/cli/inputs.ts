// Turns parsed arguments into validated event inputs: shared by the command line and wrap's in-band channel.
import { UsageError } from '../core/errors.js';
import type { CheckpointInput, CompleteInput, ErrorInput, StageInput, UpdateInput } from '../core/payload.js';
import {
  MAX_ID,
  capText,
  parseCount,
  parseItems,
  parseJson,
  parseName,
  parseOperation,
  parseSeconds,
  parseTypeName,
} from '../core/validate.js';
import { list, str, type ParsedCommand } from './parse.js';

function optional<T>(value: string | undefined, convert: (v: string) => T): T | undefined {
  return value === undefined ? undefined : convert(value);
}

function noOperands(p: ParsedCommand): void {
  if (p.operands.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(p.operands[0])} for "progress ${p.command}"`);
}

export function toUpdateInput(p: ParsedCommand): UpdateInput {
  noOperands(p);
  const o = p.options;
  return {
    items: parseItems(list(o, 'items')),
    processed: optional(str(o, 'processed'), (v) => parseCount(v, '--processed')),
    total: optional(str(o, 'total'), (v) => parseCount(v, '--total')),
    type: optional(str(o, 'type'), (v) => parseTypeName(v, '--type')),
    lastId: optional(str(o, 'last-id'), (v) => parseName(v, '--last-id', MAX_ID)),
    stage: optional(str(o, 'stage'), (v) => parseName(v, '--stage')),
    operation: optional(str(o, 'operation'), (v) => parseOperation(v)),
    message: optional(str(o, 'message'), capText),
    timeline: o['no-timeline'] !== true,
  };
}

export function toStageInput(p: ParsedCommand): StageInput {
  if (p.operands.length !== 1) {
    throw new UsageError(p.operands.length === 0 ? 'stage needs a NAME, e.g. progress stage discovery' : `unexpected argument ${JSON.stringify(p.operands[1])} for "progress stage"`);
  }
  return {
    name: parseName(p.operands[0]!, 'stage NAME'),
    operation: optional(str(p.options, 'operation'), (v) => parseOperation(v)),
    message: optional(str(p.options, 'message'), capText),
  };
}

export function toErrorInput(p: ParsedCommand): ErrorInput {
  const message = p.operands.join(' ');
  if (message.trim() === '') throw new UsageError('error needs a MESSAGE, e.g. progress error "HTTP 502 from GitLab"');
  const o = p.options;
  return {
    message: capText(message),
    type: optional(str(o, 'type'), (v) => parseName(v, '--type')),
    stage: optional(str(o, 'stage'), (v) => parseName(v, '--stage')),
    lastId: optional(str(o, 'last-id'), (v) => parseName(v, '--last-id', MAX_ID)),
    operation: optional(str(o, 'operation'), (v) => parseOperation(v)),
    context: optional(str(o, 'context'), (v) => parseJson(v, '--context')),
  };
}

/** `checkpoint ID [--data JSON]`, or `checkpoint --show` (returns undefined). */
export function toCheckpointInput(p: ParsedCommand): CheckpointInput | undefined {
  if (p.options.show === true) {
    if (p.operands.length > 0 || str(p.options, 'data') !== undefined) throw new UsageError('checkpoint --show takes no ID and no --data');
    return undefined;
  }
  if (p.operands.length !== 1) {
    throw new UsageError(p.operands.length === 0 ? 'checkpoint needs an ID (or --show)' : `unexpected argument ${JSON.stringify(p.operands[1])} for "progress checkpoint"`);
  }
  return {
    id: parseName(p.operands[0]!, 'checkpoint ID', MAX_ID),
    data: optional(str(p.options, 'data'), (v) => parseJson(v, '--data')),
  };
}

export function toCompleteInput(p: ParsedCommand): CompleteInput {
  noOperands(p);
  return {
    summary: optional(str(p.options, 'summary'), capText),
    processed: optional(str(p.options, 'processed'), (v) => parseCount(v, '--processed')),
  };
}

/** `--timeout SECONDS` in ms, with a default. */
export function timeoutMs(p: ParsedCommand, fallbackSeconds: number): number {
  return Math.round(parseSeconds(str(p.options, 'timeout') ?? String(fallbackSeconds), '--timeout') * 1000);
}
