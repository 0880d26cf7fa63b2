// Issue 6, black-box: hostile task ids, planted symlinks, oversized and control-character input.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BIN, useCleanups, type Sandbox } from './support/cli.js';
import { startReceiver, type Receiver } from './support/receiver.js';

const { cleanups, box } = useCleanups();
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'progress-sec-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}
async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  cleanups.push(() => r.close());
  return r;
}
function files(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}
/** The request path a task id must arrive under, computed independently of the product: one encoded segment, dots too. */
const expectedPath = (id: string) => `/api/tasks/${encodeURIComponent(id).replace(/\./g, '%2E')}/progress`;
const tokenFileName = (task: string) => createHash('sha256').update(task).digest('hex').slice(0, 40);

describe('task ids never become paths', () => {
  const ids = ['../../x', 'a/b', 'a%2Fb', '.', '..', '%2e%2e', '..%2f..%2fetc', 'a\\..\\b', 'x'.repeat(10 * 1024), 'ünï/cødé ✓ 日本 🚀', 'a b?c#d&e=f', '-dash'];

  test('each id is its own task, URL-encoded as one segment, and nothing escapes the state dir', async () => {
    const api = await receiver();
    const parent = tempDir();
    const stateDir = join(parent, 'state');
    const b = box({ endpoint: api.endpoint, env: { PROGRESS_STATE_DIR: stateDir } });
    for (const [i, id] of ids.entries()) {
      const r = await b.run([`--task=${id}`, 'update', '--items', `n=${i + 1}`, '--no-timeline']);
      expect(r.exitCode, `${id.slice(0, 20)}: ${r.stderr}`).toBe(0);
    }
    await api.waitFor(() => ids.every((id) => api.payloads(id).length > 0), 20_000, 'one delivery per task id');
    for (const [i, id] of ids.entries()) {
      const requests = api.requests.filter((q) => q.body?.taskId === id);
      expect(requests.length).toBeGreaterThan(0);
      for (const q of requests) {
        expect(q.url).toBe(expectedPath(id));
        expect(q.url.split('/')).toHaveLength(5);
        expect(decodeURIComponent(q.url.split('/')[3]!)).toBe(id);
      }
      expect(api.totals(id)).toEqual({ n: i + 1 });
      const status = JSON.parse((await b.run([`--task=${id}`, 'status', '--json'])).stdout);
      expect(status.totals).toEqual({ n: i + 1 });
    }
    expect(readdirSync(parent)).toEqual(['state']);
    expect(files(stateDir).filter((f) => !/^state\.db(-wal|-shm)?$/.test(f))).toEqual([]);
  });

  test('init with hostile ids keeps them as keys of config.json and hashed token files', async () => {
    const parent = tempDir();
    const stateDir = join(parent, 'state');
    const b = box({ env: { PROGRESS_STATE_DIR: stateDir } });
    for (const id of ['../../x', '..', 'a/b']) {
      const r = await b.run(['init', '--endpoint', 'http://127.0.0.1:9/api', '--task', id, '--token-stdin'], { input: 'tok-123456' });
      expect(r.exitCode, r.stderr).toBe(0);
    }
    expect(readdirSync(parent)).toEqual(['state']);
    expect(files(stateDir).sort()).toEqual(['config.json', ...['../../x', '..', 'a/b'].map((id) => `tokens/${tokenFileName(id)}`)].sort());
    expect(Object.keys(JSON.parse(readFileSync(join(stateDir, 'config.json'), 'utf8')).tasks).sort()).toEqual(['..', '../../x', 'a/b']);
  });
});

