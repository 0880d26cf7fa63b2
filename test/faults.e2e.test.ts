// Delivery under faults (issue 3): many workers against a failing server, a long outage, hangs and slow or
// hostile servers, Retry-After, redirects, a thousand dead letters, and a state dir that cannot be written.
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { sandbox, type Sandbox } from './support/cli.js';
import { startReceiver, type Fault, type Receiver } from './support/receiver.js';
import { eventually, pool, seeded, statusOf, total } from './support/workers.js';

let receivers: Receiver[] = [];
const boxes: Sandbox[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  for (const b of boxes.splice(0)) b.cleanup();
  for (const r of receivers.splice(0)) await r.close();
});

async function receiverWith(faults?: (req: any, i: number) => Fault): Promise<Receiver> {
  const r = await startReceiver({ faults });
  receivers.push(r);
  return r;
}

function box(task: string, endpoint: string | undefined, env: Record<string, string | undefined> = {}): Sandbox {
  const b = sandbox({ endpoint, task, env });
  boxes.push(b);
  return b;
}

const figure = (text: string) => process.stdout.write(`[figure] ${text}\n`);
/** Process start on a loaded 2-core CI box can take a second or more; the bounds below leave room for it. */
const START_SLACK_MS = 4000;

test('200 updates from 16 workers, 30% of requests failing (503, reset, applied-then-reset): exactly 200 on both sides', { timeout: 120_000 }, async () => {
  const random = seeded(2026);
  const kinds: Fault[] = [{ kind: 'status', status: 503 }, { kind: 'reset' }, { kind: 'apply-then-reset' }];
  const r = await receiverWith(() => (random() < 0.3 ? kinds[Math.floor(random() * 3)]! : { kind: 'ok' }));
  const b = box('many', r.endpoint, { PROGRESS_MIN_INTERVAL: '0.1' });
  const results = await pool(200, 16, () => b.run(['update', '--items', 'issues=1']));
  expect(results.filter((x) => x.exitCode !== 0).map((x) => x.stderr)).toEqual([]);
  await r.waitFor(() => total(r.totals('many')) >= 200, 30_000, '200 at the server');
  await eventually(async () => (await statusOf(b)).pending.payloads === 0, 20_000, 'an empty outbox');
  expect(r.totals('many')).toEqual({ issues: 200 });
  expect((await statusOf(b)).totals).toEqual({ issues: 200 });
  // No body ever changed under a reused Idempotency-Key, and faults really happened.
  expect(r.conflicts).toEqual([]);
  expect(new Set(r.requests.map((q) => q.outcome))).toEqual(new Set(['ok', 'status', 'reset', 'apply-then-reset']));
  figure(`200 updates, 16 workers, 30% faults: ${r.requests.length} requests, ${r.applied.size} payloads applied`);
});

test('long outage: updates return at once, the outbox stays small, and without any command everything arrives within ~10 s', { timeout: 90_000 }, async () => {
  const r = await receiverWith();
  const b = box('outage', r.endpoint, { PROGRESS_MAX_WAIT: '1' });
  await r.stop();
  const results = await pool(60, 8, (i) => b.run(['update', '--items', 'issues=1', '--last-id', String(i)]));
  for (const x of results) expect([x.exitCode, x.ms < 1000 + START_SLACK_MS]).toEqual([0, true]);
  const during = await statusOf(b);
  expect(during.pending.events).toBe(60);
  expect(during.pending.payloads).toBeLessThanOrEqual(3);
  // Wait until the flusher's backoff has grown to its cap (5 failures), then bring the API back and run nothing.
  const db = new Database(join(b.stateDir, 'state.db'), { readonly: true, fileMustExist: true });
  try {
    await eventually(async () => ((db.prepare('SELECT failures FROM tasks WHERE task = ?').get('outage') as { failures: number }).failures ?? 0) >= 5, 20_000, 'five failed attempts');
  } finally {
    db.close();
  }
  await r.start();
  const back = Date.now();
  await r.waitFor(() => total(r.totals('outage')) >= 60, 15_000, 'everything after the outage');
  const tookMs = Date.now() - back;
  expect(tookMs).toBeLessThan(10_500);
  expect(r.totals('outage')).toEqual({ issues: 60 });
  expect(r.conflicts).toEqual([]);
  figure(`outage of 60 updates: ${during.pending.payloads} payload(s) on disk; delivered ${tookMs} ms after the API returned, ${r.requests.length} requests`);
});

