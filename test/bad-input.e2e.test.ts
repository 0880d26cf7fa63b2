// Black-box: a table of invalid inputs; each exits 2 with one line naming the bad argument, records nothing and sends nothing.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sandbox, type Sandbox } from './support/cli.js';
import { startReceiver, type Receiver } from './support/receiver.js';

const TOO_BIG = '9007199254740992'; // 2^53

let receiver: Receiver;
let box: Sandbox;
let baseline: unknown;

/** The task's local state without what changes by itself over time. */
async function snapshot(): Promise<any> {
  const r = await box.run(['status', '--json']);
  expect(r.exitCode).toBe(0);
  const s = JSON.parse(r.stdout);
  delete s.run.elapsedMs;
  delete s.flusherRunning;
  return s;
}

beforeAll(async () => {
  receiver = await startReceiver();
  box = sandbox({ endpoint: receiver.endpoint, task: 'bad-input' });
  // a task with some history: a stage, totals, a checkpoint, all delivered
  for (const args of [['stage', 'data_collection'], ['update', '--items', 'issues=1', '--processed', '1'], ['checkpoint', '5']]) {
    expect((await box.run(args)).exitCode).toBe(0);
  }
  expect((await box.run(['flush'])).exitCode).toBe(0);
  baseline = await snapshot();
  expect(baseline).toMatchObject({ totals: { issues: 1 }, stage: 'data_collection', lastCheckpoint: '5', pending: { events: 0 } });
});
afterAll(async () => {
  box.cleanup();
  await receiver.close();
});

const CASES: string[][] = [
  // numbers
  ['update', '--processed', 'abc'],
  ['update', '--processed', '-1'],
  ['update', '--processed=-1'],
  ['update', '--processed', ''],
  ['update', '--processed'],
  ['update', '--total', '1.5'],
  ['update', '--total', '1e3'],
  ['update', '--total', '0x10'],
  ['update', '--total', TOO_BIG],
  ['update', '--processed', '99999999999999999999999'],
  ['complete', '--processed', 'many'],
  ['complete', '--timeout', 'soon'],
  ['flush', '--timeout=-5'],
  // --items
  ['update', '--items', 'issues'],
  ['update', '--items', '=5'],
  ['update', '--items', 'is sues=5'],
  ['update', '--items', 'issues=-3'],
  ['update', '--items', 'issues=+3'],
  ['update', '--items', 'issues=3.0'],
  ['update', '--items', 'issues='],
  ['update', '--items', 'issues=1', '--items', 'issues=2'],
  ['update', '--items', `issues=${TOO_BIG}`],
  // names and ids
  ['update', '--type', 'two words'],
  ['update', '--type', ''],
  ['update', '--last-id', ''],
  ['update', '--last-id', 'x'.repeat(2000)],
  ['update', '--stage', ''],
  ['update', '--operation', 'crawling'],
  ['stage', 'x', '--operation', ''],
  ['stage', ''],
  ['stage', '   '],
  ['stage', 'y'.repeat(300)],
  ['checkpoint', ''],
  ['discover', '--discovered-by', ''],
  // JSON
  ['error', 'boom', '--context', '{bad'],
  ['error', 'boom', '--context', ''],
  ['checkpoint', '6', '--data', '[1,'],
  ['checkpoint', '6', '--data', JSON.stringify({ big: 'x'.repeat(20_000) })],
  // unknown options and commands
  ['update', '--bogus'],
  ['update', '-z'],
  ['stage', 'x', '--frobnicate'],
  ['update', '--no-timeline=yes'],
  ['updat', '--items', 'issues=1'],
  ['frobnicate'],
  // missing or extra operands
  ['stage'],
  ['error'],
  ['error', ''],
  ['checkpoint'],
  ['checkpoint', '--show', '6'],
  ['update', 'extra'],
  ['stage', 'a', 'b'],
  ['checkpoint', '6', '7'],
  ['complete', 'now'],
  ['reset', 'now'],
  ['status', 'now'],
  ['discover', 'a.jsonl', 'b.jsonl'],
  ['discover', '/nonexistent/areas.jsonl'],
  // a value with control characters is quoted, escaped, still one line
  ['discover', '/no\nsuch\nfile'],
  ['stage', 'x', '--operation', 'a\u001b[2Jb\nc'],
  // repeated single-valued options
  ['update', '--processed', '1', '--processed', '2'],
  ['stage', 'x', '--message', 'a', '--message', 'b'],
  ['error', 'e', '--type', 'A', '--type', 'B'],
  ['update', '--task', 'a', '--task', 'b'],
  ['complete', '--summary', 'a', '--summary', 'b'],
];

const short = (a: string) => (a === '' ? "''" : a.length > 24 ? `${a.slice(0, 21)}...` : a);

test.each(CASES.map((args) => [args.map(short).join(' '), args] as const))('progress %s: exit 2, one line, nothing recorded or sent', async (_name, args) => {
  const requestsBefore = receiver.requests.length;
  const r = await box.run(args);
  expect(r.exitCode).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^progress: error: /);
  expect(r.stderr).not.toMatch(/\n\s+at |Error:|\.ts:\d|\.mjs:\d|\u001b/);
  // the line names the bad argument: an option name, a value, or the operand the command wanted
  const option = args.find((a) => a.startsWith('-'))?.replace(/=.*$/, '');
  const named = [option, 'NAME', 'MESSAGE', 'ID', args[0] === 'updat' || args[0] === 'frobnicate' ? args[0] : undefined, ...args.slice(1).map((a) => JSON.stringify(a)), ...args.filter((a) => a.length >= 8)];
  expect(named.some((n) => n !== undefined && n.length > 0 && n !== '""' && lines[0]!.includes(n))).toBe(true);
  expect(await snapshot()).toEqual(baseline);
  expect(receiver.requests.length).toBe(requestsBefore);
});

test('a count that would push a total beyond 2^53 - 1 is refused whole', async () => {
  const r = await box.run(['update', '--items', 'issues=9007199254740991', '--items', 'other=1']);
  expect(r.exitCode).toBe(2);
  expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining('"issues"')]);
  expect(await snapshot()).toEqual(baseline);
});

test('repeated switches are harmless, and a valid call after all of that still works', async () => {
  expect((await box.run(['update', '--items', 'issues=2', '--quiet', '-q', '--no-timeline', '--no-timeline'])).exitCode).toBe(0);
  expect((await box.run(['flush'])).exitCode).toBe(0);
  expect((await snapshot()).totals).toEqual({ issues: 3 });
  expect(receiver.totals('bad-input')).toEqual({ issues: 3 });
});
