// Command layer: main(argv, {env, stdin, stdout, stderr}) in-process on temp state dirs, no endpoint (nothing leaves the process).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { main } from '../src/cli/main.js';
import { Store } from '../src/core/store.js';

let dir: string;
let env: Record<string, string | undefined>;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'progress-inproc-'));
  env = { PROGRESS_STATE_DIR: join(dir, 'state'), PROGRESS_TASK_ID: 'inproc', HOME: dir, NO_COLOR: '1', PATH: process.env.PATH };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], options: { input?: string; env?: Record<string, string | undefined>; stdout?: NodeJS.WritableStream } = {}): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const stdin = Readable.from(options.input === undefined ? [] : [Buffer.from(options.input)]);
  const code = await main(argv, { env: { ...env, ...options.env }, stdin, stdout: options.stdout ?? stdout, stderr });
  await new Promise((resolve) => setImmediate(resolve));
  return { code, stdout: out, stderr: err };
}

/** The task's queued payloads, oldest first, read straight from the outbox. */
function outbox(task = 'inproc'): any[] {
  const store = Store.open(env.PROGRESS_STATE_DIR!);
  try {
    return (store.db.prepare('SELECT body FROM outbox WHERE task = ? ORDER BY id').all(task) as { body: string }[]).map((r) => JSON.parse(r.body));
  } finally {
    store.close();
  }
}

async function status(): Promise<any> {
  const r = await run(['status', '--json']);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(r.stdout);
}

