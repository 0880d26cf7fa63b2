// Black-box tests of `progress wrap` against a real receiver: lifecycle events, pass-through, in-band channel, signals, exit codes, outages.
import { execa } from 'execa';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { BIN, sandbox, type Sandbox } from './support/cli.js';
import { startReceiver, type Receiver } from './support/receiver.js';

let receiver: Receiver | undefined;
let box: Sandbox | undefined;
afterEach(async () => {
  box?.cleanup();
  await receiver?.close();
  box = receiver = undefined;
});

async function setup(env: Record<string, string> = {}) {
  receiver = await startReceiver();
  box = sandbox({ endpoint: receiver.endpoint, task: 'wrapped', env });
  return { receiver, box };
}

const events = (r: Receiver) => r.payloads('wrapped').flatMap((p: any) => (p.timeline ?? []).map((t: any) => t.event));
const pending = async (b: Sandbox) => JSON.parse((await b.run(['status', '--json'])).stdout).pending as { payloads: number; events: number };

describe('lifecycle', () => {
  test('stage before CMD, pass-through of stdin/stdout/stderr, nested progress calls, complete with final counts', async () => {
    const { receiver, box } = await setup();
    const script = [
      'cat',
      'printf "out 1\\n"; printf "err 1\\n" >&2; printf "out 2 \\001\\377 no newline"; printf "err 2\\n" >&2',
      `node ${BIN} update --items issues=5 --last-id 7`,
      'echo "update --items issues=3" >&"$PROGRESS_FD"',
      'echo "env $PROGRESS_TASK_ID $PROGRESS_FD $PROGRESS_API_ENDPOINT" >&2',
    ].join('; ');
    const r = await box.run(['wrap', '--stage', 'crawl', '--operation', 'data_collection', '--', 'sh', '-c', script], { input: 'from stdin\n' });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('from stdin\nout 1\nout 2 \u0001\ufffd no newline');
    expect(r.stderr).toBe(`err 1\nerr 2\nenv wrapped 3 ${receiver.endpoint}`);
    await receiver.waitFor(() => events(receiver).includes('completion'), 10_000, 'completion');
    const payloads = receiver.payloads('wrapped');
    expect(payloads[0]).toMatchObject({ stage: 'crawl', operationType: 'data_collection' });
    expect(events(receiver)[0]).toBe('stage_change');
    const completion = payloads.at(-1)!.timeline.find((t: any) => t.event === 'completion');
    expect(completion.details.finalCounts).toEqual({ issues: 8 });
    expect(completion.details.duration).toBeGreaterThanOrEqual(0);
    expect(receiver.totals('wrapped')).toEqual({ issues: 8 });
  });

  test('CMD output is streamed, not collected at the end', async () => {
    const { box } = await setup();
    const child = execa('node', [BIN, 'wrap', '--', 'sh', '-c', 'echo first; sleep 3; echo second'], { env: box.env, extendEnv: false, reject: false, stdin: 'ignore' });
    const first = await new Promise<number>((resolve) => {
      const started = Date.now();
      child.stdout!.once('data', () => resolve(Date.now() - started));
    });
    expect(first).toBeLessThan(2500);
    expect((await child).stdout).toBe('first\nsecond');
  });

  test.each([
    ['exit 3', 3, { exitCode: 3 }, 'ExitCode'],
    ['kill -TERM $$', 143, { signal: 'SIGTERM', exitCode: 143 }, 'Signal'],
  ])('CMD "%s": wrap exits %i and reports an error with the scrubbed stderr tail', async (tail, code, context, type) => {
    const { receiver, box } = await setup({ PROGRESS_API_TOKEN: 'tok-abcdef-123', DB_PASSWORD: 'pw-s3cr3t-value' });
    const script = `for i in $(seq 1 30); do echo "line $i"; done >&2; echo "token tok-abcdef-123 pw pw-s3cr3t-value" >&2; ${tail}`;
    const r = await box.run(['wrap', '--tail-lines', '5', '--', 'sh', '-c', script]);
    expect(r.exitCode).toBe(code);
    expect(r.stderr).toContain('token tok-abcdef-123 pw pw-s3cr3t-value'); // the terminal sees CMD's output unchanged
    await receiver.waitFor(() => events(receiver).includes('error'), 10_000, 'error event');
    const error = receiver.payloads('wrapped').find((p: any) => p.type === 'error');
    const details = error.timeline[0].details;
    expect(details.errorType).toBe(type);
    expect(details.context).toMatchObject(context);
    expect(details.context.stderrTail).toEqual(['line 27', 'line 28', 'line 29', 'line 30', 'token *** pw ***']);
    expect(JSON.stringify(receiver.requests.map((q) => q.raw))).not.toMatch(/tok-abcdef|pw-s3cr3t/);
    expect(events(receiver)).not.toContain('completion');
  });

  test('127 when CMD is not found, 126 when it cannot be executed, each an error event', async () => {
    const { receiver, box } = await setup();
    const dir = mkdtempSync(join(tmpdir(), 'progress-noexec-'));
    writeFileSync(join(dir, 'script.sh'), '#!/bin/sh\necho hi\n');
    chmodSync(join(dir, 'script.sh'), 0o644);
    expect((await box.run(['wrap', '--', 'no-such-command-xyz'])).exitCode).toBe(127);
    expect((await box.run(['wrap', '--', join(dir, 'script.sh')])).exitCode).toBe(126);
    await receiver.waitFor(() => events(receiver).filter((e) => e === 'error').length === 2, 10_000, 'two errors');
    const types = receiver.payloads('wrapped').filter((p: any) => p.type === 'error').map((p: any) => p.timeline[0].details.errorType);
    expect(types).toEqual(['CommandNotFound', 'NotExecutable']);
  });

  test.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('%s is forwarded to CMD; wrap exits with what CMD makes of it', async (signal) => {
    const { box } = await setup();
    const script = `trap 'echo "got ${signal.slice(3)}"; exit 7' ${signal.slice(3)}; echo ready; while :; do sleep 0.05; done`;
    const child = execa('node', [BIN, 'wrap', '--', 'sh', '-c', script], { env: box.env, extendEnv: false, reject: false, stdin: 'ignore' });
    await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
    child.kill(signal);
    const r = await child;
    expect(r.stdout).toContain(`got ${signal.slice(3)}`);
    expect(r.exitCode).toBe(7);
  });

  test('usage: no CMD or an unknown option is exit 2 and runs nothing; options after CMD belong to CMD', async () => {
    const { receiver, box } = await setup();
    expect((await box.run(['wrap'])).exitCode).toBe(2);
    const bad = await box.run(['wrap', '--bogus', 'echo', 'x']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stdout).toBe('');
    const r = await box.run(['wrap', 'echo', '--stage', 'x', '--help']);
    expect(r).toMatchObject({ exitCode: 0, stdout: '--stage x --help' });
    await receiver.waitFor(() => events(receiver).includes('completion'), 10_000, 'completion');
    expect(receiver.payloads('wrapped')[0].stage).toBe('running');
  });

  test('GITHUB_STEP_SUMMARY gets a summary after a successful run', async () => {
    const summary = join(mkdtempSync(join(tmpdir(), 'progress-summary-')), 'summary.md');
    const { box } = await setup({ GITHUB_STEP_SUMMARY: summary });
    expect((await box.run(['wrap', '--', 'sh', '-c', 'echo "update --items pages=4" >&3'])).exitCode).toBe(0);
    const text = readFileSync(summary, 'utf8');
    expect(text).toContain('### progress: wrapped');
    expect(text).toContain('| pages | 4 |');
  });
});

