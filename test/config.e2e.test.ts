// Black-box: configuration of SPEC §2 — precedence, init and its 0600/0700 files, token sources, XDG default, config errors.
import { execa } from 'execa';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { BIN, sandbox, type CliResult, type Sandbox } from './support/cli.js';
import { startReceiver, type Receiver } from './support/receiver.js';

let receiver: Receiver;
let box: Sandbox | undefined;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => receiver.close());
afterEach(() => {
  box?.cleanup();
  box = undefined;
});

/** A sandbox without task or endpoint in the environment; the state dir is `stateDir` (a subdir, created by the CLI). */
function bare(env: Record<string, string | undefined> = {}): Sandbox {
  box = sandbox({ env: { PROGRESS_TASK_ID: undefined, ...env } });
  return box;
}

/** Runs the CLI under `umask 000`, so only the CLI's own modes protect its files. */
async function runUmask000(b: Sandbox, args: string[], env: Record<string, string | undefined>, input?: string): Promise<CliResult> {
  const r = await execa('sh', ['-c', 'umask 000 && exec node "$@"', 'sh', BIN, ...args], {
    env: { ...b.env, ...env }, extendEnv: false, reject: false, ...(input !== undefined ? { input } : { stdin: 'ignore' }),
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), ms: 0 };
}

const mode = (path: string) => statSync(path).mode & 0o777;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? [p, ...walk(p)] : [p];
  });
}

async function statusJson(b: Sandbox, env: Record<string, string | undefined> = {}, args: string[] = []): Promise<any> {
  const r = await b.run(['status', '--json', ...args], { env });
  expect(r).toMatchObject({ exitCode: 0, stderr: '' });
  return JSON.parse(r.stdout);
}

describe('precedence: flag > environment > state file', () => {
  test('task and endpoint each come from the strongest source, and requests go there', async () => {
    const b = bare();
    expect((await b.run(['init', '--endpoint', `${receiver.url}/state`, '--task', 'from-state'])).exitCode).toBe(0);
    const env = { PROGRESS_TASK_ID: 'from-env', PROGRESS_API_ENDPOINT: `${receiver.url}/env` };
    expect(await statusJson(b)).toMatchObject({ task: 'from-state', endpoint: `${receiver.url}/state`, endpointSource: 'state' });
    expect(await statusJson(b, env)).toMatchObject({ task: 'from-env', endpoint: `${receiver.url}/env`, endpointSource: 'env' });
    expect(await statusJson(b, env, ['--task', 'from-flag', '--endpoint', `${receiver.url}/flag`])).toMatchObject({
      task: 'from-flag', endpoint: `${receiver.url}/flag`, endpointSource: 'flag',
    });
    // the stored endpoint belongs to the task it was stored for
    expect(await statusJson(b, { PROGRESS_TASK_ID: 'other' })).toMatchObject({ task: 'other', endpoint: null });

    expect((await b.run(['stage', 's'])).exitCode).toBe(0);
    expect((await b.run(['stage', 's'], { env })).exitCode).toBe(0);
    expect((await b.run(['--task', 'from-flag', 'stage', 's', '--endpoint', `${receiver.url}/flag`], { env })).exitCode).toBe(0);
    await receiver.waitFor(() => receiver.requests.length >= 3, 10_000, 'three requests');
    expect(receiver.requests.map((r) => r.url).sort()).toEqual(['/env/from-env/progress', '/flag/from-flag/progress', '/state/from-state/progress']);
  });
});

test('--state-dir wins over PROGRESS_STATE_DIR; an endpoint keeps its path prefix and loses a trailing slash', async () => {
  const b = bare({ PROGRESS_TASK_ID: 'sd', PROGRESS_API_ENDPOINT: `${receiver.url}/v1/tasks/` });
  const flagDir = join(b.stateDir, 'from-flag');
  expect(await statusJson(b, {}, ['--state-dir', flagDir])).toMatchObject({ stateDir: flagDir, endpoint: `${receiver.url}/v1/tasks` });
  expect((await b.run(['--state-dir', flagDir, 'stage', 'x'])).exitCode).toBe(0);
  expect(existsSync(join(flagDir, 'state.db'))).toBe(true);
  expect(existsSync(join(b.stateDir, 'state.db'))).toBe(false);
  await receiver.waitFor(() => receiver.payloads('sd').length === 1, 10_000, 'the stage');
  expect(receiver.requests.find((q) => q.body?.taskId === 'sd')!.url).toBe('/v1/tasks/sd/progress');
});

