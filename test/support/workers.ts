// Helpers for the delivery suites: a bounded pool of real CLI processes, a seeded PRNG, and status --json.
import type { CliResult, Sandbox } from './cli.js';

/** Runs `count` jobs with at most `parallel` at once (each job is normally one CLI process); results by index. */
export async function pool<T>(count: number, parallel: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) results[i] = await job(i);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return results;
}

/** mulberry32: a tiny seeded PRNG, so every randomized loop can be replayed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface StatusReport {
  totals: Record<string, number>;
  pending: { events: number; payloads: number };
  deadLetters: { count: number; lastReason: string | null };
  lastDeliveryError: { message: string; kind: string } | null;
  flusherRunning: boolean;
  stage: string | null;
}

/** `progress status --json`, parsed; throws with the CLI's stderr when it fails. */
export async function statusOf(box: Sandbox, env?: Record<string, string | undefined>): Promise<StatusReport> {
  const r: CliResult = await box.run(['status', '--json'], { env });
  if (r.exitCode !== 0) throw new Error(`status exited ${r.exitCode}: ${r.stderr}`);
  return JSON.parse(r.stdout) as StatusReport;
}

/** Sum of the applied increments of one type. */
export const total = (totals: Record<string, number>, type = 'issues'): number => totals[type] ?? 0;

/** Polls an async condition until it holds, or throws naming `what` after timeoutMs. */
export async function eventually(predicate: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