describe('in-band channel', () => {
  test('events keep their order; a malformed line gets one notice and the job goes on', async () => {
    const { receiver, box } = await setup();
    const lines = ['update --items a=1', 'stage two', 'update --items a=2 --last-id x', 'update --items a=oops', 'checkpoint 99', 'error "bad thing" --type T'];
    const script = `${lines.map((l) => `echo '${l}' >&"$PROGRESS_FD"`).join('; ')}; echo done`;
    const r = await box.run(['wrap', '--', 'sh', '-c', script]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('done') // execa strips the final newline;
    expect(r.stderr.match(/in-band line 4 ignored: --items/g)?.length).toBe(1);
    await receiver.waitFor(() => events(receiver).includes('completion'), 10_000, 'completion');
    expect(events(receiver)).toEqual(['stage_change', 'progress_update', 'stage_change', 'progress_update', 'error', 'completion']);
    expect(receiver.payloads('wrapped').find((p: any) => p.message === 'Checkpoint saved at 99')).toBeDefined();
    expect(receiver.totals('wrapped')).toEqual({ a: 3 });
  });

  test('markers are off by default (crawled content cannot forge progress) and read, not echoed, with --markers', async () => {
    const { receiver, box } = await setup();
    const script = 'echo "::progress update --items forged=1"; echo plain';
    const off = await box.run(['wrap', '--', 'sh', '-c', script]);
    expect(off.stdout).toBe('::progress update --items forged=1\nplain');
    const on = await box.run(['wrap', '--markers', '--', 'sh', '-c', script.replace('forged', 'real')]);
    expect(on.stdout).toBe('plain');
    await receiver.waitFor(() => events(receiver).filter((e) => e === 'completion').length === 2, 10_000, 'two runs');
    expect(receiver.totals('wrapped')).toEqual({ real: 1 });
  });

  test('100,000 in-band lines: every increment arrives, merged into few requests', async () => {
    const { receiver, box } = await setup();
    const n = 100_000;
    const script = `node -e 'const fs=require("fs");let s="";for(let i=1;i<=${n};i++){s+="update --items issues=1 --last-id "+i+"\\n";if(s.length>65536){fs.writeSync(3,s);s=""}}fs.writeSync(3,s)'`;
    const started = performance.now();
    const r = await box.run(['wrap', '--', 'sh', '-c', script], { timeout: 60_000 });
    const seconds = (performance.now() - started) / 1000;
    expect(r).toMatchObject({ exitCode: 0, stderr: '' });
    await receiver.waitFor(() => events(receiver).includes('completion'), 20_000, 'completion');
    expect(receiver.totals('wrapped')).toEqual({ issues: n });
    const requests = receiver.requests.length;
    console.log(`in-band: ${n} lines in ${seconds.toFixed(2)} s (${Math.round(n / seconds)} lines/s, wrap start to exit) -> ${requests} requests`);
    expect(requests).toBeLessThanOrEqual(Math.ceil(seconds) + 5);
  }, 90_000);
});

describe('heartbeat and outages', () => {
  test('a heartbeat carries elapsed time and totals while CMD runs', async () => {
    const { receiver, box } = await setup();
    const r = await box.run(['wrap', '--heartbeat', '0.2', '--', 'sh', '-c', 'echo "update --items a=2" >&3; sleep 1.2']);
    expect(r.exitCode).toBe(0);
    await receiver.waitFor(() => events(receiver).includes('completion'), 10_000, 'completion');
    expect(receiver.payloads('wrapped').some((p: any) => /^Running for \d+s: a=2$/.test(p.message ?? ''))).toBe(true);
  });

  test('API down: same output and exit code, wrap returns promptly, heartbeats coalesce, all is delivered later', async () => {
    const { receiver, box } = await setup({ PROGRESS_MAX_WAIT: '1' });
    await receiver.stop();
    const script = 'echo out; for i in $(seq 1 20); do echo "update --items a=1" >&3; sleep 0.05; done; echo err >&2; exit 5';
    const started = Date.now();
    const r = await box.run(['wrap', '--heartbeat', '0.05', '--', 'sh', '-c', script]);
    const elapsed = Date.now() - started;
    expect(r).toMatchObject({ exitCode: 5, stdout: 'out', stderr: 'err' });
    expect(elapsed).toBeLessThan(8000);
    // Some 20 heartbeats and 20 updates while the API was down: still only a few payloads queued.
    expect((await pending(box)).payloads).toBeLessThanOrEqual(4);
    await receiver.start();
    await receiver.waitFor(() => events(receiver).includes('error'), 20_000, 'delivery after the outage');
    expect(receiver.totals('wrapped')).toEqual({ a: 20 });
  });
});

describe('bounded memory', () => {
  test('a child printing 300 MB to stderr: wrap passes it through with bounded memory', async () => {
    const { box } = await setup();
    const script = `${process.execPath} ${BIN} wrap --tail-lines 3 -- sh -c "yes 'some stderr line of moderate length' | head -c 300000000 >&2; exit 1" 2>/dev/null`;
    const r = await execa('/usr/bin/time', ['-f', '%M', 'sh', '-c', script], { env: box.env, extendEnv: false, reject: false, stdin: 'ignore', timeout: 60_000 });
    expect(r.exitCode).toBe(1);
    const maxRssKb = Number(r.stderr.trim().split('\n').at(-1));
    console.log(`wrap peak RSS while passing 300 MB of stderr: ${Math.round(maxRssKb / 1024)} MB`);
    expect(maxRssKb).toBeLessThan(200 * 1024);
  }, 60_000);
});

describe('completion', () => {
  test('bash: commands, options from the specs, operation values, CMD after wrap; unknown shell is exit 2', async () => {
    const box = sandbox();
    try {
      const script = (await box.run(['completion', 'bash'])).stdout;
      const probe = `${script}\nt() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=(); _progress; echo "\${COMPREPLY[*]}"; }\nt progress wr; t progress update --it; t progress stage s --operation d; t progress wrap -- ech`;
      const r = await execa('bash', ['-c', probe], { reject: false });
      expect(r.stdout.split('\n').slice(0, 3)).toEqual(['wrap', '--items', 'discovery data_collection']);
      expect(r.stdout.split('\n')[3]).toContain('echo');
      for (const shell of ['zsh', 'fish']) expect((await box.run(['completion', shell])).stdout).toMatch(/wrap/);
      expect((await box.run(['completion', 'tcsh'])).exitCode).toBe(2);
    } finally {
      box.cleanup();
    }
  });
});
