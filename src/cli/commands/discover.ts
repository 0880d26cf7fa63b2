// discover [FILE]: reads areas (JSON lines or a JSON array) from FILE or stdin, validates all, records them in chunks.
import { createReadStream } from 'node:fs';
import { hostname } from 'node:os';
import { MAX_DISCOVERY_BYTES, parseAreas } from '../../core/areas.js';
import { UsageError } from '../../core/errors.js';
import { planDiscover } from '../../core/events.js';
import { parseName, quote } from '../../core/validate.js';
import type { Context } from '../context.js';
import { str, type ParsedCommand } from '../parse.js';
import { recordEvent } from './record.js';

async function readInput(source: NodeJS.ReadableStream, label: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      size += buf.length;
      if (size > MAX_DISCOVERY_BYTES) throw new UsageError(`${label} is larger than ${MAX_DISCOVERY_BYTES / 1024 / 1024} MB; split it into several discover calls`);
      chunks.push(buf);
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read ${label}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.includes('\u0000')) throw new UsageError(`${label} is not text (it holds NUL bytes)`);
  return text;
}

export async function discover(p: ParsedCommand, ctx: Context): Promise<number> {
  if (p.operands.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(p.operands[1])} for "progress discover"`);
  const file = p.operands[0];
  const by = str(p.options, 'discovered-by');
  const discoveredBy = by === undefined ? hostname() : parseName(by, '--discovered-by');
  const input = file === undefined || file === '-' ? await readInput(ctx.stdin, 'standard input') : await readInput(createReadStream(file), quote(file, 200));
  const areas = parseAreas(input, discoveredBy);
  return recordEvent(p, ctx, (state, task, now) => planDiscover(state, task, areas, now), { wait: true });
}
