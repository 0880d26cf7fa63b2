// Black-box: every event command of SPEC §3 through the built CLI to a real receiver; payloads field by field (SPEC §7).
import { describe, expect, test } from 'vitest';
import { sandbox, type Sandbox } from './support/cli.js';
import { useSharedReceiver } from './support/shared-receiver.js';

const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

const shared = useSharedReceiver('cmd');
const fresh = shared.fresh.bind(shared);

async function payloadsOf(task: string, count: number): Promise<any[]> {
  await shared.receiver.waitFor(() => shared.receiver.payloads(task).length >= count, 10_000, `${count} payload(s) of ${task}`);
  return shared.receiver.payloads(task);
}

function rawBodiesOf(task: string): string[] {
  return shared.receiver.requests.filter((r) => r.body?.taskId === task).map((r) => r.raw);
}

/** When the earliest event in these payloads happened (coalesced updates keep each event's timeline timestamp). */
function firstEventAt(payloads: any[]): number {
  return Math.min(...payloads.flatMap((p) => [p.timestamp, ...(p.timeline ?? []).map((t: any) => t.timestamp)]).map((t) => Date.parse(t)));
}

async function statusJson(b: Sandbox): Promise<any> {
  const r = await b.run(['status', '--json']);
  expect(r.exitCode).toBe(0);
  return JSON.parse(r.stdout);
}

describe('update', () => {
  test('every option lands in its SPEC §7 field, with a progress_update timeline entry', async () => {
    const { box, task } = fresh();
    const r = await box.run([
      'update', '--items', 'issues=10', '--items', 'merge_requests=2', '--processed', '120', '--total', '900', '--type', 'issues',
      '--last-id', '42', '--stage', 'data_collection', '--operation', 'data_collection', '--message', 'page 3 of 9',
    ]);
    expect(r).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
    const [p] = await payloadsOf(task, 1);
    expect(p).toEqual({
      type: 'progress', taskId: task, timestamp: ISO, processedItems: 120, totalItems: 900, currentDataType: 'issues',
      itemsByType: { issues: 10, merge_requests: 2 }, lastProcessedId: '42', stage: 'data_collection', operationType: 'data_collection',
      message: 'page 3 of 9',
      timeline: [{
        timestamp: p.timestamp, event: 'progress_update',
        details: { processedItems: 120, currentDataType: 'issues', stage: 'data_collection', itemsByType: { issues: 10, merge_requests: 2 } },
      }],
    });
  });

  test('unset fields are absent, never null; --no-timeline sends no timeline', async () => {
    const { box, task } = fresh();
    expect((await box.run(['update', '--items', 'issues=1', '--no-timeline'])).exitCode).toBe(0);
    const [p] = await payloadsOf(task, 1);
    expect(p).toEqual({ type: 'progress', taskId: task, timestamp: ISO, itemsByType: { issues: 1 } });
    expect(rawBodiesOf(task).join('')).not.toContain('null');
  });

  test('a bare update is a heartbeat: an empty progress_update timeline entry', async () => {
    const { box, task } = fresh();
    expect((await box.run(['update'])).exitCode).toBe(0);
    const [p] = await payloadsOf(task, 1);
    expect(p).toEqual({ type: 'progress', taskId: task, timestamp: ISO, timeline: [{ timestamp: p.timestamp, event: 'progress_update', details: {} }] });
  });

  test('totals grow across invocations, locally and at the server; odd type names stay plain keys', async () => {
    const { box, task } = fresh();
    for (const args of [['--items', 'issues=10'], ['--items', 'issues=5', '--items', '__proto__=1'], ['--items', 'issues=0', '--items', 'mr.v2-x=7']]) {
      expect((await box.run(['update', ...args, '--no-timeline'])).exitCode).toBe(0);
    }
    const want = JSON.parse('{"issues":15,"__proto__":1,"mr.v2-x":7}');
    expect(JSON.stringify((await statusJson(box)).totals)).toBe(JSON.stringify(want));
    expect((await box.run(['flush'])).exitCode).toBe(0);
    const server: Record<string, number> = Object.create(null);
    for (const p of shared.receiver.payloads(task)) for (const [k, v] of Object.entries(p.itemsByType as object)) server[k] = (server[k] ?? 0) + (v as number);
    expect(JSON.stringify(server)).toBe(JSON.stringify(want));
  });
});

