// CI guard for the fast path: what `update` loads must not include undici, ora, execa, conf, commander or chalk.
// It reads esbuild's metafile of the built bundle, so a regression in laziness fails deterministically, not by timing.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test } from 'vitest';

interface Output {
  imports: { path: string; kind: string; external?: boolean }[];
  inputs: Record<string, unknown>;
  entryPoint?: string;
}

const dist = resolve(import.meta.dirname, '../dist');
const meta = JSON.parse(readFileSync(resolve(dist, 'meta.json'), 'utf8')) as { outputs: Record<string, Output> };

/** Every output file reachable from the entry through static imports, and the source files they hold. */
function staticClosure(): { files: Set<string>; inputs: Set<string> } {
  const entry = Object.keys(meta.outputs).find((f) => meta.outputs[f]!.entryPoint === 'src/cli/main.ts');
  expect(entry, 'the bundle has the CLI entry').toBeDefined();
  const files = new Set<string>();
  const inputs = new Set<string>();
  const queue = [entry!];
  while (queue.length) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const out = meta.outputs[file];
    if (!out) continue;
    for (const input of Object.keys(out.inputs)) inputs.add(input);
    for (const imp of out.imports) if (imp.kind === 'import-statement' && !imp.external) queue.push(imp.path);
  }
  return { files, inputs };
}

test.each(['undici', 'ora', 'execa', 'conf', 'commander', 'chalk', 'ajv'])('the hot path does not load %s', (pkg) => {
  const { inputs } = staticClosure();
  const offenders = [...inputs].filter((i) => i.includes(`node_modules/${pkg}/`));
  expect(offenders).toEqual([]);
});

test('the lazily loaded parts really exist as separate chunks (the guard is not vacuous)', () => {
  const all = new Set(Object.values(meta.outputs).flatMap((o) => Object.keys(o.inputs)));
  for (const pkg of ['undici', 'commander', 'conf']) {
    expect([...all].some((i) => i.includes(`node_modules/${pkg}/`)), `${pkg} is in the bundle somewhere`).toBe(true);
  }
  const { inputs } = staticClosure();
  expect([...inputs].some((i) => i.includes('src/core/store.ts'))).toBe(true);
});