describe('event commands record locally without an endpoint', () => {
  test('update: exit 0 with one notice; --quiet silences it; consecutive updates coalesce in the outbox', async () => {
    const first = await run(['update', '--items', 'issues=2', '--last-id', '9']);
    expect(first).toMatchObject({ code: 0, stdout: '' });
    expect(first.stderr).toMatch(/^progress: recorded locally; no endpoint is set.*\n$/);
    expect(await run(['update', '--items', 'issues=3', '--items', 'mrs=1', '--quiet'])).toEqual({ code: 0, stdout: '', stderr: '' });
    const queued = outbox();
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ itemsByType: { issues: 5, mrs: 1 }, lastProcessedId: '9' });
    expect(queued[0].timeline.map((t: any) => t.details.itemsByType)).toEqual([{ issues: 2 }, { issues: 3, mrs: 1 }]);
    expect(await status()).toMatchObject({ totals: { issues: 5, mrs: 1 }, pending: { events: 2, payloads: 1 } });
  });

  test('stage, error, checkpoint and complete queue in order; fromStage follows the stages on disk', async () => {
    for (const argv of [['stage', 'discovery'], ['update', '--items', 'a=1'], ['error', 'oops'], ['stage', 'collect'], ['checkpoint', '77'], ['complete', '--summary', 'ok']]) {
      expect((await run([...argv, '-q'])).code).toBe(0);
    }
    const q = outbox();
    expect(q.map((p) => p.timeline?.[0]?.event ?? p.message)).toEqual(['stage_change', 'progress_update', 'error', 'stage_change', 'Checkpoint saved at 77', 'completion']);
    expect(q[0].timeline[0].details.fromStage).toBeUndefined();
    expect(q[3].timeline[0].details.fromStage).toBe('discovery');
    expect(q[5].timeline[0].details).toMatchObject({ finalCounts: { a: 1 }, summary: 'ok' });
    expect(await status()).toMatchObject({ stage: 'completed', lastCheckpoint: '77', run: { completed: true }, pending: { events: 6 } });
  });

  test('checkpoint --show: the id on stdout, nothing when none, and it never creates state', async () => {
    expect(await run(['checkpoint', '--show'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(existsSync(env.PROGRESS_STATE_DIR!)).toBe(false);
    expect((await run(['checkpoint', 'p-42', '-q'])).code).toBe(0);
    expect(await run(['checkpoint', '--show'])).toEqual({ code: 0, stdout: 'p-42\n', stderr: '' });
    expect(await run(['checkpoint', '--show'], { env: { PROGRESS_TASK_ID: 'other' } })).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  test('reset clears totals and stage, keeps the outbox; the next run starts from zero', async () => {
    await run(['stage', 'one', '-q']);
    await run(['update', '--items', 'x=4', '-q']);
    const r = await run(['reset']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/new run started.*2 pending/);
    expect(await status()).toMatchObject({ totals: {}, stage: null, pending: { events: 2 } });
    await run(['update', '--items', 'x=1', '-q']);
    expect((await status()).totals).toEqual({ x: 1 });
    expect(outbox()).toHaveLength(2);
  });

  test('discover reads stdin; a bad line is exit 2 with its number and nothing queued', async () => {
    const bad = await run(['discover'], { input: '{"type":"group","id":1,"name":"g"}\n{"type":"group"}\n' });
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toMatch(/^progress: error: line 2: missing "id"\n$/);
    expect(existsSync(join(env.PROGRESS_STATE_DIR!, 'state.db'))).toBe(false);
    const ok = await run(['discover', '-', '--discovered-by', 'me', '-q'], { input: '[{"type":"project","id":"p1","name":"api","web_url":"https://x/api"}]' });
    expect(ok.code).toBe(0);
    expect(outbox()[0]).toMatchObject({ status: 'new_areas_discovered', areas: [{ type: 'project', name: 'api', gitlabId: 'p1', webUrl: 'https://x/api', discoveredBy: 'me' }] });
  });

  test('complete appends a run summary to $GITHUB_STEP_SUMMARY when CI provides one', async () => {
    const summary = join(dir, 'summary.md');
    await run(['update', '--items', 'issues=12', '-q']);
    expect((await run(['complete', '-q'], { env: { GITHUB_STEP_SUMMARY: summary } })).code).toBe(0);
    expect(readFileSync(summary, 'utf8')).toMatch(/\| issues \| 12 \|/);
  });
});

describe('init and configuration', () => {
  test('init --token-stdin stores a 0600 token the next commands use, never echoing it', async () => {
    const r = await run(['init', '--endpoint', 'https://api.example.com/tasks/', '--task', 'job', '--token-stdin'], { input: 'tok-inproc\n', env: { PROGRESS_TASK_ID: undefined } });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('tok-inproc');
    const s = await run(['status', '--json'], { env: { PROGRESS_TASK_ID: undefined } });
    expect(JSON.parse(s.stdout)).toMatchObject({ task: 'job', endpoint: 'https://api.example.com/tasks', token: { set: true, source: 'state' } });
    expect(s.stdout).not.toContain('tok-inproc');
    expect(statSync(join(env.PROGRESS_STATE_DIR!, 'config.json')).mode & 0o777).toBe(0o600);
  });

  test.each([
    [['init', '--task', 'j'], 2, /--endpoint/],
    [['init', '--endpoint', 'https://x', '--task', 'j', '--token-stdin'], 2, /no token/],
    [['update'], 3, /no task id/],
    [['status'], 3, /no task id/],
    [['checkpoint', '--show'], 3, /no task id/],
  ])('%j → exit %i', async (argv, code, message) => {
    const r = await run(argv, { env: { PROGRESS_TASK_ID: undefined }, input: '' });
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(new RegExp(`^progress: error: .*${message.source}.*\\n$`));
  });

  test('a refused insecure endpoint never shows the token', async () => {
    const r = await run(['update'], { env: { PROGRESS_API_ENDPOINT: 'http://10.255.255.1/tok-visible', PROGRESS_API_TOKEN: 'tok-visible' } });
    expect(r.code).toBe(3);
    expect(r.stderr).not.toContain('tok-visible');
    expect(existsSync(join(env.PROGRESS_STATE_DIR!, 'state.db'))).toBe(false);
  });
});

describe('help, version, internal errors', () => {
  test('--help and --version go to stdout with exit 0; no arguments is a usage error', async () => {
    const help = await run(['--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/Usage: progress/);
    expect(help.stdout).toMatch(/Exit codes: 0 ok/);
    expect((await run(['update', '--help'])).stdout).toMatch(/\$ progress update --items/);
    expect((await run(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
    const none = await run([]);
    expect(none.code).toBe(2);
  });

  test('an internal error is exit 1 with one line saying it is a bug; the stack only with PROGRESS_DEBUG=1', async () => {
    const exploding = { write: () => { throw new Error('stdout exploded'); } } as unknown as NodeJS.WritableStream;
    const r = await run(['status', '--json'], { stdout: exploding });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('progress: error: internal error: stdout exploded (this is a bug; PROGRESS_DEBUG=1 shows the stack trace)\n');
    const debug = await run(['status', '--json'], { stdout: exploding, env: { PROGRESS_DEBUG: '1' } });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });
});