describe('stage', () => {
  test('fromStage is the real previous stage across separate invocations, absent on the first', async () => {
    const { box, task } = fresh();
    expect((await box.run(['stage', 'discovery', '--operation', 'discovery'])).exitCode).toBe(0);
    expect((await box.run(['stage', 'data_collection', '--message', 'collecting now'])).exitCode).toBe(0);
    expect((await box.run(['update', '--stage', 'branches', '--no-timeline'])).exitCode).toBe(0);
    expect((await box.run(['stage', 'finalization', '--operation', 'finalization'])).exitCode).toBe(0);
    const [s1, s2, u, s3] = await payloadsOf(task, 4);
    expect(s1).toEqual({
      type: 'progress', taskId: task, timestamp: ISO, stage: 'discovery', operationType: 'discovery', message: 'Transitioning to discovery',
      timeline: [{ timestamp: s1.timestamp, event: 'stage_change', details: { toStage: 'discovery', operationType: 'discovery', timestamp: s1.timestamp } }],
    });
    expect(s2).toEqual({
      type: 'progress', taskId: task, timestamp: ISO, stage: 'data_collection', message: 'collecting now',
      timeline: [{ timestamp: s2.timestamp, event: 'stage_change', details: { fromStage: 'discovery', toStage: 'data_collection', timestamp: s2.timestamp } }],
    });
    expect(u).toEqual({ type: 'progress', taskId: task, timestamp: ISO, stage: 'branches' });
    expect(s3.timeline[0].details).toEqual({ fromStage: 'branches', toStage: 'finalization', operationType: 'finalization', timestamp: s3.timestamp });
    expect((await statusJson(box)).stage).toBe('finalization');
  });
});

describe('error', () => {
  test('type "error", error, "Error: MESSAGE" and the error timeline entry', async () => {
    const { box, task } = fresh();
    const r = await box.run(['error', 'GitLab returned 502', '--type', 'HttpError', '--stage', 'data_collection', '--last-id', '17',
      '--operation', 'data_collection', '--context', '{"status":502,"retry":[1,2]}']);
    expect(r).toMatchObject({ exitCode: 0, stderr: '' });
    const [p] = await payloadsOf(task, 1);
    expect(p).toEqual({
      type: 'error', taskId: task, timestamp: ISO, error: 'GitLab returned 502', message: 'Error: GitLab returned 502', stage: 'data_collection',
      lastProcessedId: '17', operationType: 'data_collection',
      timeline: [{ timestamp: p.timestamp, event: 'error', details: {
        errorType: 'HttpError', errorMessage: 'GitLab returned 502', context: { status: 502, retry: [1, 2] }, timestamp: p.timestamp } }],
    });
  });

  test('minimal: words joined, errorType defaults to "Error", no context', async () => {
    const { box, task } = fresh();
    expect((await box.run(['error', 'disk', 'full'])).exitCode).toBe(0);
    const [p] = await payloadsOf(task, 1);
    expect(p).toEqual({
      type: 'error', taskId: task, timestamp: ISO, error: 'disk full', message: 'Error: disk full',
      timeline: [{ timestamp: p.timestamp, event: 'error', details: { errorType: 'Error', errorMessage: 'disk full', timestamp: p.timestamp } }],
    });
  });
});

