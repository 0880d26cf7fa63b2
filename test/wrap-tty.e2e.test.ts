// wrap on a real terminal (tmux): the spinner shows stage, totals, rate and elapsed time, and CMD's output stays intact above it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { BIN } from './support/cli.js';
import { startReceiver, type Receiver } from './support/receiver.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux) console.warn('wrap-tty.e2e: SKIPPED, tmux is not installed (the spinner needs a real terminal to be tested)');

const socket = `progress-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const capture = () => tmux('capture-pane', '-p', '-t', 'wrap');

let receiver: Receiver | undefined;
let dir: string | undefined;
afterEach(async () => {
  spawnSync('tmux', ['-L', socket, 'kill-server']);
  await receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function until(predicate: (screen: string) => boolean, what: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const screen = capture();
    if (predicate(screen)) return screen;
    if (Date.now() > deadline) throw new Error(`tmux: timed out waiting for ${what}; screen:\n${screen}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test.skipIf(!hasTmux)('spinner on a TTY: status above nothing, output intact, gone at the end', async () => {
  receiver = await startReceiver();
  dir = mkdtempSync(join(tmpdir(), 'progress-tty-'));
  const script = join(dir, 'job.sh');
  writeFileSync(
    script,
    [
      '#!/bin/sh',
      'for i in $(seq 1 25); do',
      '  echo "stdout line $i of the job"',
      '  [ $((i % 5)) -eq 0 ] && echo "stderr line $i" >&2',
      '  echo "update --items issues=4 --items projects=1" >&"$PROGRESS_FD"',
      '  sleep 0.12',
      'done',
    ].join('\n'),
  );
  const env = [
    `PATH=${process.env.PATH}`,
    `HOME=${dir}`,
    'TERM=xterm-256color',
    'NO_COLOR=1',
    `PROGRESS_STATE_DIR=${dir}/state`,
    'PROGRESS_TASK_ID=tty',
    `PROGRESS_API_ENDPOINT=${receiver.endpoint}`,
  ];
  const command = `env -i ${env.map((e) => `'${e}'`).join(' ')} ${process.execPath} ${BIN} wrap --stage crawling -- sh ${script}; echo "EXIT=$?"; sleep 60`;
  tmux('new-session', '-d', '-s', 'wrap', '-x', '100', '-y', '40', command);

  const running = await until((s) => /items\/s/.test(s) && /issues \d+/.test(s), 'the spinner');
  const statusLine = running.split('\n').find((l) => l.includes('items/s'))!;
  expect(statusLine).toMatch(/crawling · issues [\d,]+ · projects \d+ · [\d.]+ items\/s · \d+s/);

  const done = await until((s) => s.includes('EXIT='), 'wrap to exit');
  console.log(`captured pane while running:\n${running.trimEnd()}\n\ncaptured pane at the end:\n${done.trimEnd()}`);
  expect(done).toContain('EXIT=0');
  const lines = done.split('\n');
  // Every line of CMD's output is whole, on a line of its own, in order; no spinner text is mixed into any.
  const out = lines.filter((l) => l.startsWith('stdout line'));
  expect(out).toEqual(Array.from({ length: 25 }, (_, i) => `stdout line ${i + 1} of the job`));
  expect(lines.filter((l) => l.startsWith('stderr line'))).toEqual([5, 10, 15, 20, 25].map((i) => `stderr line ${i}`));
  expect(done).not.toMatch(/items\/s/);
  await receiver.waitFor(() => receiver!.payloads('tty').some((p: any) => p.stage === 'completed'), 10_000, 'completion');
  expect(receiver.totals('tty')).toEqual({ issues: 100, projects: 25 });
}, 60_000);

test.skipIf(!hasTmux)('no spinner under CI or with --quiet, even on a TTY', async () => {
  dir = mkdtempSync(join(tmpdir(), 'progress-tty-'));
  const base = `env -i 'PATH=${process.env.PATH}' 'HOME=${dir}' TERM=xterm 'PROGRESS_STATE_DIR=${dir}/state' PROGRESS_TASK_ID=tty`;
  const job = `${process.execPath} ${BIN} wrap -- sh -c 'echo "update --items a=1" >&3; sleep 1.5; echo finished'`;
  for (const [i, prefix] of [`${base} CI=true`, base].entries()) {
    const cmd = i === 0 ? `${prefix} ${job}` : `${prefix} ${job.replace('wrap --', 'wrap --quiet --')}`;
    tmux('new-session', '-d', '-s', 'wrap', '-x', '100', '-y', '20', `${cmd}; echo "EXIT=$?"; sleep 60`);
    const seen: string[] = [];
    await until((s) => {
      seen.push(s);
      return s.includes('EXIT=');
    }, 'wrap to exit');
    expect(seen.join('\n')).not.toMatch(/items\/s/);
    spawnSync('tmux', ['-L', socket, 'kill-server']);
  }
}, 60_000);
