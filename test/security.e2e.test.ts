// Issue 6, black-box: the token never leaves through argv, output, state or a careless transport; files stay private.
import { execa } from 'execa';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BIN, useCleanups, type CliResult, type Sandbox } from './support/cli.js';
import { startHttpsReceiver, type HttpsReceiver } from './support/https.js';
import { startProxy, type Proxy } from './support/proxy.js';
import { startReceiver, type Receiver } from './support/receiver.js';

const TOKEN = 'tok-e2e-Zq8xK3vP9w';
const { cleanups, box } = useCleanups();
async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  cleanups.push(() => r.close());
  return r;
}
const output = (r: CliResult) => `${r.stdout}\n${r.stderr}`;
const statusJson = async (b: Sandbox, env: Record<string, string | undefined> = {}) => JSON.parse((await b.run(['status', '--json'], { env })).stdout);
/** Every file under dir (relative paths), for "what is on disk" checks. */
function files(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}
const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe('the token is never taken from argv', () => {
  const commands = [['update'], ['stage', 's'], ['error', 'm'], ['checkpoint', '1'], ['complete'], ['discover'], ['status'], ['flush'], ['reset'], ['init', '--endpoint', 'http://127.0.0.1:9/t', '--task', 't']];
  test.each(commands.flatMap((c) => [[c, ['--token', TOKEN]], [c, [`--token=${TOKEN}`]], [['--token', TOKEN, ...c], []]]))('%j %j: exit 2, value not echoed, nothing stored', async (cmd, extra) => {
    const b = box();
    const r = await b.run([...cmd, ...extra], { input: '' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown option '?--token/);
    expect(output(r)).not.toContain(TOKEN);
    expect(files(b.stateDir)).toEqual([]);
  });

  test('no help text offers a --token option or shows the token', async () => {
    const env = { PROGRESS_API_TOKEN: TOKEN };
    for (const args of [['--help'], ['help'], ...['update', 'stage', 'error', 'checkpoint', 'complete', 'discover', 'status', 'flush', 'reset', 'init'].map((c) => [c, '--help'])]) {
      const r = await box().run(args, { env });
      expect(r.exitCode, args.join(' ')).toBe(0);
      expect(output(r)).not.toMatch(/--token(?!-stdin)\b/);
      expect(output(r)).not.toContain(TOKEN);
    }
  });
});

describe('the token is never printed or stored outside its own file', () => {
  test.each(['env', 'env-file', 'state-file'])('token from %s: errors, refusals, status, PROGRESS_DEBUG=1 and dead letters', async (source) => {
    const api = await receiver();
    const echo = (status: number) => (req: { headers: Record<string, unknown> }) => ({ kind: 'status' as const, status, body: `{"detail":"rejected ${String(req.headers.authorization)}"}` });
    const b = box({ task: 'sec', env: { PROGRESS_DEBUG: '1', PROGRESS_ATTEMPTS: '1', PROGRESS_MAX_WAIT: '5' } });
    const env: Record<string, string | undefined> = {};
    if (source === 'env') Object.assign(env, { PROGRESS_API_TOKEN: TOKEN, PROGRESS_API_ENDPOINT: api.endpoint });
    else if (source === 'env-file') {
      const file = join(b.stateDir, '..', `${b.stateDir.split('/').pop()}-token`);
      writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
      cleanups.push(() => execa('rm', ['-f', file]));
      Object.assign(env, { PROGRESS_API_TOKEN_FILE: file, PROGRESS_API_ENDPOINT: api.endpoint });
    } else expect((await b.run(['init', '--endpoint', api.endpoint, '--task', 'sec', '--token-stdin'], { input: `${TOKEN}\n` })).exitCode).toBe(0);
    const seen: CliResult[] = [];
    const run = async (args: string[], code: number) => {
      const r = await b.run(args, { env });
      seen.push(r);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(code);
      return r;
    };

    api.setFaults(echo(400)); // refused: the payload becomes a dead letter whose reason echoes the header
    expect((await run(['error', 'boom'], 5)).stderr).toMatch(/refused the event \(HTTP 400: .*Bearer \*\*\*/);
    api.setFaults(echo(401)); // the token itself is refused, with the server echoing it
    await run(['stage', 'collect'], 0);
    expect((await run(['flush', '--timeout', '5'], 4)).stderr).toMatch(/refused the token .*Bearer \*\*\*/);
    api.setFaults(echo(503)); // retried, the reason kept as the last delivery error
    await run(['flush', '--timeout', '2'], 4);
    await run(['status'], 0);
    const json = await run(['status', '--json'], 0);
    const report = JSON.parse(json.stdout);
    expect(report.token).toEqual({ set: true, source: source === 'state-file' ? 'state' : source });
    expect(report.deadLetters.count).toBe(1);
    expect(report.deadLetters.lastReason).toContain('Bearer ***');
    expect(report.lastDeliveryError.message).toContain('Bearer ***');
    expect(api.requests.length).toBeGreaterThanOrEqual(3);
    expect(api.requests.every((q) => q.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);

    for (const r of seen) expect(output(r)).not.toContain(TOKEN);
    for (const f of files(b.stateDir).filter((f) => !f.startsWith('tokens/'))) {
      expect(readFileSync(join(b.stateDir, f)).includes(TOKEN), f).toBe(false);
    }
  });
});

describe('files are private whatever the umask', () => {
  test('umask 000: state dir and tokens dir 0700; config, token file and state.db 0600', async () => {
    const b = box({ task: 'perm' });
    const dir = join(b.stateDir, 'nested', 'state');
    const sh = (args: string[], input?: string) =>
      execa('sh', ['-c', 'umask 000; exec node "$@"', 'sh', BIN, ...args], { env: { ...b.env, PROGRESS_STATE_DIR: dir }, extendEnv: false, reject: false, input: input ?? '' });
    // The update comes first, with no endpoint anywhere: recorded locally, no flusher, no traffic.
    expect((await sh(['update', '--items', 'a=1'])).exitCode).toBe(0);
    expect((await sh(['init', '--endpoint', 'http://127.0.0.1:9/api', '--task', 'perm', '--token-stdin'], TOKEN)).exitCode).toBe(0);
    const tokenFile = files(dir).find((f) => f.startsWith('tokens/'))!;
    expect(files(dir).sort()).toEqual(['config.json', 'state.db', tokenFile].sort());
    expect([mode(dir), mode(join(dir, 'tokens')), mode(join(dir, 'config.json')), mode(join(dir, tokenFile)), mode(join(dir, 'state.db'))]).toEqual(['700', '700', '600', '600', '600']);
  });

  test('a token file readable by others gets a warning (the token not in it); 0600 gets none', async () => {
    const b = box();
    const file = join(b.stateDir, '..', `${b.stateDir.split('/').pop()}-token`);
    cleanups.push(() => execa('rm', ['-f', file]));
    writeFileSync(file, `${TOKEN}\n`);
    chmodSync(file, 0o644);
    const loose = await b.run(['status'], { env: { PROGRESS_API_TOKEN_FILE: file } });
    expect(loose.exitCode).toBe(0);
    expect(loose.stderr).toMatch(/warning: token file .* is readable by others; run: chmod 600/);
    expect(output(loose)).not.toContain(TOKEN);
    chmodSync(file, 0o600);
    const tight = await b.run(['status'], { env: { PROGRESS_API_TOKEN_FILE: file } });
    expect(tight.stderr).not.toMatch(/warning/);
  });
});

describe('transport', () => {
  async function proxy(): Promise<Proxy> {
    const p = await startProxy();
    cleanups.push(() => p.close());
    return p;
  }

  test('HTTP_PROXY is honoured, and NO_PROXY bypasses it', async () => {
    const api = await receiver();
    const p = await proxy();
    const via = box({ task: 'px', endpoint: api.endpoint, env: { HTTP_PROXY: p.url, NO_PROXY: '', no_proxy: '' } });
    expect((await via.run(['stage', 'one'])).exitCode).toBe(0);
    await api.waitFor(() => api.applied.size === 1, 10_000, 'delivery through the proxy');
    expect(p.seen.map((s) => s.target)).toContain(`127.0.0.1:${api.port}`);
    const direct = box({ task: 'np', endpoint: api.endpoint, env: { HTTP_PROXY: p.url, NO_PROXY: '127.0.0.1' } });
    const before = p.seen.length;
    expect((await direct.run(['stage', 'two'])).exitCode).toBe(0);
    await api.waitFor(() => api.applied.size === 2, 10_000, 'direct delivery');
    expect(p.seen.length).toBe(before);
  });

  test('a bearer token over plain http off the machine is refused before connecting (exit 3), unless PROGRESS_ALLOW_INSECURE_HTTP=1', async () => {
    const api = await receiver();
    const p = await proxy();
    // A name only our proxy resolves (to 127.0.0.1): no traffic can leave the machine, and the proxy sees any attempt.
    const endpoint = `http://api.progress-test.invalid:${api.port}/api/tasks`;
    const b = box({ task: 'plain', endpoint, env: { PROGRESS_API_TOKEN: TOKEN, HTTP_PROXY: p.url, NO_PROXY: '', no_proxy: '' } });
    for (const args of [['update', '--items', 'a=1'], ['stage', 's'], ['error', 'm'], ['checkpoint', '1'], ['complete'], ['flush'], ['discover']]) {
      const r = await b.run(args, { input: '{"type":"group","id":1,"name":"g"}\n' });
      expect(r.exitCode, args[0]).toBe(3);
      expect(r.stderr).toMatch(/refusing to send the API token over plain http to api\.progress-test\.invalid:\d+; use https, or set PROGRESS_ALLOW_INSECURE_HTTP=1/);
      expect(r.stderr).not.toContain(TOKEN);
    }
    const init = await b.run(['init', '--endpoint', endpoint, '--task', 'plain', '--token-stdin'], { input: TOKEN, env: { PROGRESS_API_TOKEN: undefined } });
    expect(init.exitCode).toBe(3);
    expect((await statusJson(b)).pending.events).toBe(0);
    expect(p.seen).toEqual([]);
    expect(api.requests).toEqual([]);

    const ok = await b.run(['stage', 's'], { env: { PROGRESS_ALLOW_INSECURE_HTTP: '1' } });
    expect(ok.exitCode).toBe(0);
    await api.waitFor(() => api.applied.size === 1, 10_000, 'delivery once allowed');
    expect(p.seen.map((s) => s.target)).toContain(`api.progress-test.invalid:${api.port}`);
  });

  test('redirects are not followed: the token never reaches another origin, and the payload stays queued', async () => {
    const api = await receiver();
    const other = await receiver();
    api.setFaults(() => ({ kind: 'redirect', status: 307, location: `${other.url}/steal` }));
    const b = box({ task: 'redir', env: { PROGRESS_API_TOKEN: TOKEN, PROGRESS_ATTEMPTS: '1' } });
    expect((await b.run(['stage', 's'])).exitCode).toBe(0); // no endpoint yet: recorded locally
    const r = await b.run(['flush', '--endpoint', api.endpoint, '--timeout', '3']);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/HTTP 307 \(redirects are not followed\)/);
    api.setFaults(() => ({ kind: 'redirect', status: 308, location: `${api.url}/elsewhere` }));
    expect((await b.run(['flush', '--endpoint', api.endpoint, '--timeout', '3'])).exitCode).toBe(4);
    expect(other.requests).toEqual([]);
    expect(api.requests.every((q) => q.url === '/api/tasks/redir/progress')).toBe(true);
    expect((await statusJson(b)).pending.events).toBe(1);
    api.setFaults(() => ({ kind: 'ok' }));
    expect((await b.run(['flush', '--endpoint', api.endpoint, '--timeout', '20'])).exitCode).toBe(0);
    expect(api.applied.size).toBe(1);
  });

  describe('TLS', () => {
    let tls: HttpsReceiver;
    async function start(): Promise<HttpsReceiver> {
      tls = await startHttpsReceiver();
      cleanups.push(() => tls.close());
      return tls;
    }

    test('verification is on: a self-signed receiver gets nothing (exit 4, events kept)', async () => {
      await start();
      const b = box({ task: 'tls', env: { PROGRESS_API_TOKEN: TOKEN, PROGRESS_ATTEMPTS: '1' } });
      expect((await b.run(['stage', 's'])).exitCode).toBe(0);
      const r = await b.run(['flush', '--endpoint', tls.endpoint, '--timeout', '3']);
      expect(r.exitCode).toBe(4);
      expect(r.stderr).toMatch(/certificate/i);
      expect(tls.requests).toEqual([]);
      expect(tls.tlsErrors).toBeGreaterThan(0);
      expect((await statusJson(b)).pending.events).toBe(1);
    });

    test.each([['directly', false], ['through HTTPS_PROXY', true]])('NODE_EXTRA_CA_CERTS makes it work, %s', async (_name, viaProxy) => {
      await start();
      const p = viaProxy ? await proxy() : undefined;
      const b = box({ task: 'tls-ok', env: { PROGRESS_API_TOKEN: TOKEN, NODE_EXTRA_CA_CERTS: tls.certFile, ...(p ? { HTTPS_PROXY: p.url, NO_PROXY: '', no_proxy: '' } : {}) } });
      expect((await b.run(['stage', 's'])).exitCode).toBe(0);
      expect((await b.run(['flush', '--endpoint', tls.endpoint, '--timeout', '10'])).exitCode).toBe(0);
      expect(tls.requests).toHaveLength(1);
      expect(tls.requests[0]).toMatchObject({ url: '/api/tasks/tls-ok/progress', headers: { authorization: `Bearer ${TOKEN}` } });
      if (p) expect(p.seen).toEqual([{ method: 'CONNECT', target: tls.endpoint.replace(/^https:\/\/([^/]+).*$/, '$1') }]);
    });
  });
});