test('hang: update, stage, error and checkpoint return within PROGRESS_MAX_WAIT, the events stay pending', async () => {
  const r = await receiverWith(() => ({ kind: 'hang' }));
  const b = box('hang', r.endpoint, { PROGRESS_MAX_WAIT: '1', PROGRESS_REQUEST_TIMEOUT: '60' });
  for (const args of [['update', '--items', 'issues=1'], ['stage', 'crawl'], ['error', 'boom'], ['checkpoint', 'c-9']]) {
    const x = await b.run(args);
    expect(x.exitCode, x.stderr).toBe(0);
    expect(x.ms, args[0]).toBeLessThan(1000 + START_SLACK_MS);
  }
  expect(r.requests.length).toBeGreaterThanOrEqual(1);
  expect((await statusOf(b)).pending.events).toBe(4);
});

test('the request timeout is honoured: a hanging server costs flush PROGRESS_ATTEMPTS x PROGRESS_REQUEST_TIMEOUT, not its --timeout', async () => {
  const r = await receiverWith(() => ({ kind: 'hang' }));
  // Recorded with no endpoint, so no background flusher competes with flush for the lease.
  const b = box('timeout', undefined);
  expect((await b.run(['stage', 'crawl'])).exitCode).toBe(0);
  const x = await b.run(['flush', '--timeout', '40'], { env: { PROGRESS_API_ENDPOINT: r.endpoint, PROGRESS_REQUEST_TIMEOUT: '1', PROGRESS_ATTEMPTS: '2' } });
  expect(x.exitCode).toBe(4);
  expect(x.stderr).toMatch(/timed out after 1000 ms/);
  expect(x.ms).toBeLessThan(2 * 1000 + 1000 + START_SLACK_MS);
  // (after flush gives up, the background flusher it starts may already be trying again)
  expect(r.requests.length).toBeGreaterThanOrEqual(2);
});

test('a server answering byte by byte cannot hold a command beyond its bound; the payload counts as delivered', async () => {
  const r = await receiverWith(() => ({ kind: 'slow-body', intervalMs: 500, bytes: 10_000 }));
  const b = box('slow', r.endpoint, { PROGRESS_MAX_WAIT: '2', PROGRESS_REQUEST_TIMEOUT: '60' });
  const x = await b.run(['stage', 'crawl']);
  expect(x.exitCode).toBe(0);
  expect(x.ms).toBeLessThan(2000 + START_SLACK_MS);
  expect((await b.run(['update', '--items', 'issues=3'])).exitCode).toBe(0);
  const f = await b.run(['flush', '--timeout', '10']);
  expect(f.exitCode, f.stderr).toBe(0);
  expect(f.ms).toBeLessThan(3000 + START_SLACK_MS);
  expect(r.totals('slow')).toEqual({ issues: 3 });
});

test('a 2xx with a huge or garbage body is a success', async () => {
  let n = 0;
  const r = await receiverWith(() => (n++ % 2 === 0 ? { kind: 'ok', body: 'x'.repeat(5_000_000) } : { kind: 'ok', status: 202, body: '\u0000<html>not json' }));
  const b = box('body', undefined);
  for (const args of [['stage', 'a'], ['update', '--items', 'issues=1'], ['stage', 'b'], ['update', '--items', 'issues=1']]) expect((await b.run(args)).exitCode).toBe(0);
  const f = await b.run(['flush'], { env: { PROGRESS_API_ENDPOINT: r.endpoint } });
  expect(f.exitCode, f.stderr).toBe(0);
  expect(r.totals('body')).toEqual({ issues: 2 });
  expect(r.requests.length).toBe(4);
});

