// Tests of configuration: precedence flag > env > state file > default, token sources, endpoint and transport rules.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  assertTransportAllowed,
  defaultStateDir,
  isLoopbackHost,
  readStoredConfig,
  requireTask,
  resolveConfig,
  tokenPath,
  validateEndpoint,
} from '../../src/core/config.js';
import { ConfigError } from '../../src/core/errors.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'progress-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function state(stored: object, tokens: Record<string, string> = {}): string {
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, 'config.json'), JSON.stringify(stored));
  for (const [task, token] of Object.entries(tokens)) {
    mkdirSync(join(stateDir, 'tokens'), { recursive: true });
    writeFileSync(tokenPath(stateDir, task), `${token}\n`, { mode: 0o600 });
  }
  return stateDir;
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('precedence: flag > env > state file', () => {
  const stored = { currentTask: 'from-state', tasks: { 'from-state': { endpoint: 'https://state.example/a' }, 'from-env': { endpoint: 'https://state.example/env-task' } } };
  test.each([
    ['state only', {}, {}, 'from-state', 'state', 'https://state.example/a', 'state'],
    ['env wins over state', {}, { PROGRESS_TASK_ID: 'from-env', PROGRESS_API_ENDPOINT: 'https://env.example/' }, 'from-env', 'env', 'https://env.example', 'env'],
    ['env task takes its stored endpoint', {}, { PROGRESS_TASK_ID: 'from-env' }, 'from-env', 'env', 'https://state.example/env-task', 'state'],
    ['flag wins over env', { task: 'from-flag', endpoint: 'https://flag.example/x/' }, { PROGRESS_TASK_ID: 'from-env', PROGRESS_API_ENDPOINT: 'https://env.example' }, 'from-flag', 'flag', 'https://flag.example/x', 'flag'],
    ['empty env values are unset', {}, { PROGRESS_TASK_ID: '', PROGRESS_API_ENDPOINT: '' }, 'from-state', 'state', 'https://state.example/a', 'state'],
    ['a task with no stored endpoint has none', { task: 'other' }, {}, 'other', 'flag', undefined, 'none'],
  ])('%s', (_name, flags, env, task, taskSource, endpoint, endpointSource) => {
    const stateDir = state(stored);
    const c = resolveConfig({ ...flags, stateDir }, env);
    expect(c).toMatchObject({ task, taskSource, endpointSource, stateDir });
    expect(c.endpoint).toBe(endpoint);
  });
  test('state dir: flag > PROGRESS_STATE_DIR > XDG_STATE_HOME > HOME', () => {
    expect(resolveConfig({ stateDir: join(dir, 'f') }, { PROGRESS_STATE_DIR: join(dir, 'e') }).stateDir).toBe(join(dir, 'f'));
    expect(resolveConfig({}, { PROGRESS_STATE_DIR: join(dir, 'e') }).stateDir).toBe(join(dir, 'e'));
    expect(resolveConfig({}, { XDG_STATE_HOME: dir }).stateDir).toBe(join(dir, 'progress'));
    expect(resolveConfig({}, { HOME: dir }).stateDir).toBe(join(dir, '.local', 'state', 'progress'));
  });
  test.each([
    [{ XDG_STATE_HOME: '/x', HOME: '/h' }, '/x/progress'],
    [{ XDG_STATE_HOME: 'relative', HOME: '/h' }, '/h/.local/state/progress'],
    [{ XDG_STATE_HOME: '', HOME: '/h' }, '/h/.local/state/progress'],
  ])('defaultStateDir(%j) = %s', (env, want) => expect(defaultStateDir(env)).toBe(want));
  test('no task anywhere: requireTask explains how to set one', () => {
    const c = resolveConfig({ stateDir: join(dir, 'none') }, {});
    expect(c.task).toBeUndefined();
    expect(configError(() => requireTask(c))).toMatch(/--task ID.*PROGRESS_TASK_ID.*progress init/);
  });
  test('an empty --task is a configuration error', () => expect(configError(() => resolveConfig({ task: '', stateDir: dir }, {}))).toMatch(/task id is empty/));
  test('a task id with NUL (only possible from a hand-edited config.json) is a configuration error', () => {
    const stateDir = state({ currentTask: 'a\u0000b' });
    expect(configError(() => resolveConfig({ stateDir }, {}))).toMatch(/task id \(from state\) must not contain NUL/);
  });
});

