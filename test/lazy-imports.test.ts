// CI guard for the fast path: what `update` loads must not include undici, ora, execa, conf, commander, chalk or ajv.
// It reads esbuild's metafile of the built bundles and traces a real `update`, so a regression in laziness fails
// deterministically, not by timing.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { sandbox, type Sandbox } from './support/cli.js';

interface Output {
  imports: { path: string; kind: string; external?: boolean }[];
  inputs: Record<string, unknown>;
  entryPoint?: string;
}

const root = resolve(import.meta.dirname, '..');
const dist = resolve(root, 'dist');
const meta = JSON.parse(readFileSync(resolve(dist, 'meta.json'), 'utf8')) as { outputs: Record<string, Output> };
const HOT = 'dist/progress.cjs';
const LAZY_PACKAGES = ['undici', 'ora', 'execa', 'conf', 'commander', 'chalk', 'ajv'];

/** The source files bundled into the hot path (dist/progress.cjs, which bin/progress.js requires). */
function hotInputs(): string[] {
  const out = meta.outputs[HOT];
  expect(out, 'the build has the hot-path bundle').toBeDefined();
  expect(out!.entryPoint).toBe('src/cli/main.ts');
  return Object.keys(out!.inputs);
}

test.each(LAZY_PACKAGES)('the hot path does not bundle %s', (pkg) => {
  const offenders = hotInputs().filter((i) => i.includes(`node_modules/${pkg}/`));
  expect(offenders).toEqual([]);
});

test('the lazily loaded parts really exist as separate bundles (the guard is not vacuous)', () => {
  const lazy = Object.entries(meta.outputs).filter(([file]) => file.startsWith('dist/lazy/'));
  for (const [file] of lazy) expect(existsSync(join(root, file)), `${file} was written`).toBe(true);
  const lazyInputs = new Set(lazy.flatMap(([, o]) => Object.keys(o.inputs)));
  for (const pkg of LAZY_PACKAGES) {
    expect([...lazyInputs].some((i) => i.includes(`node_modules/${pkg}/`)), `${pkg} is in a lazy bundle`).toBe(true);
  }
  // The hot path requires them by name, lazily: each target is a bundle of the build.
  const requires = [...new Set(meta.outputs[HOT]!.imports.map((i) => i.path).filter((p) => p.startsWith('./lazy/')))].sort();
  expect(requires).toEqual(['./lazy/chalk.cjs', './lazy/deliver-daemon.cjs', './lazy/program.cjs', './lazy/transport.cjs']);
  for (const r of requires) expect(meta.outputs[`dist/${r.slice(2)}`], `${r} is built`).toBeDefined();
  expect(hotInputs().some((i) => i === 'src/core/store.ts'), 'the store is on the hot path').toBe(true);
});

let box: Sandbox | undefined;
afterEach(() => box?.cleanup());

/** Runs the built CLI with the trace preload; returns what it loaded. */
async function traced(args: string[]): Promise<{ files: string[]; builtins: string[] }> {
  const trace = join(box!.stateDir, `trace-${Date.now()}.json`);
  const r = await box!.run(args, { env: { NODE_OPTIONS: `--require=${join(root, 'test/support/trace-loads.cjs')}`, PROGRESS_TEST_TRACE: trace } });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(readFileSync(trace, 'utf8')) as { files: string[]; builtins: string[] };
}

test('a real `update` loads only bin, the hot bundle and the SQLite addon, and no costly builtin', async () => {
  box = sandbox();
  await box.run(['update', '--items', 'issues=1', '--quiet']); // creates the state database (that may use node:crypto)
  const { files, builtins } = await traced(['update', '--items', 'issues=1', '--quiet']);
  const ours = files.filter((f) => !f.endsWith('trace-loads.cjs')).map((f) => f.slice(root.length + 1).replace(/^.*node_modules\//, 'node_modules/'));
  expect(ours.sort()).toEqual(['bin/progress.js', 'dist/progress.cjs', 'node_modules/better-sqlite3/build/Release/better_sqlite3.node']);
  // Loaded on first call only (scripts/build.mjs LAZY_BUILTINS; process.std* streams created on use): a quiet offline
  // `update` needs none of them.
  for (const costly of ['crypto', 'child_process', 'net', 'stream']) expect(builtins, costly).not.toContain(costly);
  // The CLI is CommonJS end to end: Node's ESM loader never runs a module.
  expect(builtins).not.toContain('internal/modules/esm/module_job');
});

test('the trace is not vacuous: `--help` loads the commander bundle', async () => {
  box = sandbox();
  const { files } = await traced(['--help']);
  expect(files.some((f) => f.endsWith('dist/lazy/program.cjs'))).toBe(true);
});