test.each([
  ['seconds', () => '2', 1900],
  ['an HTTP date', () => new Date(Date.now() + 3000).toUTCString(), 1000],
])('Retry-After in %s is honoured before the next attempt', async (_, header, minGapMs) => {
  const r = await receiverWith((_req, i) => (i === 0 ? { kind: 'status', status: 503, headers: { 'retry-after': header() } } : { kind: 'ok' }));
  const b = box('retry-after', r.endpoint);
  expect((await b.run(['update', '--items', 'issues=1'])).exitCode).toBe(0);
  await r.waitFor(() => r.applied.size === 1, 15_000, 'the retry');
  const gap = r.requests[1]!.at - r.requests[0]!.at;
  expect(gap).toBeGreaterThanOrEqual(minGapMs);
  expect(gap).toBeLessThan(8000);
});

test('a huge Retry-After does not park flush: it gives up at its timeout with exit 4, events kept', async () => {
  const r = await receiverWith(() => ({ kind: 'status', status: 429, headers: { 'retry-after': '86400' } }));
  const b = box('park', undefined);
  expect((await b.run(['stage', 'x'])).exitCode).toBe(0);
  const f = await b.run(['flush', '--timeout', '3'], { env: { PROGRESS_API_ENDPOINT: r.endpoint } });
  expect(f.exitCode).toBe(4);
  expect(f.ms).toBeLessThan(3000 + START_SLACK_MS);
  expect(r.requests.length).toBe(1);
  expect((await statusOf(b)).pending.events).toBe(1);
});

test.each([301, 302, 307, 308])('a %i redirect is not followed: nothing (and no token) reaches the Location, the event stays pending', async (status) => {
  const elsewhere = await receiverWith();
  const r = await receiverWith(() => ({ kind: 'redirect', status, location: `${elsewhere.endpoint}/redirect/progress` }));
  const b = box('redirect', undefined, { PROGRESS_API_TOKEN: 'secret-token' });
  expect((await b.run(['stage', 'x'])).exitCode).toBe(0);
  const f = await b.run(['flush', '--timeout', '5'], { env: { PROGRESS_API_ENDPOINT: r.endpoint, PROGRESS_ATTEMPTS: '2' } });
  expect(f.exitCode).toBe(4);
  expect(f.stderr).toMatch(new RegExp(`HTTP ${status} \\(redirects are not followed\\)`));
  expect(r.requests.length).toBeGreaterThanOrEqual(2);
  expect(elsewhere.requests).toEqual([]);
  const s = await statusOf(b);
  expect([s.pending.events, s.deadLetters.count]).toEqual([1, 0]);
});

test('1000 dead letters do not slow later commands; status shows the count and last reason; flush --retry-dead re-queues them', { timeout: 90_000 }, async () => {
  let refuse = true;
  const r = await receiverWith((req) => (refuse && req.body?.stage?.startsWith('bad') ? { kind: 'status', status: 422, body: 'no such stage' } : { kind: 'ok' }));
  const b = box('dead', r.endpoint, { PROGRESS_MIN_INTERVAL: '0' });
  for (let i = 0; i < 5; i++) expect((await b.run(['stage', `bad-${i}`])).exitCode).toBe(5);
  const timed = async () => {
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push((await b.run(['update', '--items', 'issues=1'])).ms, (await b.run(['stage', `ok-${i}`])).ms);
    return runs.sort((x, y) => x - y)[runs.length >> 1]!;
  };
  const before = await timed();
  // Multiply the 5 real refusals into 1000 (each under a fresh key), as if 1000 payloads had been refused.
  const db = new Database(join(b.stateDir, 'state.db'));
  db.prepare(
    `INSERT INTO dead_letters (outbox_id, task, body, idem_key, status, reason, dead_at)
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 199)
     SELECT -(n.i * 10 + d.id), d.task, d.body, d.idem_key || '-copy-' || n.i, d.status, d.reason, d.dead_at FROM dead_letters d, n`,
  ).run();
  db.close();
  expect((await statusOf(b)).deadLetters).toEqual({ count: 1000, lastReason: expect.stringMatching(/HTTP 422: no such stage/) });
  const after = await timed();
  expect(after).toBeLessThan(before * 2 + 300);
  await r.waitFor(() => total(r.totals('dead')) === 10, 10_000, 'the later updates');

  refuse = false;
  const started = performance.now();
  const f = await b.run(['flush', '--retry-dead', '--timeout', '60']);
  expect(f.exitCode, f.stderr).toBe(0);
  expect(f.stderr).toMatch(/re-queued 1000 dead letter/);
  expect((await statusOf(b)).deadLetters.count).toBe(0);
  expect(r.payloads('dead').filter((p) => p.stage?.startsWith('bad'))).toHaveLength(1000);
  figure(`1000 dead letters: median command ${Math.round(before)} ms before, ${Math.round(after)} ms after; --retry-dead delivered them in ${Math.round(performance.now() - started)} ms`);
});