describe('checkpoint', () => {
  test('sends lastProcessedId and its message, no timeline; --show prints it on stdout', async () => {
    const { box, task } = fresh();
    expect((await box.run(['checkpoint', '4711', '--data', '{"page":3}'])).exitCode).toBe(0);
    const [p] = await payloadsOf(task, 1);
    expect(p).toEqual({ type: 'progress', taskId: task, timestamp: ISO, lastProcessedId: '4711', message: 'Checkpoint saved at 4711' });
    expect(await box.run(['checkpoint', '--show'])).toMatchObject({ exitCode: 0, stdout: '4711', stderr: '' });
    expect(await statusJson(box)).toMatchObject({ lastCheckpoint: '4711', checkpointData: { page: 3 } });
    expect((await box.run(['checkpoint', 'a b/c'])).exitCode).toBe(0);
    expect(await statusJson(box)).toMatchObject({ lastCheckpoint: 'a b/c', checkpointData: null });
    expect(await box.run(['checkpoint', '--show'])).toMatchObject({ exitCode: 0, stdout: 'a b/c', stderr: '' });
  });

  test('--show with no checkpoint prints nothing, exits 0 and sends nothing', async () => {
    const { box, task } = fresh();
    expect(await box.run(['checkpoint', '--show'])).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
    expect((await box.run(['update', '--items', 'a=1'])).exitCode).toBe(0);
    expect(await box.run(['checkpoint', '--show'])).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
    await payloadsOf(task, 1);
    expect(shared.receiver.payloads(task)).toHaveLength(1);
  });
});

describe('complete and runs', () => {
  test('completion carries the run\'s local totals and its duration; the next event starts a fresh run', async () => {
    const { box, task } = fresh();
    expect((await box.run(['update', '--items', 'issues=10'])).exitCode).toBe(0);
    expect((await box.run(['update', '--items', 'issues=5', '--items', 'mrs=2'])).exitCode).toBe(0);
    const r = await box.run(['complete', '--summary', 'crawled 3 groups', '--processed', '17']);
    expect(r.exitCode).toBe(0);
    // complete waits for delivery: everything is at the server when it returns
    const ps = shared.receiver.payloads(task);
    const done = ps.at(-1);
    expect(done).toEqual({
      type: 'progress', taskId: task, timestamp: ISO, processedItems: 17, stage: 'completed', message: 'crawled 3 groups',
      timeline: [{ timestamp: done.timestamp, event: 'completion', details: {
        finalCounts: { issues: 15, mrs: 2 }, duration: expect.any(Number), summary: 'crawled 3 groups', timestamp: done.timestamp } }],
    });
    // the run began with the first update: duration is exactly the time between the two events
    expect(done.timeline[0].details.duration).toBe(Date.parse(done.timestamp) - firstEventAt(ps));
    const after = await statusJson(box);
    expect(after).toMatchObject({ stage: 'completed', run: { completed: true }, totals: { issues: 15, mrs: 2 }, pending: { events: 0 } });

    // next run: fresh totals, fresh timer
    expect((await box.run(['update', '--items', 'issues=1'])).exitCode).toBe(0);
    expect(await statusJson(box)).toMatchObject({ run: { completed: false }, totals: { issues: 1 } });
    expect((await box.run(['complete'])).exitCode).toBe(0);
    const all = shared.receiver.payloads(task);
    const second = all.at(-1);
    expect(second.message).toBe('Operation completed successfully');
    expect(second.timeline[0].details).toEqual({ finalCounts: { issues: 1 }, duration: Date.parse(second.timestamp) - firstEventAt([all.at(-2)]), timestamp: second.timestamp });
  });
});

