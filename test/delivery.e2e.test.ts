// Delivery end to end (SPEC §4): parallel callers, outage then flush, lost responses, coalescing, dead letters,
// a refused token, order of events, and two hosts on one task — the built CLI against a real receiver.
import { afterEach, expect, test } from 'vitest';
import { sandbox, type Sandbox } from './support/cli.js';
import { startReceiver, type Fault, type Receiver } from './support/receiver.js';
import { eventually, pool, seeded, statusOf, total } from './support/workers.js';

let receiver: Receiver | undefined;
const boxes: Sandbox[] = [];
afterEach(async () => {
  for (const b of boxes.splice(0)) b.cleanup();
  await receiver?.close();
  receiver = undefined;
});

function box(task: string, env: Record<string, string | undefined> = {}): Sandbox {
  const b = sandbox({ endpoint: receiver!.endpoint, task, env });
  boxes.push(b);
  return b;
}

const keyOf = (r: { headers: Record<string, unknown> }) => String(r.headers['idempotency-key']);
const figure = (text: string) => process.stdout.write(`[figure] ${text}\n`);

test('16 parallel callers x 25 updates: exactly 400 at the server and 400 locally', { timeout: 120_000 }, async () => {
  receiver = await startReceiver();
  const b = box('parallel');
  const started = performance.now();
  const results = await pool(400, 16, () => b.run(['update', '--items', 'issues=1']));
  const recordedMs = performance.now() - started;
  expect(results.filter((r) => r.exitCode !== 0).map((r) => r.stderr)).toEqual([]);
  await receiver.waitFor(() => total(receiver!.totals('parallel')) >= 400, 20_000, '400 issues at the server');
  const deliveredMs = performance.now() - started;
  const status = await statusOf(b);
  expect(status.totals).toEqual({ issues: 400 });
  expect(status.pending).toEqual({ events: 0, payloads: 0 });
  expect(receiver.totals('parallel')).toEqual({ issues: 400 });
  expect(receiver.conflicts).toEqual([]);
  figure(`400 parallel updates (16 workers): all exited in ${Math.round(recordedMs)} ms, delivered by ${Math.round(deliveredMs)} ms, ${receiver.requests.length} requests`);
});

test('API down during 50 updates: each exits 0 at once, the outbox stays coalesced, flush delivers each increment once', async () => {
  receiver = await startReceiver();
  const b = box('outage', { PROGRESS_MAX_WAIT: '1' });
  await receiver.stop();
  const results = await pool(50, 8, () => b.run(['update', '--items', 'issues=1']));
  for (const r of results) {
    expect(r.exitCode).toBe(0);
    expect(r.ms).toBeLessThan(1000 + 2500);
  }
  const during = await statusOf(b);
  expect(during.totals).toEqual({ issues: 50 });
  expect(during.pending.events).toBe(50);
  expect(during.pending.payloads).toBeLessThanOrEqual(3);
  expect(during.lastDeliveryError?.message).toMatch(/ECONNREFUSED|network error/);

  await receiver.start();
  const flush = await b.run(['flush', '--timeout', '20']);
  expect(flush.exitCode, flush.stderr).toBe(0);
  expect(receiver.totals('outage')).toEqual({ issues: 50 });
  expect(receiver.conflicts).toEqual([]);
  expect((await statusOf(b)).pending).toEqual({ events: 0, payloads: 0 });
});

test('lost responses (applied, then the connection drops) never double-count', async () => {
  // Every payload's first attempt is applied but its response lost; the retry carries the same key and body.
  const attempts = new Map<string, number>();
  receiver = await startReceiver({
    faults: (req): Fault => {
      const n = (attempts.get(keyOf(req)) ?? 0) + 1;
      attempts.set(keyOf(req), n);
      return n === 1 ? { kind: 'apply-then-reset' } : { kind: 'ok' };
    },
  });
  const b = box('lost', { PROGRESS_MIN_INTERVAL: '0.2' });
  for (let i = 0; i < 10; i++) expect((await b.run(['update', '--items', 'issues=3'])).exitCode).toBe(0);
  expect((await b.run(['stage', 'done'])).exitCode).toBe(0);
  await receiver.waitFor(() => receiver!.payloads('lost').some((p) => p.stage === 'done'), 15_000, 'the stage');
  await eventually(async () => (await statusOf(b)).pending.payloads === 0, 15_000, 'an empty outbox');
  expect(receiver.totals('lost')).toEqual({ issues: 30 });
  expect(receiver.conflicts).toEqual([]);
  // Every key was sent at least twice (the first response was lost), and applied once.
  expect([...attempts.values()].every((n) => n >= 2)).toBe(true);
  expect(receiver.applied.size).toBe(attempts.size);
});