describe('token sources', () => {
  test('PROGRESS_API_TOKEN > PROGRESS_API_TOKEN_FILE > state token file', () => {
    const stateDir = state({ currentTask: 't' }, { t: 'from-state-file' });
    const file = join(dir, 'tok');
    writeFileSync(file, ' from-env-file \nsecond line', { mode: 0o600 });
    expect(resolveConfig({ stateDir }, { PROGRESS_API_TOKEN: ' from-env ', PROGRESS_API_TOKEN_FILE: file })).toMatchObject({ token: 'from-env', tokenSource: 'env' });
    expect(resolveConfig({ stateDir }, { PROGRESS_API_TOKEN_FILE: file })).toMatchObject({ token: 'from-env-file', tokenSource: 'env-file' });
    expect(resolveConfig({ stateDir }, {})).toMatchObject({ token: 'from-state-file', tokenSource: 'state' });
    expect(resolveConfig({ stateDir, task: 'other' }, {})).toMatchObject({ token: undefined, tokenSource: 'none' });
  });
  test('a token file readable by others gives a warning that never holds the token', () => {
    const file = join(dir, 'tok');
    writeFileSync(file, 'sekrit-value\n');
    chmodSync(file, 0o644);
    const c = resolveConfig({ stateDir: dir }, { PROGRESS_API_TOKEN_FILE: file });
    expect(c.warnings).toEqual([expect.stringMatching(/readable by others.*chmod 600/)]);
    expect(c.warnings.join()).not.toContain('sekrit-value');
    chmodSync(file, 0o600);
    expect(resolveConfig({ stateDir: dir }, { PROGRESS_API_TOKEN_FILE: file }).warnings).toEqual([]);
  });
  test.each([
    ['missing', (f: string) => f, /cannot read token file .* ENOENT/],
    ['empty', (f: string) => (writeFileSync(f, '\n\n'), f), /is empty/],
    ['a directory', (f: string) => (mkdirSync(f), f), /cannot read token file/],
  ])('PROGRESS_API_TOKEN_FILE %s is a configuration error', (_name, make, pattern) => {
    const file = make(join(dir, 'tok'));
    expect(configError(() => resolveConfig({ stateDir: dir }, { PROGRESS_API_TOKEN_FILE: file }))).toMatch(pattern);
  });
  test('a symlink planted as the state token file is refused', () => {
    const stateDir = state({ currentTask: 't' });
    mkdirSync(join(stateDir, 'tokens'));
    writeFileSync(join(dir, 'elsewhere'), 'x-token\n');
    symlinkSync(join(dir, 'elsewhere'), tokenPath(stateDir, 't'));
    expect(configError(() => resolveConfig({ stateDir }, {}))).toMatch(/symlink/);
  });
  test('token files are named by a hash: no task id becomes a path', () => {
    for (const task of ['../../x', 'a/b', '.', '..', '%2e%2e', 'ü'.repeat(5000)]) {
      const p = tokenPath('/s', task);
      expect(p).toMatch(/^\/s\/tokens\/[0-9a-f]{40}$/);
    }
    expect(tokenPath('/s', 'a/b')).not.toBe(tokenPath('/s', 'a%2Fb'));
  });
});

