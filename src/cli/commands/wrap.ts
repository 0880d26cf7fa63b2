// wrap: runs a command and reports its start, its progress (in-band channel, heartbeat) and its end, exiting with its code.
import { parseArgs } from 'node:util';
import type { Command } from 'commander';
import { beginRun, planComplete, planError, planStage } from '../../core/events.js';
import { UsageError } from '../../core/errors.js';
import { MAX_IN_BAND_LINE } from '../../core/in-band.js';
import { LineSplitter, LineTail, MarkerFilter } from '../../core/line-streams.js';
import { exitCodeFor, forwardSignals, pump, startChild, type ChildOutcome, type RunningChild } from '../../core/runner.js';
import { collectSecrets, scrub } from '../../core/scrub.js';
import type { TaskState } from '../../core/store.js';
import { parseCount, parseName, parseOperation, parseSeconds, type OperationType } from '../../core/validate.js';
import type { Context } from '../context.js';
import { findCommandIndex, type ParsedCommand } from '../parse.js';
import { explainBlockedDelivery, openSession, routeOf, startFlusher, waitForRows, type Session } from '../session.js';
import { COMMON_OPTIONS, type CommandSpec } from '../specs.js';
import { startStatusLine, wantsSpinner, type StatusLine } from '../spinner.js';
import { heartbeatPlanner, WrapReporter, type Planner } from '../wrap-reporter.js';
import { formatDuration } from './status.js';
import { appendStepSummary } from './step-summary.js';

/** wrap's grammar, in the shape of the other commands' specs (help and shell completion read it). */
export const WRAP_SPEC: CommandSpec = {
  name: 'wrap',
  summary: "run CMD and report its start, progress and end; exits with CMD's exit code",
  operands: 'CMD [ARGS...]',
  options: [
    { name: 'stage', value: 'NAME', description: 'stage to report before CMD starts (default "running"); a new run begins' },
    { name: 'operation', value: 'OP', description: 'operation type of that stage' },
    { name: 'heartbeat', value: 'SECONDS', description: 'heartbeat update while CMD runs (default 60, 0 = off)' },
    { name: 'tail-lines', value: 'N', description: "lines of CMD's stderr sent with a failure (default 20)" },
    { name: 'markers', description: 'also read "::progress ARGS" lines on CMD\'s stdout as events (not echoed)' },
  ],
  examples: [
    'progress wrap -- ./crawl.sh --since 2024-01-01',
    'progress wrap --stage data_collection --operation data_collection --heartbeat 30 -- ./crawl.sh',
    'echo "update --items issues=10 --last-id 42" >&"$PROGRESS_FD"   # inside CMD: in-band, no process per update',
  ],
};

/** The descriptor number CMD finds the in-band pipe on (exported to it as PROGRESS_FD). */
export const IN_BAND_FD = 3;
/** Most lines --tail-lines accepts, and the most bytes of stderr tail one error event carries. */
const MAX_TAIL_LINES = 1000;
const MAX_TAIL_CHARS = 64 * 1024;

export interface WrapOptions {
  stage: string;
  operation?: OperationType;
  heartbeatMs: number;
  tailLines: number;
  markers: boolean;
}

/** Splits `[options] [--] CMD [ARGS...]`: options end at `--` or at the first word that is not one. */
export function parseWrapArgs(args: readonly string[]): { parsed: ParsedCommand; options: WrapOptions; command: string[] } {
  const all = [...WRAP_SPEC.options, ...COMMON_OPTIONS];
  const takesValue = new Set(all.filter((o) => o.value).map((o) => `--${o.name}`));
  let split = args.length;
  let command: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      [split, command] = [i, args.slice(i + 1)];
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      [split, command] = [i, args.slice(i)];
      break;
    }
    if (takesValue.has(arg)) i++;
  }
  const config: Record<string, { type: 'string' | 'boolean' }> = { q: { type: 'boolean' } };
  for (const o of all) config[o.name] = { type: o.value ? 'string' : 'boolean' };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: args.slice(0, split), options: config, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const message = (error as Error).message.split('\n')[0]!;
    throw new UsageError(`${message.replace(/^Unknown option/, 'unknown option')} (see progress wrap --help)`);
  }
  if (command.length === 0) throw new UsageError('wrap needs a command to run, e.g. progress wrap -- ./crawl.sh');
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const tailLines = text('tail-lines') === undefined ? 20 : parseCount(text('tail-lines')!, '--tail-lines');
  if (tailLines > MAX_TAIL_LINES) throw new UsageError(`--tail-lines is at most ${MAX_TAIL_LINES}, got ${tailLines}`);
  const options: WrapOptions = {
    stage: text('stage') === undefined ? 'running' : parseName(text('stage')!, '--stage'),
    operation: text('operation') === undefined ? undefined : parseOperation(text('operation')!),
    heartbeatMs: Math.round(parseSeconds(text('heartbeat') ?? '60', '--heartbeat') * 1000),
    tailLines,
    markers: values.markers === true,
  };
  return { parsed: { command: 'wrap', operands: command, options: { ...values, quiet: values.quiet === true || values.q === true } }, options, command };
}

