// npm run stress: issue 3's scenarios 1-3 at scale (many workers vs a failing server, a long outage, kill -9
// rounds) against a loopback receiver; one line per scenario; exit 1 if anything was lost or doubled.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin/progress.js');
const SCALE = Number(process.env.STRESS_SCALE ?? 1);
const WORKERS = 16;
const UPDATES = Math.round(600 * SCALE);
const OUTAGE_UPDATES = Math.round(500 * SCALE);
const CRASH_ROUNDS = Math.round(200 * SCALE);
/** The whole run is bounded: past this, it reports a failure and exits. */
const HARD_LIMIT_MS = Number(process.env.STRESS_LIMIT_S ?? 900) * 1000;

if (!existsSync(join(ROOT, 'dist/progress.cjs'))) {
  process.stderr.write('stress: dist/progress.cjs is missing; run "npm run build" first\n');
  process.exit(2);
}

/** mulberry32: seeded, so a run can be replayed. */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A loopback receiver like test/support/receiver.ts: applies each Idempotency-Key once, injects faults, can go down. */
async function startReceiver(fault = () => 'ok') {
  const state = { requests: 0, applied: new Map(), bodies: new Map(), conflicts: 0, repeats: 0 };
  const sockets = new Set();
  let server;
  let port = 0;
  const apply = (key, raw) => {
    const seen = state.bodies.get(key);
    if (seen !== undefined && seen !== raw) state.conflicts++;
    state.bodies.set(key, raw);
    if (state.applied.has(key)) state.repeats++;
    else state.applied.set(key, JSON.parse(raw));
  };
  const handle = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      state.requests++;
      const raw = Buffer.concat(chunks).toString('utf8');
      const key = String(req.headers['idempotency-key']);
      const kind = fault();
      if (kind === 'ok') apply(key, raw);
      if (kind === 'ok' || kind === '503') res.writeHead(kind === 'ok' ? 200 : 503, { 'content-type': 'application/json' }).end('{}');
      else if (kind === 'reset') req.socket.destroy();
      else if (kind === 'apply-then-reset') {
        apply(key, raw);
        req.socket.destroy();
      }
    });
  };
  const start = async () => {
    server = createServer(handle);
    server.keepAliveTimeout = 1000;
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise((ok, fail) => server.once('error', fail).listen(port, '127.0.0.1', ok));
    port = server.address().port;
  };
  const stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((ok) => server.close(ok));
  };
  await start();
  const total = () => [...state.applied.values()].reduce((n, p) => n + (p?.itemsByType?.issues ?? 0), 0);
  return { state, start, stop, total, endpoint: `http://127.0.0.1:${port}/api/tasks` };
}

const children = new Set();
/** The first few unexpected command failures, printed at the end. */
const failures = [];
/** Runs the built CLI; resolves with its exit code (null when killed) and the child, for kill -9. */
function cli(args, env) {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const done = new Promise((ok) => child.on('close', (code, signal) => ok({ code, signal, stdout, stderr })));
  done.then(() => children.delete(child));
  return { child, done };
}

function sandbox(task, endpoint, extra = {}) {
  const stateDir = mkdtempSync(join(tmpdir(), 'progress-stress-'));
  const env = { ...process.env, NO_COLOR: '1', PROGRESS_STATE_DIR: stateDir, PROGRESS_TASK_ID: task, PROGRESS_API_ENDPOINT: endpoint, ...extra };
  for (const k of Object.keys(env)) if (/_proxy$/i.test(k) || k === 'PROGRESS_API_TOKEN' || k === 'PROGRESS_API_TOKEN_FILE') delete env[k];
  const run = async (args, more = {}) => {
    const r = await cli(args, { ...env, ...more }).done;
    if (r.code !== 0 && failures.length < 5) failures.push(`progress ${args.join(' ')} → exit ${r.code ?? r.signal}: ${r.stderr.trim()}`);
    return r.code;
  };
  const status = async () => JSON.parse((await cli(['status', '--json'], env).done).stdout);
  return { stateDir, env, run, status, cleanup: () => rmSync(stateDir, { recursive: true, force: true }) };
}

async function pool(count, parallel, job) {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) await job(i);
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

async function until(predicate, timeoutMs) {
  const end = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > end) return false;
    await sleep(100);
  }
  return true;
}

/** One result line; the run fails when anything was lost or counted twice. */
const results = [];
function report(name, { accepted, local, delivered, conflicts, ms, requests, note = '' }) {
  const duplicates = Math.max(0, delivered - local) + conflicts;
  const lost = Math.max(0, local - delivered) + Math.max(0, accepted - local);
  results.push({ name, lost, duplicates });
  const line = `${name.padEnd(9)} accepted=${accepted} local=${local} delivered=${delivered} duplicates=${duplicates} lost=${lost} time=${(ms / 1000).toFixed(1)}s requests=${requests}${note ? ` ${note}` : ''}`;
  process.stdout.write(`${line}\n`);
}

