#!/usr/bin/env node
// `npm run bench`: the fast-path table of issue 5, measured against `node -e 0` and curl in the same run.
// Usage: node scripts/bench.mjs [--json] [--runs N]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const asJson = args.includes('--json');
const runs = Number(args[args.indexOf('--runs') + 1]) || 25;
const BIN = resolve(import.meta.dirname, '../bin/progress.js');
const NODE = process.execPath;

if (!existsSync(resolve(import.meta.dirname, '../dist/progress.cjs'))) {
  console.error('bench: dist/ is missing; run "npm run build" first');
  process.exit(2);
}

/** A receiver on 127.0.0.1: answers 200, or never answers when hanging. */
async function startReceiver({ hang = false } = {}) {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    req.resume();
    if (!hang) req.on('end', () => res.end('{"ok":true}'));
  });
  server.keepAliveTimeout = 5000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const sockets = new Set();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    endpoint: `http://127.0.0.1:${server.address().port}/api/tasks`,
    get requests() {
      return requests;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

/** Runs a command to its exit; resolves with wall milliseconds. */
function timeRun(cmd, argv, env) {
  return new Promise((resolveRun, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${cmd} ${argv.join(' ')} exited ${code}: ${err.trim()}`));
      else resolveRun(performance.now() - t0);
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Alternates baseline and subject runs so drift of the machine hits both alike; returns medians. */
async function compare(subject, baseline, n = runs, parallel = 1) {
  const a = [];
  const b = [];
  for (let i = 0; i < n; i++) {
    b.push((await Promise.all(Array.from({ length: parallel }, () => baseline()))).reduce((x, y) => Math.max(x, y)));
    a.push((await Promise.all(Array.from({ length: parallel }, () => subject()))).reduce((x, y) => Math.max(x, y)));
  }
  return { subject: median(a), baseline: median(b) };
}

/** The caller's environment without PROGRESS_* settings: baseline and subject start alike (NODE_OPTIONS, CA bundles...). */
const callerEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PROGRESS_')));

function sandboxEnv(endpoint, extra = {}) {
  const stateDir = mkdtempSync(join(tmpdir(), 'progress-bench-'));
  const env = { ...callerEnv, PROGRESS_STATE_DIR: stateDir, PROGRESS_TASK_ID: 'bench', ...extra };
  if (endpoint) env.PROGRESS_API_ENDPOINT = endpoint;
  return { env, stateDir };
}

const rows = [];
function row(measure, value, baseline, target, unit = 'ms', note = '') {
  const ratio = baseline ? value / baseline : undefined;
  rows.push({ measure, value: Number(value.toFixed(1)), baseline: baseline === undefined ? null : Number(baseline.toFixed(1)), ratio: ratio === undefined ? null : Number(ratio.toFixed(2)), target, unit, note });
}

const nodeBaseline = () => timeRun(NODE, ['-e', '0'], callerEnv);
const sandboxes = [];

try {
  // 1. update with the API up.
  const up = await startReceiver();
  const s1 = sandboxEnv(up.endpoint);
  sandboxes.push(s1);
  await timeRun(NODE, [BIN, 'update', '--items', 'issues=1'], s1.env); // warm: state created, flusher running
  let r = await compare(() => timeRun(NODE, [BIN, 'update', '--items', 'issues=1'], s1.env), nodeBaseline);
  row('update --items issues=1 (API up)', r.subject, r.baseline, '≤ 1.3×');

  // 2. the same while the API hangs.
  const hang = await startReceiver({ hang: true });
  const s2 = sandboxEnv(hang.endpoint);
  sandboxes.push(s2);
  await timeRun(NODE, [BIN, 'update', '--items', 'issues=1'], s2.env);
  r = await compare(() => timeRun(NODE, [BIN, 'update', '--items', 'issues=1'], s2.env), nodeBaseline);
  row('update while the API hangs', r.subject, r.baseline, '≤ 1.3×');

  // 3. 8 callers at once (wall time of the slowest of 8, against 8 `node -e 0` at once).
  r = await compare(() => timeRun(NODE, [BIN, 'update', '--items', 'issues=1'], s1.env), nodeBaseline, Math.max(8, runs >> 1), 8);
  row('update, 8 callers at once (per batch)', r.subject, r.baseline, '≤ 2× node ×8');

  // 4. status --json and checkpoint --show.
  await timeRun(NODE, [BIN, 'checkpoint', '7'], s1.env);
  r = await compare(() => timeRun(NODE, [BIN, 'status', '--json'], s1.env), nodeBaseline);
  row('status --json', r.subject, r.baseline, '≤ 1.3×');
  r = await compare(() => timeRun(NODE, [BIN, 'checkpoint', '--show'], s1.env), nodeBaseline);
  row('checkpoint --show', r.subject, r.baseline, '≤ 1.3×');

  // 5. wrap -- true, API up, until exit.
  const wrapHelp = spawnSync(NODE, [BIN, 'wrap', '--', 'true'], { env: s1.env });
  if (wrapHelp.status === 0) {
    r = await compare(() => timeRun(NODE, [BIN, 'wrap', '--', 'true'], s1.env), nodeBaseline, Math.max(5, runs >> 2));
    row('wrap -- true (API up)', r.subject, r.baseline, '≤ 2.5×');
  } else row('wrap -- true (API up)', NaN, undefined, '≤ 2.5×', 'ms', 'wrap not available');

  // 6. peak RSS of one update.
  if (existsSync('/usr/bin/time')) {
    const t = spawnSync('/usr/bin/time', ['-f', '%M', NODE, BIN, 'update', '--items', 'issues=1'], { env: s1.env, encoding: 'utf8' });
    const kb = Number(t.stderr.trim().split('\n').pop());
    const base = spawnSync('/usr/bin/time', ['-f', '%M', NODE, '-e', '0'], { encoding: 'utf8' });
    row('peak RSS of one update', kb / 1024, Number(base.stderr.trim().split('\n').pop()) / 1024, '≤ 60 MB', 'MB');
  }

  // 7. in-band lines per second inside wrap.
  if (wrapHelp.status === 0) {
    const n = 100_000;
    const s7 = sandboxEnv(up.endpoint);
    sandboxes.push(s7);
    const script = `for ((i=0;i<${n};i++)); do echo "update --items issues=1"; done >&"$PROGRESS_FD"`;
    const before = up.requests;
    const ms = await timeRun(NODE, [BIN, 'wrap', '--heartbeat', '0', '--', 'bash', '-c', script], s7.env);
    row(`in-band PROGRESS_FD lines/s (${n} lines, wrap total)`, n / (ms / 1000), undefined, '≥ 50,000', 'lines/s', `${up.requests - before} requests`);
  }

  // 8. HTTP requests for 1,000 back-to-back updates.
  const s8 = sandboxEnv(up.endpoint);
  sandboxes.push(s8);
  const before8 = up.requests;
  const t8 = performance.now();
  for (let i = 0; i < 1000; i++) await timeRun(NODE, [BIN, 'update', '--items', 'issues=1'], s8.env);
  await timeRun(NODE, [BIN, 'flush'], s8.env);
  const elapsed = (performance.now() - t8) / 1000;
  const requests8 = up.requests - before8;
  row('HTTP requests for 1,000 back-to-back updates', requests8, undefined, `≤ ${Math.floor(elapsed / 1 + 5)} (elapsed ${elapsed.toFixed(1)} s / 1 s + 5)`, 'requests');

  // 9. curl POST of the same payload: the floor for one delivery.
  const curl = spawnSync('curl', ['--version']);
  if (curl.status === 0) {
    const body = JSON.stringify({ type: 'progress', taskId: 'bench', timestamp: new Date().toISOString(), itemsByType: { issues: 1 } });
    const times = [];
    for (let i = 0; i < runs; i++) {
      times.push(await timeRun('curl', ['-s', '-o', '/dev/null', '-X', 'POST', '-H', 'content-type: application/json', '-d', body, `${up.endpoint}/bench/progress`], callerEnv));
    }
    const nb = [];
    for (let i = 0; i < 5; i++) nb.push(await nodeBaseline());
    row('curl POST of one payload (floor, for comparison)', median(times), median(nb), 'printed only');
  }
  await up.close();
  await hang.close();
} finally {
  for (const s of sandboxes) rmSync(s.stateDir, { recursive: true, force: true });
}

if (asJson) {
  console.log(JSON.stringify({ node: process.version, runs, rows }, null, 2));
} else {
  console.log(`progress bench — node ${process.version}, ${runs} runs per row, medians; baseline = node -e 0 in the same run`);
  const w = Math.max(...rows.map((x) => x.measure.length));
  console.log(`${'measure'.padEnd(w)}  ${'value'.padStart(12)}  ${'baseline'.padStart(9)}  ${'ratio'.padStart(6)}  target`);
  for (const x of rows) {
    const v = Number.isNaN(x.value) ? 'n/a' : `${x.value} ${x.unit}`;
    console.log(`${x.measure.padEnd(w)}  ${v.padStart(12)}  ${(x.baseline === null ? '' : `${x.baseline}`).padStart(9)}  ${(x.ratio === null ? '' : `${x.ratio}×`).padStart(6)}  ${x.target}${x.note ? `  (${x.note})` : ''}`);
  }
}
