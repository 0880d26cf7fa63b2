// Fuzz (fast-check, seeded): a state.db / state.db-wal cut or damaged at random, with no process running,
// never crashes `status` or `update`: they work on the last whole commit, or give one clear line and exit 3.
import fc from 'fast-check';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { planUpdate } from '../src/core/events.js';
import { Store } from '../src/core/store.js';
import { runCli, baseEnv } from './support/cli.js';

const BASE = 5; // updates checkpointed into state.db
const IN_WAL = 8; // updates only in the WAL
let snapshot: string;
let walSize = 0;
let dbSize = 0;

beforeAll(() => {
  const live = mkdtempSync(join(tmpdir(), 'progress-wal-live-'));
  snapshot = mkdtempSync(join(tmpdir(), 'progress-wal-snap-'));
  const store = Store.open(live);
  const update = () =>
    store.record('t', Date.now(), (s) => planUpdate(s, 't', { items: { a: 1 }, lastId: 'x'.repeat(500), timeline: true }, Date.now()), { canDeliver: false });
  for (let i = 0; i < BASE; i++) update();
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  store.db.pragma('wal_autocheckpoint = 0');
  for (let i = 0; i < IN_WAL; i++) update();
  // As if the machine stopped now: the files as they are on disk, the -shm index left behind.
  copyFileSync(join(live, 'state.db'), join(snapshot, 'state.db'));
  copyFileSync(join(live, 'state.db-wal'), join(snapshot, 'state.db-wal'));
  store.close();
  rmSync(live, { recursive: true, force: true });
  walSize = statSync(join(snapshot, 'state.db-wal')).size;
  dbSize = statSync(join(snapshot, 'state.db')).size;
});
afterAll(() => rmSync(snapshot, { recursive: true, force: true }));

type Damage = { file: 'state.db' | 'state.db-wal'; cutAt: number; flips: [number, number][] };

function damaged(d: Damage): string {
  const dir = mkdtempSync(join(tmpdir(), 'progress-wal-case-'));
  for (const file of ['state.db', 'state.db-wal'] as const) {
    let bytes = readFileSync(join(snapshot, file));
    if (file === d.file) {
      bytes = Buffer.from(bytes.subarray(0, Math.min(d.cutAt, bytes.length)));
      for (const [at, value] of d.flips) if (bytes.length > 0) bytes[at % bytes.length] = value;
    }
    writeFileSync(join(dir, file), bytes, { mode: 0o600 });
  }
  return dir;
}

test('random truncation or damage of the state files never crashes status or update', async () => {
  expect(walSize).toBeGreaterThan(IN_WAL * 500);
  const damage: fc.Arbitrary<Damage> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ file: fc.constant('state.db-wal' as const), cutAt: fc.nat({ max: walSize }), flips: fc.constant<[number, number][]>([]) }) },
    { weight: 1, arbitrary: fc.record({ file: fc.constant('state.db-wal' as const), cutAt: fc.constant(walSize), flips: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ file: fc.constant('state.db' as const), cutAt: fc.nat({ max: dbSize }), flips: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 2 }) }) },
  );
  const outcomes = { ok: 0, config: 0 };
  await fc.assert(
    fc.asyncProperty(damage, async (d) => {
      const dir = damaged(d);
      try {
        const env = baseEnv({ PROGRESS_STATE_DIR: dir, PROGRESS_TASK_ID: 't' });
        for (const args of [['status', '--json'], ['update', '--items', 'a=1', '--no-timeline']]) {
          const r = await runCli(args, { env, timeout: 20_000 });
          expect([0, 3], `${args[0]}: ${r.stderr}`).toContain(r.exitCode);
          expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
          if (r.exitCode === 3) {
            expect(r.stderr.trim().split('\n')).toHaveLength(1);
            outcomes.config++;
          } else outcomes.ok++;
          if (r.exitCode === 0 && args[0] === 'status') {
            // Commits are atomic: what survives is a whole prefix of the updates.
            const a = JSON.parse(r.stdout).totals.a ?? 0;
            expect(Number.isInteger(a) && a >= 0 && a <= BASE + IN_WAL).toBe(true);
            if (d.file === 'state.db-wal' && d.flips.length === 0) expect(a).toBeGreaterThanOrEqual(BASE);
          }
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
    { seed: 4711, numRuns: 24 },
  );
  expect(outcomes.ok).toBeGreaterThan(0);
});
