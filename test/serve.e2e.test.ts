// `progress serve` end to end: the built CLI reports to the built receiver; validation, token, idempotency, restarts, SSE, shutdown.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { runCli, sandbox, type Sandbox } from './support/cli.js';
import { lossyProxy, serveDir, startServe, type ServeProcess } from './support/serve.js';

let servers: ServeProcess[] = [];
let boxes: Sandbox[] = [];
let dirs: { cleanup(): void }[] = [];
afterEach(async () => {
  for (const b of boxes) b.cleanup();
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  for (const d of dirs) d.cleanup();
  servers = [];
  boxes = [];
  dirs = [];
});

async function serve(options: { args?: string[]; env?: Record<string, string>; port?: number; dataPath?: string } = {}): Promise<ServeProcess> {
  let dataPath = options.dataPath;
  if (!dataPath) {
    const d = serveDir();
    dirs.push(d);
    dataPath = join(d.dir, 'serve.db');
  }
  const s = await startServe({ dataPath, port: options.port, args: options.args, env: options.env });
  servers.push(s);
  return s;
}

function box(s: ServeProcess, task: string, env: Record<string, string> = {}): Sandbox {
  const b = sandbox({ endpoint: s.endpoint, task, env: { PROGRESS_MIN_INTERVAL: '0.1', ...env } });
  boxes.push(b);
  return b;
}

const segment = (id: string) => encodeURIComponent(id).replace(/\./g, '%2E');