describe('init', () => {
  test('--token-stdin stores config.json and the token 0600 in a 0700 dir, even under umask 000', async () => {
    const b = bare();
    const stateDir = join(b.stateDir, 'nested', 'state');
    const env = { PROGRESS_STATE_DIR: stateDir };
    const token = 'tok-init-5e1f';
    const r = await runUmask000(b, ['init', '--endpoint', receiver.endpoint, '--task', 'job_1', '--token-stdin'], env, `${token}\n`);
    expect(r.exitCode).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(token);
    expect(await runUmask000(b, ['update', '--items', 'issues=2'], env)).toMatchObject({ exitCode: 0, stderr: '' });
    await receiver.waitFor(() => receiver.payloads('job_1').length === 1, 10_000, 'the update');
    expect(receiver.requests.find((q) => q.body?.taskId === 'job_1')!.headers.authorization).toBe(`Bearer ${token}`);

    expect(mode(stateDir)).toBe(0o700);
    const config = JSON.parse(readFileSync(join(stateDir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ currentTask: 'job_1', tasks: { job_1: { endpoint: receiver.endpoint } } });
    expect(JSON.stringify(config)).not.toContain(token);
    const entries = walk(stateDir);
    const tokenFiles = entries.filter((p) => statSync(p).isFile() && readFileSync(p, 'utf8').includes(token));
    expect(tokenFiles.map((p) => relative(stateDir, p))).toEqual([expect.stringMatching(/^tokens\/[0-9a-f]+$/)]);
    expect(entries.map((p) => relative(stateDir, p))).toEqual(expect.arrayContaining(['config.json', 'state.db']));
    for (const p of entries) expect([relative(stateDir, p), mode(p)]).toEqual([relative(stateDir, p), statSync(p).isDirectory() ? 0o700 : 0o600]);
    expect(await statusJson(b, env)).toMatchObject({ task: 'job_1', token: { set: true, source: 'state' } });
  });

  test('init refuses a token over plain http to a non-loopback host and writes nothing', async () => {
    const b = bare();
    const r = await b.run(['init', '--endpoint', 'http://10.255.255.1/api', '--task', 'j', '--token-stdin'], { input: 'tok\n' });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/http/);
    expect(existsSync(join(b.stateDir, 'config.json'))).toBe(false);
    expect(existsSync(join(b.stateDir, 'tokens'))).toBe(false);
  });
});

describe('token sources', () => {
  test('PROGRESS_API_TOKEN_FILE is read; PROGRESS_API_TOKEN wins over it; a missing file is exit 3', async () => {
    const b = bare({ PROGRESS_API_ENDPOINT: receiver.endpoint });
    const file = join(b.stateDir, 'token.txt');
    writeFileSync(file, 'tok-from-file\n', { mode: 0o600 });
    expect((await b.run(['stage', 'a', '--task', 'tf-1'], { env: { PROGRESS_API_TOKEN_FILE: file } })).exitCode).toBe(0);
    expect((await b.run(['stage', 'a', '--task', 'tf-2'], { env: { PROGRESS_API_TOKEN_FILE: file, PROGRESS_API_TOKEN: 'tok-env' } })).exitCode).toBe(0);
    await receiver.waitFor(() => receiver.payloads('tf-1').length + receiver.payloads('tf-2').length === 2, 10_000, 'two stages');
    const auth = (task: string) => receiver.requests.find((q) => q.body?.taskId === task)!.headers.authorization;
    expect([auth('tf-1'), auth('tf-2')]).toEqual(['Bearer tok-from-file', 'Bearer tok-env']);
    expect(await statusJson(b, { PROGRESS_API_TOKEN_FILE: file }, ['--task', 'x'])).toMatchObject({ token: { set: true, source: 'env-file' } });

    const missing = await b.run(['update', '--task', 'tf-3'], { env: { PROGRESS_API_TOKEN_FILE: join(b.stateDir, 'nope') } });
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr.trim().split('\n')).toEqual([expect.stringContaining('PROGRESS_API_TOKEN_FILE')]);
  });
});

describe('default state directory', () => {
  test('$XDG_STATE_HOME/progress, else ~/.local/state/progress (a relative XDG_STATE_HOME is ignored), created 0700', async () => {
    const b = bare({ PROGRESS_STATE_DIR: undefined, PROGRESS_TASK_ID: 't' });
    const xdg = join(b.stateDir, 'xdg');
    const home = join(b.stateDir, 'home');
    mkdirSync(home);
    expect((await b.run(['update'], { env: { XDG_STATE_HOME: xdg, HOME: home } })).exitCode).toBe(0);
    expect(mode(join(xdg, 'progress'))).toBe(0o700);
    expect(existsSync(join(xdg, 'progress', 'state.db'))).toBe(true);
    for (const XDG_STATE_HOME of [undefined, 'relative/dir']) {
      expect((await b.run(['update'], { env: { XDG_STATE_HOME, HOME: home } })).exitCode).toBe(0);
    }
    expect(mode(join(home, '.local', 'state', 'progress'))).toBe(0o700);
    expect((await statusJson(b, { XDG_STATE_HOME: undefined, HOME: home })).pending.events).toBe(2);
  });
});