describe('status, reset, flush', () => {
  test('status: human text on stderr, --json on stdout; the token only as set/source', async () => {
    const secret = 'tok-SECRET-8f3a';
    const { box, task } = fresh({ PROGRESS_API_TOKEN: secret, PROGRESS_API_ENDPOINT: undefined });
    expect((await box.run(['update', '--items', 'issues=4', '--processed', '4', '--total', '10'])).exitCode).toBe(0);
    expect((await box.run(['checkpoint', '99'])).exitCode).toBe(0);
    const human = await box.run(['status']);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toBe('');
    expect(human.stderr).toMatch(/issues=4/);
    expect(human.stderr).toMatch(/set \(env\)/);
    const json = await box.run(['status', '--json']);
    expect(json.stderr).toBe('');
    const s = JSON.parse(json.stdout);
    expect(s).toMatchObject({
      task, endpoint: null, token: { set: true, source: 'env' }, totals: { issues: 4 }, processedItems: 4, totalItems: 10,
      lastCheckpoint: '99', pending: { events: 2, payloads: 2 }, deadLetters: { count: 0 }, run: { completed: false },
    });
    expect(human.stderr + json.stdout).not.toContain(secret);
  });

  test('reset: a new run with totals and stage cleared; pending events are kept and flush delivers them', async () => {
    const { box, task } = fresh({ PROGRESS_API_ENDPOINT: undefined });
    expect((await box.run(['stage', 'discovery'])).exitCode).toBe(0);
    expect((await box.run(['update', '--items', 'issues=3'])).exitCode).toBe(0);
    const r = await box.run(['reset']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/2 pending/);
    expect(await statusJson(box)).toMatchObject({ totals: {}, stage: null, pending: { events: 2 }, run: { completed: false } });
    const f = await box.run(['flush', '--endpoint', shared.receiver.endpoint]);
    expect(f).toMatchObject({ exitCode: 0, stdout: '' });
    expect(shared.receiver.payloads(task).map((p) => p.stage ?? p.itemsByType)).toEqual(['discovery', { issues: 3 }]);
    expect((await statusJson(box)).pending).toEqual({ events: 0, payloads: 0 });
    expect(await box.run(['flush', '--endpoint', shared.receiver.endpoint])).toMatchObject({ exitCode: 0 });
    // after reset, the first stage has no fromStage
    expect((await box.run(['stage', 'again', '--endpoint', shared.receiver.endpoint])).exitCode).toBe(0);
    expect((await payloadsOf(task, 3))[2].timeline[0].details.fromStage).toBeUndefined();
  });
});

describe('wire', () => {
  test('headers: Bearer token, JSON content type, an Idempotency-Key, User-Agent progress/VERSION', async () => {
    const { version } = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')));
    const { box, task } = fresh({ PROGRESS_API_TOKEN: 'tok-123' });
    expect((await box.run(['stage', 'one'])).exitCode).toBe(0);
    const other = `${task}-no-token`;
    expect((await box.run(['stage', 'two'], { env: { PROGRESS_API_TOKEN: undefined, PROGRESS_TASK_ID: other } })).exitCode).toBe(0);
    await payloadsOf(task, 1);
    await payloadsOf(other, 1);
    const [a] = shared.receiver.requests.filter((r) => r.body?.taskId === task);
    const [b] = shared.receiver.requests.filter((r) => r.body?.taskId === other);
    expect(a!.method).toBe('POST');
    expect(a!.headers).toMatchObject({ authorization: 'Bearer tok-123', 'content-type': 'application/json', 'user-agent': `progress/${version}` });
    expect(a!.headers['idempotency-key']).toMatch(/\S{8,}/);
    expect(b!.headers.authorization).toBeUndefined();
    expect(b!.headers['idempotency-key']).not.toBe(a!.headers['idempotency-key']);
  });

  test.each([
    ['a/b', '/api/tasks/a%2Fb/progress'],
    ['../../x', '/api/tasks/%2E%2E%2F%2E%2E%2Fx/progress'],
    ['..', '/api/tasks/%2E%2E/progress'],
    ['zürich 日本?#%', `/api/tasks/${encodeURIComponent('zürich 日本?#%')}/progress`],
  ])('task id %j is one encoded path segment: %s', async (task, path) => {
    const box = shared.track(sandbox({ endpoint: shared.receiver.endpoint, task }));
    expect((await box.run(['stage', 'x'])).exitCode).toBe(0);
    await payloadsOf(task, 1);
    expect(shared.receiver.requests.filter((r) => r.body?.taskId === task).map((r) => r.url)).toEqual([path]);
  });
});