async function manyWorkers() {
  const random = seeded(1);
  const kinds = ['503', 'reset', 'apply-then-reset'];
  const rx = await startReceiver(() => (random() < 0.3 ? kinds[Math.floor(random() * 3)] : 'ok'));
  const box = sandbox('stress-workers', rx.endpoint, { PROGRESS_MIN_INTERVAL: '0.1' });
  const started = Date.now();
  let accepted = 0;
  await pool(UPDATES, WORKERS, async () => {
    if ((await box.run(['update', '--items', 'issues=1'])) === 0) accepted++;
  });
  await until(async () => rx.total() >= accepted && (await box.status()).pending.payloads === 0, 60_000);
  const local = (await box.status()).totals.issues ?? 0;
  report('workers', { accepted, local, delivered: rx.total(), conflicts: rx.state.conflicts, ms: Date.now() - started, requests: rx.state.requests, note: `(${UPDATES} updates, ${WORKERS} workers, 30% faults)` });
  box.cleanup();
  await rx.stop();
}

async function outage() {
  const rx = await startReceiver();
  const box = sandbox('stress-outage', rx.endpoint, { PROGRESS_MAX_WAIT: '1' });
  await rx.stop();
  const started = Date.now();
  let accepted = 0;
  let slowest = 0;
  await pool(OUTAGE_UPDATES, WORKERS, async () => {
    const t = Date.now();
    if ((await box.run(['update', '--items', 'issues=1'])) === 0) accepted++;
    slowest = Math.max(slowest, Date.now() - t);
  });
  const during = await box.status();
  await rx.start();
  const back = Date.now();
  await until(() => rx.total() >= accepted, 30_000);
  const arrivedMs = Date.now() - back;
  const local = (await box.status()).totals.issues ?? 0;
  report('outage', {
    accepted,
    local,
    delivered: rx.total(),
    conflicts: rx.state.conflicts,
    ms: Date.now() - started,
    requests: rx.state.requests,
    note: `(${OUTAGE_UPDATES} updates while down; slowest command ${slowest} ms; outbox ${during.pending.payloads} payload(s); all arrived ${(arrivedMs / 1000).toFixed(1)} s after the API returned, no command run)`,
  });
  box.cleanup();
  await rx.stop();
}

function leaseHolder(stateDir, task) {
  try {
    const db = new Database(join(stateDir, 'state.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT flusher_pid FROM tasks WHERE task = ?').get(task)?.flusher_pid ?? null;
    } finally {
      db.close();
    }
  } catch {
    return null;
  }
}

async function crash() {
  const random = seeded(3);
  const faults = seeded(4);
  const rx = await startReceiver(() => {
    const x = faults();
    return x < 0.15 ? 'apply-then-reset' : x < 0.25 ? '503' : 'ok';
  });
  const box = sandbox('stress-crash', rx.endpoint, { PROGRESS_MIN_INTERVAL: '0.05', PROGRESS_MAX_WAIT: '1' });
  const started = Date.now();
  let accepted = 0;
  const kills = { update: 0, flusher: 0, flush: 0 };
  let statusFailures = 0;
  for (let round = 0; round < CRASH_ROUNDS; round++) {
    const kind = ['update', 'flusher', 'flush'][Math.floor(random() * 3)];
    if (kind === 'update') {
      const { child, done } = cli(['update', '--items', 'issues=1'], box.env);
      await sleep(40 + random() * 160);
      child.kill('SIGKILL');
      if ((await done).code === 0) accepted++;
      else kills.update++;
    } else {
      if ((await box.run(['update', '--items', 'issues=1'])) === 0) accepted++;
      if (kind === 'flusher') {
        await sleep(random() * 150);
        const pid = leaseHolder(box.stateDir, 'stress-crash');
        if (pid > 0) {
          try {
            process.kill(pid, 'SIGKILL');
            kills.flusher++;
          } catch {
            // it had just finished
          }
        }
      } else {
        const { child, done } = cli(['flush', '--timeout', '5'], box.env);
        await sleep(40 + random() * 250);
        child.kill('SIGKILL');
        if ((await done).code === null) kills.flush++;
      }
    }
    if ((await cli(['status', '--json'], box.env).done).code !== 0) statusFailures++;
  }
  await box.run(['flush', '--timeout', '60'], { PROGRESS_ATTEMPTS: '20' });
  await until(async () => (await box.status()).pending.payloads === 0, 30_000);
  const local = (await box.status()).totals.issues ?? 0;
  report('crash', {
    accepted,
    local,
    delivered: rx.total(),
    conflicts: rx.state.conflicts,
    ms: Date.now() - started,
    requests: rx.state.requests,
    note: `(${CRASH_ROUNDS} rounds; kill -9 of update ${kills.update}, flusher ${kills.flusher}, flush ${kills.flush}; status failures ${statusFailures})`,
  });
  if (statusFailures > 0) results.push({ name: 'crash-status', lost: statusFailures, duplicates: 0 });
  box.cleanup();
  await rx.stop();
}

const guard = setTimeout(() => {
  process.stderr.write(`stress: gave up after ${HARD_LIMIT_MS / 1000} s\n`);
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
}, HARD_LIMIT_MS);
guard.unref();

const only = process.argv.slice(2);
for (const [name, scenario] of [['workers', manyWorkers], ['outage', outage], ['crash', crash]]) {
  if (only.length === 0 || only.includes(name)) await scenario();
}
for (const f of failures) process.stdout.write(`failure: ${f}\n`);
const bad = results.filter((r) => r.lost > 0 || r.duplicates > 0);
process.stdout.write(bad.length === 0 ? 'stress: 0 lost, 0 duplicated in every scenario\n' : `stress: FAILED in ${bad.map((r) => r.name).join(', ')}\n`);
process.exitCode = bad.length === 0 ? 0 : 1;