describe('configuration errors: exit 3, one line, nothing recorded', () => {
  test.each([
    ['no task id', { PROGRESS_TASK_ID: undefined }, [], /no task id/],
    ['an endpoint that is not a URL (flag)', {}, ['--endpoint', 'not a url'], /not a URL/],
    ['an endpoint that is not http(s) (env)', { PROGRESS_API_ENDPOINT: 'ftp://example.com/x' }, [], /http/],
    ['an endpoint with a query', { PROGRESS_API_ENDPOINT: 'https://example.com/x?a=1' }, [], /query/],
    ['an endpoint with credentials', { PROGRESS_API_ENDPOINT: 'https://u:p4ss@example.com/x' }, [], /credentials/],
    ['a token over plain http to a non-loopback host', { PROGRESS_API_ENDPOINT: 'http://10.255.255.1/api', PROGRESS_API_TOKEN: 't' }, [], /PROGRESS_ALLOW_INSECURE_HTTP/],
    ['a malformed tuning variable', { PROGRESS_MAX_WAIT: 'soon' }, [], /PROGRESS_MAX_WAIT/],
  ])('%s', async (_what, env, flags, message) => {
    // a dead local proxy: should the check ever fail, nothing could leave the machine
    const b = bare({ PROGRESS_TASK_ID: 'cfg', HTTP_PROXY: 'http://127.0.0.1:9', http_proxy: 'http://127.0.0.1:9' });
    for (const args of [['update', '--items', 'a=1'], ['stage', 'x'], ['complete']]) {
      const r = await b.run([...args, ...(flags as string[])], { env: env as Record<string, string | undefined> });
      expect(r.exitCode).toBe(3);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
      expect(r.stderr).not.toContain('p4ss');
    }
    expect(existsSync(join(b.stateDir, 'state.db'))).toBe(false);
  });

  test('a corrupt config.json is reported, not a crash', async () => {
    const b = bare({ PROGRESS_TASK_ID: 'cfg' });
    writeFileSync(join(b.stateDir, 'config.json'), '{"tasks": {', { mode: 0o600 });
    const r = await b.run(['update']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/config\.json is corrupt/)]);
  });

  test('a token may go over plain http to a non-loopback host only with PROGRESS_ALLOW_INSECURE_HTTP=1', async () => {
    // 0.0.0.0 is not a loopback name, yet connecting to it stays on this machine
    const endpoint = `http://0.0.0.0:${receiver.port}/api/tasks`;
    const b = bare({ PROGRESS_TASK_ID: 'insecure', PROGRESS_API_ENDPOINT: endpoint, PROGRESS_API_TOKEN: 'tok-i' });
    expect((await b.run(['stage', 'x'])).exitCode).toBe(3);
    expect((await statusJson(b)).run.startedAt).toBeNull();
    expect((await b.run(['stage', 'x'], { env: { PROGRESS_ALLOW_INSECURE_HTTP: '1' } })).exitCode).toBe(0);
    await receiver.waitFor(() => receiver.payloads('insecure').length === 1, 10_000, 'the stage');
    // without a token, plain http anywhere is fine
    expect((await b.run(['stage', 'y'], { env: { PROGRESS_API_TOKEN: undefined } })).exitCode).toBe(0);
  });
});

describe('no endpoint', () => {
  test('events are recorded with a notice (exit 0); flush needs an endpoint; after init, flush delivers them', async () => {
    const b = bare({ PROGRESS_TASK_ID: 'later' });
    const r = await b.run(['update', '--items', 'issues=3']);
    expect(r).toMatchObject({ exitCode: 0, stdout: '' });
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/no endpoint/)]);
    expect(await b.run(['stage', 'two', '--quiet'])).toMatchObject({ exitCode: 0, stderr: '' });
    expect((await b.run(['complete'])).exitCode).toBe(0);
    const noEndpoint = await b.run(['flush']);
    expect(noEndpoint.exitCode).toBe(3);
    expect(noEndpoint.stderr).toMatch(/endpoint/);
    expect((await statusJson(b)).pending.events).toBe(3);
    expect((await b.run(['init', '--endpoint', receiver.endpoint, '--task', 'later'])).exitCode).toBe(0);
    expect((await b.run(['flush'])).exitCode).toBe(0);
    expect(receiver.payloads('later').map((p) => p.itemsByType ?? p.stage)).toEqual([{ issues: 3 }, 'two', 'completed']);
    expect((await statusJson(b)).pending.events).toBe(0);
  });
});

test('no task id becomes a path: odd ids stay inside the state directory', async () => {
  const b = bare();
  const stateDir = join(b.stateDir, 'a', 'state');
  for (const task of ['../../x', '..', '/etc/evil', 'a/b', '.', 'tokens', 'config.json']) {
    const env = { PROGRESS_STATE_DIR: stateDir };
    expect((await b.run(['init', '--endpoint', receiver.endpoint, '--task', task, '--token-stdin', '--quiet'], { env, input: 'tok\n' })).exitCode).toBe(0);
    expect((await b.run(['checkpoint', '7', '--task', task], { env })).exitCode).toBe(0);
  }
  expect(readdirSync(b.stateDir)).toEqual(['a']);
  expect(readdirSync(join(b.stateDir, 'a'))).toEqual(['state']);
  expect(readdirSync(stateDir).sort()).toEqual(expect.arrayContaining(['config.json', 'state.db', 'tokens']));
  expect(readdirSync(join(stateDir, 'tokens')).every((f) => /^[0-9a-f]{40}$/.test(f))).toBe(true);
});