describe('--help, --version and exit codes', () => {
  test('--version prints the package version on stdout', async () => {
    const pkg = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')));
    const box = shared.track(sandbox());
    for (const flag of ['--version', '-V']) expect(await box.run([flag])).toMatchObject({ exitCode: 0, stdout: pkg.version });
  });

  test.each(['update', 'stage', 'error', 'checkpoint', 'complete', 'discover', 'status', 'flush', 'reset', 'init'])(
    '%s --help shows usage and a real example, exit 0', async (command) => {
      const box = shared.track(sandbox());
      const r = await box.run([command, '--help']);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain(`Usage: progress ${command}`);
      expect(r.stdout).toMatch(new RegExp(`Examples:\\n(.*\\n)*\\s+\\$ .*progress ${command}\\b`));
    },
  );

  test('exit codes of SPEC §6: 0 ok, 2 usage, 3 config, 4 delivery incomplete, 5 refused', async () => {
    const { box, task } = fresh({ PROGRESS_ATTEMPTS: '1', PROGRESS_API_ENDPOINT: undefined });
    const oneLine = (r: { stderr: string }) => expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect((await box.run(['update', '--items', 'a=1'])).exitCode).toBe(0);
    const usage = await box.run(['update', '--items', 'a']);
    expect(usage.exitCode).toBe(2);
    oneLine(usage);
    const config = await box.run(['update'], { env: { PROGRESS_TASK_ID: undefined } });
    expect(config.exitCode).toBe(3);
    oneLine(config);
    shared.receiver.setFaults((req) => (req.body?.taskId === task ? { kind: 'status', status: 503 } : { kind: 'ok' }));
    const incomplete = await box.run(['flush', '--timeout', '5', '--endpoint', shared.receiver.endpoint]);
    expect(incomplete.exitCode).toBe(4);
    oneLine(incomplete);
    const completeDown = await box.run(['complete', '--timeout', '1', '--endpoint', shared.receiver.endpoint]);
    expect(completeDown.exitCode).toBe(4);
    oneLine(completeDown);
    expect(await statusJson(box)).toMatchObject({ pending: { events: 2 }, lastDeliveryError: { message: expect.stringMatching(/503/) } });
    // a task the API refuses (400): the event command that waited for it says so
    const refusedTask = `${task}-refused`;
    shared.receiver.setFaults((req) => (req.body?.taskId === refusedTask ? { kind: 'status', status: 400 } : { kind: 'ok' }));
    const refused = await box.run(['stage', 'x', '--endpoint', shared.receiver.endpoint], { env: { PROGRESS_TASK_ID: refusedTask } });
    expect(refused.exitCode).toBe(5);
    oneLine(refused);
    const refusedEnv = { env: { PROGRESS_TASK_ID: refusedTask } };
    expect(JSON.parse((await box.run(['status', '--json'], refusedEnv)).stdout).deadLetters).toEqual({ count: 1, lastReason: expect.stringMatching(/400/) });
    // once the API accepts it, flush --retry-dead delivers the dead letter under its old idempotency key
    shared.receiver.setFaults(() => ({ kind: 'ok' }));
    const key = shared.receiver.requests.find((q) => q.body?.taskId === refusedTask)!.headers['idempotency-key'];
    expect((await box.run(['flush', '--retry-dead', '--endpoint', shared.receiver.endpoint], refusedEnv)).exitCode).toBe(0);
    expect(shared.receiver.requests.filter((q) => q.body?.taskId === refusedTask).map((q) => [q.headers['idempotency-key'], q.outcome])).toEqual([[key, 'status'], [key, 'ok']]);
    expect(JSON.parse((await box.run(['status', '--json'], refusedEnv)).stdout).deadLetters.count).toBe(0);
  });
});