test('50 quick updates become a few requests (coalescing within PROGRESS_MIN_INTERVAL)', async () => {
  receiver = await startReceiver();
  const b = box('coalesce');
  const started = performance.now();
  for (let i = 0; i < 50; i++) expect((await b.run(['update', '--items', 'issues=2', '--last-id', String(i)])).exitCode).toBe(0);
  const elapsedS = (performance.now() - started) / 1000;
  // The trailing coalesced update arrives within about one interval without another command.
  await receiver.waitFor(() => total(receiver!.totals('coalesce')) === 100, 5000, 'the trailing update');
  const requests = receiver.requests.length;
  expect(requests).toBeLessThanOrEqual(Math.ceil(elapsedS / 1) + 5);
  expect(requests).toBeLessThan(25);
  const last = receiver.payloads('coalesce').at(-1);
  expect(last.lastProcessedId).toBe('49');
  const entries = receiver.payloads('coalesce').flatMap((p) => p.timeline ?? []);
  expect(entries.filter((e: any) => e.event === 'progress_update')).toHaveLength(50);
  figure(`50 quick updates in ${elapsedS.toFixed(1)} s became ${requests} requests (bound ${Math.ceil(elapsedS) + 5})`);
});

test('400 → dead letter; later events still delivered; stage waiting on it exits 5; flush --retry-dead re-queues', async () => {
  let refuse = true;
  receiver = await startReceiver({
    faults: (req): Fault => (refuse && req.body?.stage === 'bogus' ? { kind: 'status', status: 400, body: '{"error":"unknown stage bogus"}' } : { kind: 'ok' }),
  });
  const b = box('dead');
  expect((await b.run(['update', '--items', 'issues=1'])).exitCode).toBe(0);
  const refused = await b.run(['stage', 'bogus']);
  expect(refused.exitCode).toBe(5);
  expect(refused.stderr).toMatch(/refused.*HTTP 400.*dead letters/);
  expect(refused.stderr.trim().split('\n')).toHaveLength(1);
  const refusedError = await b.run(['error', 'boom', '--stage', 'bogus']);
  expect(refusedError.exitCode).toBe(5);
  expect((await b.run(['update', '--items', 'issues=2'])).exitCode).toBe(0);
  expect((await b.run(['stage', 'fine'])).exitCode).toBe(0);
  expect(receiver.payloads('dead').map((p) => p.stage).filter(Boolean)).toEqual(['fine']);
  expect(receiver.totals('dead')).toEqual({ issues: 3 });
  const status = await statusOf(b);
  expect(status.deadLetters).toEqual({ count: 2, lastReason: expect.stringContaining('unknown stage bogus') });
  const human = await b.run(['status']);
  expect(human.stderr + human.stdout).toMatch(/dead\s+2 \(last: HTTP 400/);

  refuse = false;
  const retry = await b.run(['flush', '--retry-dead']);
  expect(retry.exitCode, retry.stderr).toBe(0);
  expect(retry.stderr).toMatch(/re-queued 2 dead letter/);
  expect(receiver.payloads('dead').map((p) => p.stage).filter(Boolean)).toEqual(['fine', 'bogus', 'bogus']);
  expect(receiver.payloads('dead').at(-1)).toMatchObject({ type: 'error', error: 'boom' });
  expect((await statusOf(b)).deadLetters.count).toBe(0);
  expect(receiver.conflicts).toEqual([]);
});

test('401 → events kept with a clear message, nothing dead-lettered; after fixing the token, flush delivers them', async () => {
  receiver = await startReceiver({
    faults: (req): Fault => (req.headers.authorization === 'Bearer good-token' ? { kind: 'ok' } : { kind: 'status', status: 401 }),
  });
  const b = box('auth', { PROGRESS_API_TOKEN: 'bad-token' });
  expect((await b.run(['update', '--items', 'issues=4'])).exitCode).toBe(0);
  const stage = await b.run(['stage', 'crawl']);
  expect(stage.exitCode).toBe(0);
  await receiver.waitFor(() => receiver!.requests.length >= 1, 5000, 'the first attempt');
  const later = await b.run(['update', '--items', 'issues=1']);
  expect(later.exitCode).toBe(0);
  expect(later.stderr).toMatch(/refused the token/);
  expect(later.stderr).not.toContain('bad-token');
  const status = await statusOf(b);
  expect(status.deadLetters.count).toBe(0);
  expect(status.pending.events).toBe(3);
  expect(status.lastDeliveryError).toMatchObject({ kind: 'auth', message: expect.stringContaining('HTTP 401') });
  const stillBad = await b.run(['flush', '--timeout', '5']);
  expect(stillBad.exitCode).toBe(4);
  expect(stillBad.stderr).toMatch(/refused the token.*3 event\(s\) are kept/);

  const fixed = await b.run(['flush'], { env: { PROGRESS_API_TOKEN: 'good-token' } });
  expect(fixed.exitCode, fixed.stderr).toBe(0);
  expect(receiver.totals('auth')).toEqual({ issues: 5 });
  expect(receiver.payloads('auth').map((p) => p.stage).filter(Boolean)).toContain('crawl');
  expect((await statusOf(b)).pending.events).toBe(0);
});

test('order: stage changes, errors and completion arrive in command order, completion after every update', async () => {
  // Seeded 30% transient failures: order must hold across retries too.
  const random = seeded(7);
  receiver = await startReceiver({ faults: (): Fault => (random() < 0.3 ? { kind: 'status', status: 503 } : { kind: 'ok' }) });
  const b = box('order', { PROGRESS_MIN_INTERVAL: '0.3', PROGRESS_ATTEMPTS: '20' });
  const script: string[][] = [
    ['stage', 'discovery'],
    ['update', '--items', 'issues=1'],
    ['update', '--items', 'issues=1'],
    ['error', 'timeout on page 3', '--type', 'Timeout'],
    ['stage', 'collect'],
    ['update', '--items', 'issues=5'],
    ['checkpoint', 'c-1'],
    ['error', 'rate limited', '--type', 'RateLimit'],
    ['update', '--items', 'issues=2'],
    ['stage', 'finish'],
    ['update', '--items', 'issues=3'],
  ];
  for (const args of script) expect((await b.run(args)).exitCode).toBe(0);
  const done = await b.run(['complete', '--summary', 'ok']);
  expect(done.exitCode, done.stderr).toBe(0);
  const events = receiver
    .payloads('order')
    .flatMap((p) => (p.timeline ?? []) as { event: string; details: any }[])
    .filter((e) => e.event !== 'progress_update')
    .map((e) => (e.event === 'stage_change' ? `stage:${e.details.toStage}` : e.event === 'error' ? `error:${e.details.errorType}` : e.event));
  expect(events).toEqual(['stage:discovery', 'error:Timeout', 'stage:collect', 'error:RateLimit', 'stage:finish', 'completion']);
  const applied = receiver.payloads('order');
  const completionAt = applied.findIndex((p) => p.stage === 'completed');
  expect(completionAt).toBe(applied.length - 1);
  const before = applied.slice(0, completionAt).reduce((n, p) => n + (p.itemsByType?.issues ?? 0), 0);
  expect(before).toBe(12);
  expect(applied[completionAt].timeline.at(-1).details.finalCounts).toEqual({ issues: 12 });
});

test('two state dirs (two hosts) on one task: the server total is the sum; idempotency keys never collide', async () => {
  receiver = await startReceiver();
  const hostA = box('shared', { PROGRESS_MIN_INTERVAL: '0.05' });
  const hostB = box('shared', { PROGRESS_MIN_INTERVAL: '0.05' });
  await pool(40, 8, (i) => (i % 2 === 0 ? hostA : hostB).run(['update', '--items', `issues=${1 + (i % 3)}`]));
  const expected = Array.from({ length: 40 }, (_, i) => 1 + (i % 3)).reduce((a, n) => a + n, 0);
  await receiver.waitFor(() => total(receiver!.totals('shared')) >= expected, 15_000, 'both hosts');
  expect(receiver.totals('shared')).toEqual({ issues: expected });
  const a = await statusOf(hostA);
  const b = await statusOf(hostB);
  expect(total(a.totals) + total(b.totals)).toBe(expected);
  const prefixes = new Set([...receiver.applied.keys()].map((k) => k.replace(/-\d+$/, '')));
  expect(prefixes.size).toBe(2);
  expect(receiver.conflicts).toEqual([]);
});