describe('state file', () => {
  test.each([['not JSON', '{'], ['an array', '[]'], ['a string', '"x"'], ['null', 'null']])('%s is a configuration error', (_name, text) => {
    mkdirSync(join(dir, 's'));
    writeFileSync(join(dir, 's', 'config.json'), text);
    expect(configError(() => readStoredConfig(join(dir, 's')))).toMatch(/config.json is corrupt/);
  });
  test('missing is empty', () => expect(readStoredConfig(join(dir, 'nope'))).toEqual({}));
});

describe('endpoint', () => {
  test.each([
    ['https://api.example.com/tasks/', 'https://api.example.com/tasks'],
    ['http://127.0.0.1:8787', 'http://127.0.0.1:8787'],
    ['HTTPS://API.EXAMPLE.COM/T', 'https://api.example.com/T'],
  ])('%s → %s', (raw, want) => expect(validateEndpoint(raw, 'flag')).toBe(want));
  test.each([
    ['not a url', /is not a URL/],
    ['ftp://x/y', /must be http/],
    ['file:///etc/passwd', /must be http/],
    ['https://user:pw@x/y', /must not contain credentials/],
    ['https://x/y?a=1', /query or fragment/],
    ['https://x/y#f', /query or fragment/],
  ])('%s is refused', (raw, pattern) => expect(configError(() => validateEndpoint(raw, 'env'))).toMatch(pattern));
  test('credentials in a refused endpoint are not echoed', () => {
    expect(configError(() => validateEndpoint('https://user:hunter22@x/y', 'env'))).not.toContain('hunter22');
  });
});

describe('transport rule', () => {
  test.each([
    ['localhost', true],
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['[::1]', true],
    ['LOCALHOST', true],
    ['localhost.example.com', false],
    ['127.0.0.1.nip.io', false],
    ['10.0.0.1', false],
    ['example.com', false],
  ])('%s is loopback: %s', (host, want) => expect(isLoopbackHost(host)).toBe(want));
  test.each([
    ['http://example.com/x', 'tok', false, true],
    ['http://192.0.2.1:8080/x', 'tok', false, true],
    ['http://example.com/x', 'tok', true, false],
    ['http://example.com/x', undefined, false, false],
    ['https://example.com/x', 'tok', false, false],
    ['http://127.0.0.1:9/x', 'tok', false, false],
    ['http://[::1]:9/x', 'tok', false, false],
  ])('%s token=%s insecure=%s refused: %s', (endpoint, token, allowInsecureHttp, refused) => {
    const run = () => assertTransportAllowed({ endpoint, token, allowInsecureHttp });
    if (refused) expect(configError(run)).toMatch(/refusing to send the API token over plain http.*PROGRESS_ALLOW_INSECURE_HTTP=1/);
    else expect(run).not.toThrow();
  });
  test('PROGRESS_ALLOW_INSECURE_HTTP accepts 1/true/yes only', () => {
    for (const [value, on] of [['1', true], ['true', true], ['YES', true], ['0', false], ['', false], ['no', false]] as const) {
      expect(resolveConfig({ stateDir: dir }, { PROGRESS_ALLOW_INSECURE_HTTP: value }).allowInsecureHttp).toBe(on);
    }
  });
});

describe('tuning', () => {
  test('defaults', () => {
    expect(resolveConfig({ stateDir: dir }, {}).tuning).toEqual({ requestTimeoutMs: 10_000, attempts: 3, minIntervalMs: 1000, maxWaitMs: 2000 });
  });
  test.each([
    ['PROGRESS_REQUEST_TIMEOUT', 'abc'],
    ['PROGRESS_REQUEST_TIMEOUT', '0'],
    ['PROGRESS_ATTEMPTS', '1.5'],
    ['PROGRESS_ATTEMPTS', '0'],
    ['PROGRESS_MAX_WAIT', '-1'],
    ['PROGRESS_MIN_INTERVAL', '1e9'],
  ])('%s=%s is a configuration error naming the variable', (name, value) => {
    expect(configError(() => resolveConfig({ stateDir: dir }, { [name]: value }))).toContain(name);
  });
});