/** Shell-like display of a command line, for messages. */
export function displayCommand(command: readonly string[]): string {
  const text = command.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`)).join(' ');
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/** CMD's environment: wrap's own plus the resolved settings, so a nested `progress update` reports to the same task. */
function childEnv(session: Session, ctx: Context): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...ctx.env, PROGRESS_STATE_DIR: session.config.stateDir, PROGRESS_TASK_ID: session.task };
  if (session.config.endpoint) env.PROGRESS_API_ENDPOINT = session.config.endpoint;
  env.PROGRESS_FD = String(IN_BAND_FD);
  return env;
}

/** The last lines of stderr, scrubbed, within MAX_TAIL_CHARS. */
function scrubbedTail(lines: string[], secrets: readonly string[]): string[] {
  const out: string[] = [];
  let size = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = scrub(lines[i]!, secrets);
    size += line.length + 1;
    if (size > MAX_TAIL_CHARS) break;
    out.unshift(line);
  }
  return out;
}

/** The event that ends the run: `complete` on exit 0, else `error` with the code or signal and the stderr tail. */
function finalPlanner(task: string, command: string[], outcome: ChildOutcome, tail: string[], secrets: readonly string[]): Planner {
  const at = Date.now();
  const shown = scrub(displayCommand(command), secrets);
  if (outcome.exitCode === 0) {
    return (s) => planComplete(s, task, { summary: `${shown} exited 0 after ${formatDuration(outcome.durationMs)}` }, at);
  }
  const [message, type] =
    outcome.exitCode !== undefined
      ? [`${shown} exited with code ${outcome.exitCode}`, 'ExitCode']
      : outcome.signal !== undefined
        ? [`${shown} was killed by ${outcome.signal}`, 'Signal']
        : outcome.spawnError === 'ENOENT'
          ? [`${shown}: command not found`, 'CommandNotFound']
          : [`${shown}: cannot be executed (${outcome.spawnError})`, 'NotExecutable'];
  const context = {
    command: command.map((w) => scrub(w, secrets)),
    exitCode: exitCodeFor(outcome),
    ...(outcome.signal ? { signal: outcome.signal } : {}),
    durationMs: outcome.durationMs,
    stderrTail: scrubbedTail(tail, secrets),
  };
  return (s) => planError(s, task, { message, type, context, stage: s.stage ?? undefined }, at);
}

export async function wrap(args: readonly string[], ctx: Context): Promise<number> {
  const { parsed, options, command } = parseWrapArgs(args);
  const session = openSession(parsed, ctx);
  const { store, task, config } = session;
  try {
    const startedAt = Date.now();
    const newRun: Planner = (s) => planStage(beginRun({ ...s, runStartedAt: null }, startedAt), task, { name: options.stage, operation: options.operation }, startedAt);
    const first = store.recordBatch(task, startedAt, [newRun], routeOf(session));
    if (first.startFlusher) startFlusher(session, ctx);
    const exitCode = await runAndReport(session, ctx, options, command, first.state);
    explainBlockedDelivery(session, ctx);
    return exitCode;
  } finally {
    store.close();
  }
}

/** Runs CMD with its reporting around it; returns CMD's exit code whatever happens to the reporting. */
async function runAndReport(session: Session, ctx: Context, options: WrapOptions, command: string[], state: TaskState): Promise<number> {
  const { store, task, config } = session;
  const spin = wantsSpinner({ stderr: ctx.stderr, env: ctx.env, quiet: ctx.logger.quiet });
  const stdoutIsTTY = !!(ctx.stdout as { isTTY?: boolean }).isTTY;
  // The spinner starts before CMD: output written before ora hooks the streams could be overdrawn.
  const statusLine: StatusLine | undefined = spin ? await startStatusLine({ stderr: ctx.stderr, env: ctx.env, quiet: ctx.logger.quiet }, Date.now()) : undefined;
  statusLine?.show(state);
  const reporter = new WrapReporter(session, ctx, { warn: (m) => ctx.logger.warn(m), onState: (s) => statusLine?.show(s) });
  // Listen before spawning: a signal that arrives while CMD starts is forwarded once it exists, never lost.
  let started: RunningChild | undefined;
  const early: NodeJS.Signals[] = [];
  const stopForwarding = forwardSignals((signal) => (started ? started.kill(signal) : early.push(signal)));
  const child = await startChild({ file: command[0]!, args: command.slice(1), env: childEnv(session, ctx), pipeStdout: options.markers || (spin && stdoutIsTTY), inBandFd: IN_BAND_FD }).catch((error: unknown) => {
    stopForwarding();
    throw error;
  });
  started = child;
  for (const signal of early) child.kill(signal);
  const timers: NodeJS.Timeout[] = [];
  if (options.heartbeatMs > 0) timers.push(setInterval(() => reporter.add(heartbeatPlanner(task, Date.now())), options.heartbeatMs));
  // Nested `progress update` calls change the totals too: the status line rereads them.
  if (statusLine) timers.push(setInterval(() => statusLine.show(store.getTaskState(task)), 1000));

  const tail = new LineTail(options.tailLines);
  const inBand = new LineSplitter(MAX_IN_BAND_LINE, (line) => reporter.line('in-band', line));
  const pumps = [
    pump(child.stderr, (chunk) => {
      tail.push(chunk);
      return ctx.stderr.write(chunk);
    }, ctx.stderr),
    child.inBand ? pump(child.inBand, (chunk) => inBand.push(chunk)) : Promise.resolve(),
  ];
  let markers: MarkerFilter | undefined;
  if (child.stdout) {
    let writable = true;
    const out = (chunk: Buffer) => {
      writable = ctx.stdout.write(chunk) && writable;
    };
    markers = options.markers ? new MarkerFilter(out, (line) => reporter.line('marker', line), MAX_IN_BAND_LINE) : undefined;
    pumps.push(pump(child.stdout, (chunk) => {
      writable = true;
      if (markers) markers.push(chunk);
      else out(chunk);
      return writable;
    }, ctx.stdout));
  }
  const outcome = await child.done;
  await Promise.all(pumps);
  stopForwarding();
  for (const timer of timers) clearInterval(timer);
  inBand.end();
  markers?.end();
  statusLine?.stop();

  const exitCode = exitCodeFor(outcome);
  try {
    const secrets = collectSecrets(ctx.env, config.token);
    const result = reporter.commit([finalPlanner(task, command, outcome, tail.lines(), secrets)]);
    reporter.summarize();
    if (result && config.endpoint) await waitForRows(session, result.rowIds, Math.min(5000, config.tuning.maxWaitMs));
    if (result && outcome.exitCode === 0) appendStepSummary(session, result.state, ctx);
  } catch (error) {
    ctx.logger.warn(`could not report the end of the command: ${(error as Error).message}`);
  } finally {
    reporter.stop();
  }
  return exitCode;
}

/** Registers `wrap` on the commander program: options stop at CMD (passThroughOptions), so CMD's own flags stay its own. */
export function registerWrapCommand(program: Command, argv: readonly string[], ctx: Context): void {
  const cmd = program
    .command('wrap')
    .description(WRAP_SPEC.summary)
    .usage('[options] [--] CMD [ARGS...]')
    .argument('<CMD...>', 'the command to run, with its arguments')
    .passThroughOptions()
    .addHelpText('after', `\nExamples:\n${WRAP_SPEC.examples.map((l) => `  $ ${l}`).join('\n')}\n\nExit code: CMD's own; 128+N if CMD died of signal N; 127 not found; 126 not executable.\n`);
  for (const o of [...WRAP_SPEC.options, ...COMMON_OPTIONS]) cmd.option(o.value ? `--${o.name} <${o.value}>` : `--${o.name}`, o.description);
  cmd.action(async () => {
    const at = findCommandIndex(argv);
    ctx.exitCode = await wrap([...argv.slice(0, at), ...argv.slice(at + 1)], ctx);
  });
}
