// Runs the built CLI (bin/progress.js) as a user would, each test with its own temporary state directory.
import { afterEach } from 'vitest';
import { execa, type Options } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const BIN = resolve(import.meta.dirname, '../../bin/progress.js');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A clean environment: nothing PROGRESS_* or CI-ish leaks in from the machine running the tests. */
export function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('PROGRESS_') || k === 'GITHUB_STEP_SUMMARY' || /_PROXY$/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

export interface Sandbox {
  stateDir: string;
  env: Record<string, string | undefined>;
  run(args: string[], options?: { env?: Record<string, string | undefined>; input?: string; timeout?: number }): Promise<CliResult>;
  cleanup(): void;
}

/** A temporary state dir plus an environment pointing the CLI at it (and at `endpoint`, when given). */
export function sandbox(options: { task?: string; endpoint?: string; env?: Record<string, string | undefined> } = {}): Sandbox {
  const stateDir = mkdtempSync(join(tmpdir(), 'progress-test-'));
  const env = baseEnv({
    PROGRESS_STATE_DIR: stateDir,
    PROGRESS_TASK_ID: options.task ?? 'task-1',
    ...(options.endpoint ? { PROGRESS_API_ENDPOINT: options.endpoint } : {}),
    ...options.env,
  });
  return {
    stateDir,
    env,
    run: (args, o = {}) => runCli(args, { env: { ...env, ...o.env }, input: o.input, timeout: o.timeout }),
    // Removing the state dir also makes any background flusher of this sandbox exit.
    cleanup: () => rmSync(stateDir, { recursive: true, force: true }),
  };
}

export async function runCli(args: string[], options: { env?: Record<string, string | undefined>; input?: string; timeout?: number } = {}): Promise<CliResult> {
  const started = performance.now();
  const execaOptions: Options = {
    env: options.env ?? baseEnv(),
    extendEnv: false,
    reject: false,
    timeout: options.timeout ?? 30_000,
    ...(options.input !== undefined ? { input: options.input } : { stdin: 'ignore' }),
  };
  const r = await execa('node', [BIN, ...args], execaOptions);
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), ms: performance.now() - started };
}

/**
 * Per-test cleanups run after each test, last registered first, and `box()`: a sandbox cleaned up
 * with them. Call at the top level of a test file.
 */
export function useCleanups(): { cleanups: (() => unknown)[]; box(options?: Parameters<typeof sandbox>[0]): Sandbox } {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    cleanups,
    box(options = {}) {
      const b = sandbox(options);
      cleanups.push(() => b.cleanup());
      return b;
    },
  };
}