describe('symlinks planted in the state dir are not followed for writing', () => {
  function plant(stateDir: string, name: string, target: string): void {
    mkdirSync(join(stateDir, name, '..'), { recursive: true, mode: 0o700 });
    symlinkSync(target, join(stateDir, name));
  }

  test.each(['state.db', 'state.db-wal', 'state.db-shm'])('%s → another file: exit 3, target untouched', async (name) => {
    const b = box();
    const victim = join(tempDir(), 'victim');
    writeFileSync(victim, 'precious');
    plant(b.stateDir, name, victim);
    const r = await b.run(['update', '--items', 'a=1']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/symbolic link/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
  });

  test('config.json → another file: init refuses, target untouched', async () => {
    const b = box();
    const victim = join(tempDir(), 'victim.json');
    writeFileSync(victim, '{"precious":true}');
    plant(b.stateDir, 'config.json', victim);
    const r = await b.run(['init', '--endpoint', 'http://127.0.0.1:9/api', '--task', 't']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/config\.json: it is a symbolic link/);
    expect(readFileSync(victim, 'utf8')).toBe('{"precious":true}');
  });

  test('tokens/ → another directory: init --token-stdin refuses, nothing written there', async () => {
    const b = box();
    const elsewhere = tempDir();
    plant(b.stateDir, 'tokens', elsewhere);
    const r = await b.run(['init', '--endpoint', 'http://127.0.0.1:9/api', '--task', 't', '--token-stdin'], { input: 'tok-123456' });
    expect(r.exitCode).toBe(3);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  test('the token file → another file: refused for reading and for init, target untouched', async () => {
    const b = box({ task: 't' });
    const victim = join(tempDir(), 'victim');
    writeFileSync(victim, 'precious');
    plant(b.stateDir, `tokens/${tokenFileName('t')}`, victim);
    for (const args of [['status'], ['init', '--endpoint', 'http://127.0.0.1:9/api', '--task', 't', '--token-stdin']]) {
      const r = await b.run(args, { input: 'tok-123456' });
      expect(r.exitCode, args[0]).toBe(3);
      expect(r.stderr).toMatch(/refusing to follow symlink/);
      expect(r.stderr).not.toContain('precious');
    }
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(lstatSync(join(b.stateDir, 'tokens', tokenFileName('t'))).isSymbolicLink()).toBe(true);
  });
});

describe('caps and control characters', () => {
  const long = 'm'.repeat(10_000);
  test('message, error, summary are capped at 4096 characters; control characters arrive as valid JSON', async () => {
    const api = await receiver();
    const b = box({ task: 'caps', endpoint: api.endpoint });
    const control = `a${Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join('')}\u007f\u2028\u2029"\\ \u001b[31mred 🚀 é`;
    expect((await b.run(['stage', 's', '--message', long])).exitCode).toBe(0);
    expect((await b.run(['error', long, '--context', JSON.stringify({ c: control })])).exitCode).toBe(0);
    expect((await b.run(['stage', 't', '--message', control])).exitCode).toBe(0);
    expect((await b.run(['complete', '--summary', long])).exitCode).toBe(0);
    await api.waitFor(() => api.applied.size === 4, 15_000, 'four payloads');
    expect(api.requests.every((q) => q.body !== undefined)).toBe(true);
    const [stage, error, controlStage, complete] = api.payloads('caps');
    for (const text of [stage.message, error.error, error.message, complete.message, complete.timeline[0].details.summary]) {
      expect(text.length).toBeLessThanOrEqual(4096);
      expect(text.endsWith('…[truncated]')).toBe(true);
    }
    expect(error.timeline[0].details.context).toEqual({ c: control });
    expect(controlStage.message).toBe(control);
  });

  test.each([
    ['error', ['error', 'm', '--context'], /--context is too large/],
    ['checkpoint', ['checkpoint', '1', '--data'], /--data is too large/],
  ])('%s JSON over 16 KB: exit 2, nothing recorded', async (_name, args, pattern) => {
    const b = box();
    const r = await b.run([...args, JSON.stringify({ x: 'y'.repeat(16 * 1024) })]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(pattern);
    expect(readdirSync(b.stateDir)).toEqual([]);
  });

  test('100 MB of discover input (a file, and a pipe): exit 2 quickly, bounded memory, nothing recorded', async () => {
    const b = box();
    const big = join(tempDir(), 'big.jsonl');
    writeFileSync(big, '');
    truncateSync(big, 100 * 1024 * 1024);
    const fromFile = await b.run(['discover', big]);
    expect(fromFile.exitCode).toBe(2);
    expect(fromFile.stderr).toMatch(/larger than 32 MB/);
    expect(fromFile.ms).toBeLessThan(10_000);
    const line = JSON.stringify({ type: 'group', id: 1, name: 'g' });
    const piped = await execa('sh', ['-c', `yes '${line}' | head -c 100000000 | /usr/bin/time -f 'rss=%M' node "$0" discover`, BIN], {
      env: b.env,
      extendEnv: false,
      reject: false,
      timeout: 30_000,
    });
    expect(piped.exitCode).toBe(2);
    expect(piped.stderr).toMatch(/standard input is larger than 32 MB/);
    const rssKb = Number(/rss=(\d+)/.exec(piped.stderr)?.[1]);
    expect(rssKb).toBeGreaterThan(0);
    expect(rssKb).toBeLessThan(300 * 1024);
    expect(readdirSync(b.stateDir)).toEqual([]);
  });
});
