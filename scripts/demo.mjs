// `npm run demo`: progress serve on a free port, then examples/crawl.sh under `progress wrap` — a crash, then a resume from its checkpoint.
// Keeps serving until Ctrl-C; `npm run demo -- --once` (or DEMO_ONCE=1) exits after the crawl. DEMO_PORT picks the port.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const bin = join(root, 'bin', 'progress.js');
const once = process.argv.includes('--once') || process.env.DEMO_ONCE === '1';
const port = process.env.DEMO_PORT ?? '0';
const task = 'demo-crawl';
const failAt = '104'; // the first run crashes at this project; the second resumes after the last checkpoint
const say = (line) => process.stdout.write(`demo: ${line}\n`);

if (!existsSync(join(root, 'dist', 'progress.cjs'))) {
  process.stderr.write('demo: dist/progress.cjs is missing; run "npm run build" first\n');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'progress-demo-'));
// A clean environment of our own: the demo never touches the user's progress state or task.
const env = { ...process.env, PROGRESS_STATE_DIR: join(work, 'state'), PROGRESS_TASK_ID: task, NO_COLOR: process.env.NO_COLOR };
for (const k of ['PROGRESS_API_TOKEN', 'PROGRESS_API_TOKEN_FILE', 'PROGRESS_SERVE_TOKEN']) delete env[k];

const server = spawn(process.execPath, [bin, 'serve', '--port', port, '--data', join(work, 'serve.db'), '--quiet'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
const serverExit = new Promise((done) => server.on('exit', (code, signal) => done(code ?? signal)));
const url = await new Promise((done, fail) => {
  let out = '';
  server.stdout.on('data', (chunk) => {
    out += chunk;
    if (out.includes('\n')) done(out.split('\n')[0].trim());
  });
  serverExit.then((code) => fail(new Error(`progress serve exited (${code}) before listening`)));
}).catch((error) => {
  process.stderr.write(`demo: ${error.message}\n`);
  rmSync(work, { recursive: true, force: true });
  process.exit(3);
});

async function shutdown(code) {
  server.kill('SIGTERM');
  await serverExit;
  rmSync(work, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

say(`dashboard: ${url}#task=${task}   (open it now; it updates live)`);
say(`crawlers report to PROGRESS_API_ENDPOINT=${url}api/tasks`);

/** Runs examples/crawl.sh under `progress wrap`; resolves with wrap's exit code. */
function crawl(extraEnv) {
  const child = spawn(
    process.execPath,
    [bin, 'wrap', '--stage', 'crawl', '--operation', 'data_collection', '--heartbeat', '5', '--quiet', '--', 'bash', join(root, 'examples', 'crawl.sh')],
    {
      cwd: root,
      env: { ...env, PROGRESS_API_ENDPOINT: `${url}api/tasks`, PROGRESS_BIN: `${process.execPath} ${bin}`, CRAWL_WORKERS: '3', CRAWL_BATCH: '2', ...extraEnv },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  return new Promise((done) => child.on('exit', (code, signal) => done(code ?? 128)));
}

say(`run 1: 3 parallel workers; project ${failAt} will fail (archived project 106 reports a non-fatal error on the way)`);
const first = await crawl({ CRAWL_FAIL_AT: failAt });
say(`run 1 ended with exit ${first}: wrap reported the error with the crawler's stderr tail`);
say('run 2: resumes after the last checkpoint (progress checkpoint --show)');
const second = await crawl({});
say(`run 2 ended with exit ${second}${second === 0 ? ': crawl complete' : ''}`);

if (once) {
  const res = await fetch(`${url}api/tasks/${task}`);
  const detail = await res.json();
  say(`server: status ${detail.status}, totals ${JSON.stringify(detail.totals)}, ${detail.errors} error event(s), ${detail.areas} areas`);
  await shutdown(first !== 0 && second === 0 && detail.status === 'completed' ? 0 : 1);
} else {
  say(`still serving ${url} — Ctrl-C stops`);
}