/** Runs a privileged command; false when this machine does not allow it (not root, no mount). */
async function tryRun(cmd: string, args: string[]): Promise<boolean> {
  return (await execa(cmd, args, { reject: false })).exitCode === 0;
}

const mountable = process.getuid?.() === 0 && (await (async () => {
  const probe = mkdtempSync(join(tmpdir(), 'progress-mount-probe-'));
  const ok = await tryRun('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]);
  if (ok) await tryRun('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  return ok;
})());

function expectRefusedWrite(x: { exitCode: number; stdout: string; stderr: string }, why: RegExp): void {
  expect(x.exitCode).toBe(3);
  expect(x.stdout).toBe('');
  const lines = x.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(why);
  expect(x.stderr).not.toMatch(/\n\s+at /);
}

test.runIf(mountable)('read-only state dir (read-only bind mount): event commands exit 3, nothing accepted earlier is lost', async () => {
  const b = box('ro', undefined);
  for (let i = 0; i < 2; i++) expect((await b.run(['update', '--items', 'issues=5', '-q'])).exitCode).toBe(0);
  expect(await tryRun('mount', ['--bind', b.stateDir, b.stateDir])).toBe(true);
  cleanups.push(() => execa('umount', [b.stateDir]));
  expect(await tryRun('mount', ['-o', 'remount,ro,bind', b.stateDir])).toBe(true);
  for (const args of [['update', '--items', 'issues=1'], ['stage', 'x'], ['error', 'e'], ['checkpoint', 'c']]) {
    expectRefusedWrite(await b.run(args), /state (directory|database) .* (is not writable|is read-only)/);
  }
  await execa('umount', [b.stateDir]);
  cleanups.pop();
  const s = await statusOf(b);
  expect([s.totals, s.pending.events]).toEqual([{ issues: 10 }, 2]);
});

test.runIf(mountable)('full disk (a tiny tmpfs): event commands exit 3 saying so; earlier events are kept and later ones work again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'progress-full-'));
  expect(await tryRun('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir])).toBe(true);
  cleanups.push(async () => {
    await execa('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  const b = box('full', undefined, { PROGRESS_STATE_DIR: dir });
  for (let i = 0; i < 2; i++) expect((await b.run(['update', '--items', 'issues=5', '-q'])).exitCode).toBe(0);
  const filler = join(dir, 'filler');
  await execa('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { reject: false });
  for (const args of [['update', '--items', 'issues=1'], ['stage', 'x']]) expectRefusedWrite(await b.run(args), /disk is full/);
  rmSync(filler);
  expect((await b.run(['update', '--items', 'issues=1', '-q'])).exitCode).toBe(0);
  const s = await statusOf(b);
  expect([s.totals, s.pending.events]).toEqual([{ issues: 11 }, 3]);
});

test('a state dir that cannot be created (its parent is a file): exit 3, one clear line, nothing claimed', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'progress-notdir-'));
  cleanups.push(async () => rmSync(parent, { recursive: true, force: true }));
  writeFileSync(join(parent, 'file'), '');
  const b = box('nodir', undefined, { PROGRESS_STATE_DIR: join(parent, 'file', 'state') });
  for (const args of [['update', '--items', 'issues=1'], ['stage', 'x']]) expectRefusedWrite(await b.run(args), /(cannot create state directory|cannot read) .*ENOTDIR/);
});