async function post(s: ServeProcess, task: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(`${s.endpoint}/${segment(task)}/progress`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

async function detail(s: ServeProcess, task: string): Promise<any> {
  const res = await fetch(`${s.url}api/tasks/${segment(task)}`);
  return res.status === 200 ? res.json() : undefined;
}

async function waitFor<T>(probe: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined as T);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('CLI events arrive and accumulate: totals, scalars, timeline with error context, deduplicated areas, completion', async () => {
  const s = await serve();
  const task = 'crawl/../weird.id <b>';
  const b = box(s, task);
  expect((await b.run(['stage', 'discovery', '--operation', 'discovery'])).exitCode).toBe(0);
  const areas = ['{"type":"group","id":7,"name":"g","full_path":"g","web_url":"https://gitlab.example/g"}', '{"type":"project","id":8,"name":"p","full_path":"g/p"}'];
  expect((await b.run(['discover'], { input: `${areas.join('\n')}\n` })).exitCode).toBe(0);
  expect((await b.run(['discover'], { input: `${areas[0]}\n` })).exitCode).toBe(0);
  expect((await b.run(['update', '--items', 'issues=10', '--items', 'mrs=2', '--total', '100', '--processed', '12', '--last-id', '42'])).exitCode).toBe(0);
  expect((await b.run(['update', '--items', 'issues=5', '--processed', '17', '--stage', 'issues'])).exitCode).toBe(0);
  expect((await b.run(['error', 'rate limited', '--type', 'HttpError', '--context', '{"status":429,"tail":["line 1","line 2"]}'])).exitCode).toBe(0);
  expect((await b.run(['checkpoint', '99'])).exitCode).toBe(0);
  expect((await b.run(['complete', '--summary', 'all done', '--timeout', '20'])).exitCode).toBe(0);

  const d = await waitFor(() => detail(s, task), (v) => v?.status === 'completed', 'completion');
  expect(d).toMatchObject({
    id: task,
    status: 'completed',
    stage: 'completed',
    processedItems: 17,
    totalItems: 100,
    lastProcessedId: '99',
    totals: { issues: 15, mrs: 2, groups: 2, projects: 1 },
    errors: 1,
    areas: 2,
  });
  expect(d.discoveredAreas.map((a: any) => `${a.type}:${a.gitlabId}`)).toEqual(['group:7', 'project:8']);
  const kinds = d.timeline.map((e: any) => e.event);
  expect(kinds).toEqual(['stage_change', 'error', 'completion']);
  expect(d.timeline[1].details).toMatchObject({ errorType: 'HttpError', errorMessage: 'rate limited', context: { status: 429, tail: ['line 1', 'line 2'] } });
  expect(d.timeline[2].details).toMatchObject({ summary: 'all done', finalCounts: { issues: 15, mrs: 2 } });
  expect(d.progressUpdates).toBe(2);
  expect(d.series.at(-1).totals).toMatchObject({ issues: 15, mrs: 2 });
  const list = (await (await fetch(`${s.url}api/tasks`)).json()) as { tasks: any[] };
  expect(list.tasks).toHaveLength(1);
  expect(list.tasks[0]).toMatchObject({ id: task, status: 'completed', items: 20 });
  // One request-log line per request on stderr.
  expect(s.stderr()).toMatch(/ POST \/api\/tasks\/crawl%2F%2E%2E%2Fweird%2Eid%20%3Cb%3E\/progress 200 [\d.]+ms applied/);
});

test('a payload after completion starts a new run: totals and timer are per run, the timeline is kept', async () => {
  const s = await serve();
  const b = box(s, 'runs');
  await b.run(['update', '--items', 'issues=3']);
  await b.run(['complete', '--timeout', '20']);
  await b.run(['update', '--items', 'issues=1']);
  expect((await b.run(['flush', '--timeout', '20'])).exitCode).toBe(0);
  const d = await waitFor(() => detail(s, 'runs'), (v) => v?.run === 2, 'second run');
  expect(d).toMatchObject({ status: 'running', totals: { issues: 1 } });
  expect(d.timeline.map((e: any) => e.event)).toEqual(['completion']);
});

describe('validation', () => {
  test.each([
    ['not JSON', '{nope', 400, /not valid JSON/],
    ['an array', '[]', 400, /JSON object/],
    ['a wrong type', { type: 'progress', processedItems: '3' }, 400, /processedItems/],
    ['a negative count', { itemsByType: { issues: -1 } }, 400, /itemsByType\.issues/],
    ['a fractional count', { itemsByType: { issues: 1.5 } }, 400, /itemsByType\.issues/],
    ['an unknown type', { type: 'bogus' }, 400, /"type"/],
    ['a bad timestamp', { timestamp: 'yesterday' }, 400, /timestamp/],
    ['another task id', { taskId: 'other' }, 400, /does not match/],
    ['a bad area', { areas: [{ type: 'repo', gitlabId: '1' }] }, 400, /areas\[0\]\.type/],
    ['a bad timeline entry', { timeline: [{ details: {} }] }, 400, /timeline\[0\]\.event/],
  ])('%s is refused with a JSON error', async (_name, body, status, message) => {
    const s = await serve();
    const r = await post(s, 't', body);
    expect(r.status).toBe(status);
    expect(r.json.error).toMatch(message);
    expect(await detail(s, 't')).toBeUndefined();
  });

  test('oversize bodies get 413, other content types 415, other methods 405, unknown paths 404', async () => {
    const s = await serve();
    const big = JSON.stringify({ message: 'x'.repeat(9 * 1024 * 1024) });
    expect((await post(s, 't', big)).status).toBe(413);
    const plain = await fetch(`${s.endpoint}/t/progress`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(plain.status).toBe(415);
    expect((await fetch(`${s.endpoint}/t/progress`)).status).toBe(405);
    expect((await fetch(`${s.url}nope`)).status).toBe(404);
    expect((await fetch(`${s.url}api/tasks/none`)).status).toBe(404);
    expect((await fetch(`${s.url}healthz`)).status).toBe(200);
  });
});

test('with a token, POSTs without it or with a wrong one get 401; the CLI with the token is applied', async () => {
  const s = await serve({ env: { PROGRESS_SERVE_TOKEN: 's3cret-token' } });
  expect((await post(s, 't', { itemsByType: { a: 1 } })).status).toBe(401);
  expect((await post(s, 't', { itemsByType: { a: 1 } }, { authorization: 'Bearer wrong' })).status).toBe(401);
  expect((await post(s, 't', { itemsByType: { a: 1 } }, { authorization: 'Bearer s3cret-token-longer' })).status).toBe(401);
  const b = box(s, 't', { PROGRESS_API_TOKEN: 's3cret-token' });
  expect((await b.run(['update', '--items', 'a=2'])).exitCode).toBe(0);
  expect((await b.run(['flush', '--timeout', '20'])).exitCode).toBe(0);
  expect((await detail(s, 't')).totals).toEqual({ a: 2 });
});

test('each Idempotency-Key is applied once, also after a restart; a reused key with another body is 422', async () => {
  const d = serveDir();
  dirs.push(d);
  const dataPath = join(d.dir, 'serve.db');
  let s = await serve({ dataPath });
  const body = (i: number) => ({ type: 'progress', taskId: 't', timestamp: new Date(1_700_000_000_000 + i * 1000).toISOString(), itemsByType: { issues: i } });
  for (let i = 1; i <= 5; i++) expect((await post(s, 't', body(i), { 'idempotency-key': `k${i}` })).json.duplicate).toBe(false);
  expect((await post(s, 't', body(1), { 'idempotency-key': 'k1' })).json).toMatchObject({ ok: true, duplicate: true });
  expect((await post(s, 't', body(2), { 'idempotency-key': 'k1' })).status).toBe(422);
  // The same key on another task is another event.
  expect((await post(s, 'u', { ...body(1), taskId: 'u' }, { 'idempotency-key': 'k1' })).json.duplicate).toBe(false);
  expect(await s.stop('SIGTERM')).toBe(0);

  s = await serve({ dataPath });
  for (let i = 1; i <= 5; i++) {
    const r = await post(s, 't', body(i), { 'idempotency-key': `k${i}` });
    expect(r).toMatchObject({ status: 200, json: { duplicate: true } });
  }
  expect((await post(s, 't', body(6), { 'idempotency-key': 'k6' })).json.duplicate).toBe(false);
  expect((await detail(s, 't')).totals).toEqual({ issues: 21 });
  expect((await detail(s, 't')).events).toBe(6);
});

test('killing serve mid-crawl and starting it again loses and doubles nothing (parallel CLI workers, lost answers)', async () => {
  const d = serveDir();
  dirs.push(d);
  const dataPath = join(d.dir, 'serve.db');
  let s = await serve({ dataPath });
  const port = s.port;
  const proxy = await lossyProxy(port, 3);
  dirs.push({ cleanup: proxy.close });
  const b = sandbox({ endpoint: `http://127.0.0.1:${proxy.port}/api/tasks`, task: 'restart', env: { PROGRESS_MIN_INTERVAL: '0.05', PROGRESS_MAX_WAIT: '0.5' } });
  boxes.push(b);
  const WORKERS = 4;
  const PER_WORKER = 12;
  let finished = 0;
  const worker = async (w: number) => {
    for (let i = 0; i < PER_WORKER; i++) {
      const r = await b.run(['update', '--items', 'issues=1', '--items', `w${w}=2`, '--last-id', `${w}-${i}`]);
      expect(r.exitCode).toBe(0);
    }
    finished++;
  };
  const crawl = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  // Kill the receiver hard once it has applied something, while the workers keep going.
  await waitFor(() => detail(s, 'restart'), (v) => (v?.items ?? 0) > 0, 'first applied update');
  expect(await s.stop('SIGKILL')).toBe('SIGKILL');
  expect(finished).toBe(0); // really mid-crawl
  const first = s;
  s = await serve({ dataPath, port });
  await crawl;
  expect((await b.run(['complete', '--timeout', '30'])).exitCode).toBe(0);
  const t = await waitFor(() => detail(s, 'restart'), (v) => v?.status === 'completed', 'completion');
  const expected: Record<string, number> = { issues: WORKERS * PER_WORKER };
  for (let w = 0; w < WORKERS; w++) expected[`w${w}`] = 2 * PER_WORKER;
  expect(t.totals).toEqual(expected);
  expect(t.timeline.at(-1).details.finalCounts).toEqual(expected);
  // Answers were lost, so the client sent some payloads again: serve recognised them by their keys.
  expect(proxy.dropped()).toBe(3);
  expect(first.stderr() + s.stderr()).toMatch(/ 200 [\d.]+ms duplicate/);
});

test('the event stream pushes each applied change', async () => {
  const s = await serve();
  const controller = new AbortController();
  const res = await fetch(`${s.url}api/events`, { signal: controller.signal });
  expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
  const reader = res.body!.getReader();
  let text = '';
  const received = (async () => {
    while (!/event: task\ndata: .*"totals":\{"issues":7\}/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  })();
  await post(s, 'sse', { itemsByType: { issues: 7 }, stage: 'crawl' }, { 'idempotency-key': 'a' });
  await received;
  const data = JSON.parse(/event: task\ndata: (.*)\n/.exec(text)![1]!);
  expect(data).toMatchObject({ id: 'sse', stage: 'crawl', totals: { issues: 7 }, status: 'running' });
  controller.abort();
});

test('SIGTERM finishes the request in flight, closes the database and exits 0', async () => {
  const s = await serve();
  const { request } = await import('node:http');
  const body = JSON.stringify({ itemsByType: { issues: 3 } });
  const inFlight = new Promise<number>((resolve, reject) => {
    const req = request(`${s.endpoint}/slow/progress`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.write(body.slice(0, 5));
    // The rest of the body follows only after serve got SIGTERM.
    setTimeout(() => {
      s.proc.kill('SIGTERM');
      setTimeout(() => req.end(body.slice(5)), 300);
    }, 300);
  });
  expect(await inFlight).toBe(200);
  expect(await s.stop()).toBe(0);
  expect(s.stderr()).toMatch(/SIGTERM: finishing requests in flight/);
  // A cleanly closed WAL database leaves no -wal file behind.
  expect(existsSync(`${s.dataPath}-wal`)).toBe(false);
  const again = await serve({ dataPath: s.dataPath });
  expect((await detail(again, 'slow')).totals).toEqual({ issues: 3 });
});

test('a port in use is exit 3 with one clear line; --quiet silences the request log', async () => {
  const s = await serve({ args: ['--quiet'] });
  await fetch(`${s.url}healthz`);
  const d = serveDir();
  dirs.push(d);
  const r = await runCli(['serve', '--port', String(s.port), '--data', join(d.dir, 'x.db')]);
  expect(r.exitCode).toBe(3);
  expect(r.stderr.trim()).toBe(`progress: error: 127.0.0.1:${s.port} is already in use; stop what uses it or choose another with --port (0 picks a free one)`);
  expect(s.stderr()).toBe('');
  expect((await runCli(['serve', '--port', '70000'])).exitCode).toBe(2);
});

test('requests addressed to a foreign Host name are refused on a loopback bind (DNS rebinding)', async () => {
  const s = await serve();
  const { request } = await import('node:http');
  const status = await new Promise<number>((resolve, reject) => {
    request(`${s.url}api/tasks`, { headers: { host: 'attacker.example' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
  expect(status).toBe(403);
});

test('a 10 KB task id, which the client accepts, is accepted too; a longer one than the cap is refused', async () => {
  const s = await serve();
  const task = `long-${'x'.repeat(10 * 1024)}`;
  const b = box(s, task);
  expect((await b.run(['update', '--items', 'issues=2'])).exitCode).toBe(0);
  expect((await b.run(['flush'])).exitCode).toBe(0);
  expect((await waitFor(() => detail(s, task), (d) => d?.totals?.issues === 2, 'the long task')).totals).toEqual({ issues: 2 });
  // Past the cap: refused with a 4xx (Node's own header limit answers 431 before our 400 can).
  const res = await fetch(`${s.endpoint}/${'y'.repeat(16 * 1024 + 1)}/progress`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"progress"}' });
  expect([400, 431]).toContain(res.status);
});
