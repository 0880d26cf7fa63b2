// Crash safety (issue 3 §3): kill -9 at random moments of update, the background flusher and flush; torn WAL
// writes; a garbage state file. Seeded and bounded; afterwards state is usable and nothing is lost or doubled.
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { BIN, sandbox, type Sandbox } from './support/cli.js';
import { startReceiver, type Fault, type Receiver } from './support/receiver.js';
import { eventually, seeded, statusOf, total } from './support/workers.js';

let receiver: Receiver | undefined;
const boxes: Sandbox[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const b of boxes.splice(0)) b.cleanup();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  await receiver?.close();
  receiver = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ROUNDS = Number(process.env.PROGRESS_CRASH_ROUNDS ?? 40);

/** The pid holding the task's delivery lease (the background flusher or a flush), from the tasks table. */
function leaseHolder(stateDir: string, task: string): number | null {
  const path = join(stateDir, 'state.db');
  if (!existsSync(path)) return null;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT flusher_pid FROM tasks WHERE task = ?').get(task) as { flusher_pid: number | null } | undefined;
    return row?.flusher_pid ?? null;
  } finally {
    db.close();
  }
}

test(`kill -9 at random moments of update, the background flusher and flush (${ROUNDS} seeded rounds)`, { timeout: 120_000 }, async () => {
  const random = seeded(4242);
  const faults = seeded(17);
  receiver = await startReceiver({
    faults: (): Fault => {
      const x = faults();
      return x < 0.15 ? { kind: 'apply-then-reset' } : x < 0.25 ? { kind: 'status', status: 503 } : { kind: 'ok' };
    },
  });
  const b = sandbox({ endpoint: receiver.endpoint, task: 'crash', env: { PROGRESS_MIN_INTERVAL: '0.05', PROGRESS_MAX_WAIT: '1' } });
  boxes.push(b);
  const start = (args: string[]) => execa('node', [BIN, ...args], { env: b.env, extendEnv: false, reject: false, stdin: 'ignore' });
  let accepted = 0;
  const kills = { update: 0, flusher: 0, flush: 0 };

  for (let round = 0; round < ROUNDS; round++) {
    const kind = (['update', 'flusher', 'flush'] as const)[Math.floor(random() * 3)]!;
    if (kind === 'update') {
      // Process start is ~60-150 ms; the kill lands before, during or after the transaction.
      const child = start(['update', '--items', 'issues=1']);
      await sleep(40 + random() * 160);
      child.kill('SIGKILL');
      const r = await child;
      if (r.exitCode === 0) accepted++;
      else kills.update++;
    } else {
      const r = await b.run(['update', '--items', 'issues=1']);
      expect(r.exitCode, r.stderr).toBe(0);
      accepted++;
      if (kind === 'flusher') {
        await sleep(random() * 150);
        const pid = leaseHolder(b.stateDir, 'crash');
        if (pid !== null && pid > 0) {
          try {
            process.kill(pid, 'SIGKILL');
            kills.flusher++;
          } catch {
            // it had just finished
          }
        }
      } else {
        const child = start(['flush', '--timeout', '5']);
        await sleep(40 + random() * 250);
        child.kill('SIGKILL');
        if ((await child).signal === 'SIGKILL') kills.flush++;
      }
    }
    const s = await statusOf(b);
    expect(total(s.totals)).toBeGreaterThanOrEqual(accepted);
  }

  // Nothing is running any more: one flush delivers whatever the kills left behind.
  // (with a quarter of requests failing, 3 attempts per payload could run out: allow more)
  const f = await b.run(['flush', '--timeout', '30'], { env: { PROGRESS_ATTEMPTS: '20' } });
  expect(f.exitCode, f.stderr).toBe(0);
  await eventually(async () => (await statusOf(b)).pending.payloads === 0, 15_000, 'an empty outbox');
  const local = total((await statusOf(b)).totals);
  expect(local).toBeGreaterThanOrEqual(accepted);
  expect(total(receiver.totals('crash'))).toBe(local);
  expect(receiver.conflicts).toEqual([]);
  // The rounds really killed each kind of process.
  expect(kills.update + kills.flusher + kills.flush).toBeGreaterThan(ROUNDS / 4);
  process.stdout.write(`[figure] crash rounds ${ROUNDS}: accepted ${accepted}, local ${local}, server ${total(receiver.totals('crash'))}, kills ${JSON.stringify(kills)}\n`);
});

/** A state dir whose WAL holds 20 commits that were never checkpointed (the last writer was killed). */
async function stateWithLiveWal(): Promise<Sandbox> {
  const b = sandbox({ task: 'torn' });
  boxes.push(b);
  for (let i = 0; i < 2; i++) expect((await b.run(['update', '--items', 'issues=1', '-q'])).exitCode).toBe(0);
  // A second connection keeps the CLI from checkpointing the WAL away when it closes; then it is killed.
  const holder = execa(
    'node',
    ['-e', `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(join(b.stateDir, 'state.db'))}); db.prepare('SELECT 1 FROM meta').get(); console.log('ready'); setInterval(() => {}, 1e6);`],
    { cwd: resolve(import.meta.dirname, '..'), reject: false },
  );
  await new Promise<void>((ok) => holder.stdout!.once('data', () => ok()));
  for (let i = 0; i < 20; i++) expect((await b.run(['update', '--items', 'issues=1', '--last-id', String(i), '-q'])).exitCode).toBe(0);
  holder.kill('SIGKILL');
  await holder;
  return b;
}

test('torn WAL: cut at random offsets with no process running, status works on a prefix of the commits (or exit 3, one line)', async () => {
  const b = await stateWithLiveWal();
  const wal = join(b.stateDir, 'state.db-wal');
  const size = statSync(wal).size;
  expect(size).toBeGreaterThan(32);
  const random = seeded(31337);
  const offsets = [0, 32, size - 1, size, ...Array.from({ length: 8 }, () => Math.floor(random() * size))].sort((x, y) => x - y);
  let previous = 0;
  for (const offset of offsets) {
    const copy = mkdtempSync(join(tmpdir(), 'progress-torn-'));
    dirs.push(copy);
    for (const f of ['state.db', 'state.db-wal', 'state.db-shm']) if (existsSync(join(b.stateDir, f))) copyFileSync(join(b.stateDir, f), join(copy, f));
    truncateSync(join(copy, 'state.db-wal'), offset);
    const env = { PROGRESS_STATE_DIR: copy };
    const r = await b.run(['status', '--json'], { env });
    if (r.exitCode === 3) {
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      continue;
    }
    expect(r.exitCode, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    const n = total(s.totals);
    // Whole commits only: totals and the outbox moved together, and a longer WAL never recovers less.
    expect(s.pending.events).toBe(n);
    expect(n).toBeGreaterThanOrEqual(Math.max(2, previous));
    expect(n).toBeLessThanOrEqual(22);
    if (offset === size) expect(n).toBe(22);
    previous = n;
    // And the recovered state takes new events.
    expect((await b.run(['update', '--items', 'issues=1', '-q'], { env })).exitCode).toBe(0);
    expect(total((await statusOf(b, env)).totals)).toBe(n + 1);
  }
});

test('a garbage or cut state.db: exit 3 with one clear line, never a stack trace or exit 1', async () => {
  const random = seeded(99);
  const b = sandbox({ task: 'garbage' });
  boxes.push(b);
  expect((await b.run(['update', '--items', 'issues=1', '-q'])).exitCode).toBe(0);
  const good = readFileSync(join(b.stateDir, 'state.db'));
  const garbage = Buffer.from(Array.from({ length: 8192 }, () => Math.floor(random() * 256)));
  const cases: [string, Buffer][] = [
    ['garbage', garbage],
    ['text', Buffer.from('this is not a database\n')],
    ...[4096, 100, 2000, 8000].filter((n) => n < good.length).map((n): [string, Buffer] => [`cut at ${n}`, good.subarray(0, n)]),
  ];
  for (const [what, bytes] of cases) {
    writeFileSync(join(b.stateDir, 'state.db'), bytes);
    for (const args of [['status'], ['update', '--items', 'issues=1']]) {
      const r = await b.run(args);
      expect([0, 3], `${what}: ${args[0]} → ${r.exitCode} ${r.stderr}`).toContain(r.exitCode);
      expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
      if (r.exitCode === 3) {
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(/state database .*(corrupt|not a progress state database|incomplete)/);
      }
    }
  }
  writeFileSync(join(b.stateDir, 'state.db'), garbage);
  const r = await b.run(['status']);
  expect(r.exitCode).toBe(3);
  expect(r.stderr).toMatch(/move it aside/);
});
