// Runs examples/crawl.sh (bash, jq, xargs -P) against a real receiver: discovery, parallel updates, errors, checkpoint resume, completion.
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { BIN, sandbox, type Sandbox } from './support/cli.js';
import { startReceiver, type Receiver } from './support/receiver.js';

const CRAWL = resolve(import.meta.dirname, '../examples/crawl.sh');
const fixture = JSON.parse(readFileSync(resolve(import.meta.dirname, '../examples/fixtures/gitlab.json'), 'utf8'));
const issuesOf = (ids: number[]) => fixture.issues.filter((i: any) => ids.includes(i.project_id)).length;
const archived = fixture.projects.filter((p: any) => p.archived).map((p: any) => p.id as number);
const live = (after: number) => fixture.projects.filter((p: any) => p.id > after && !p.archived).map((p: any) => p.id as number);

let receiver: Receiver | undefined;
let box: Sandbox | undefined;
afterEach(async () => {
  box?.cleanup();
  await receiver?.close();
});

const crawl = (args: string[], env: Record<string, string> = {}) =>
  execa(args[0]!, args.slice(1), { env: { ...box!.env, PROGRESS_BIN: `${process.execPath} ${BIN}`, ...env }, extendEnv: false, reject: false, stdin: 'ignore', timeout: 60_000 });

test('a crash, then a resumed run from the checkpoint, under progress wrap', async () => {
  receiver = await startReceiver();
  box = sandbox({ endpoint: receiver.endpoint, task: 'crawl' });

  // Run 1, directly: crashes at project 105 (in the second batch of three).
  const first = await crawl([CRAWL], { CRAWL_FAIL_AT: '105' });
  expect(first.exitCode).not.toBe(0);
  expect(first.stderr).toContain('project 105: connection reset by peer');
  expect((await box.run(['checkpoint', '--show'])).stdout).toBe('103');

  // Run 2, under wrap: resumes after 103, and wrap reports the completion with this run's counts.
  const second = await crawl([process.execPath, BIN, 'wrap', '--stage', 'crawl', '--', CRAWL]);
  expect(second.exitCode).toBe(0);
  await receiver.waitFor(() => receiver!.payloads('crawl').some((p: any) => p.stage === 'completed'), 20_000, 'completion');

  const payloads = receiver.payloads('crawl');
  const stages = payloads.flatMap((p: any) => (p.timeline ?? []).filter((t: any) => t.event === 'stage_change').map((t: any) => t.details.toStage));
  expect(stages).toEqual(['discovery', 'data_collection', 'crawl', 'discovery', 'data_collection']);
  const areas = payloads.flatMap((p: any) => p.areas ?? []);
  expect(areas.length).toBe(2 * (fixture.groups.length + fixture.projects.length));
  expect(areas.find((a: any) => a.gitlabId === '10')).toMatchObject({ type: 'group', name: 'infra', fullPath: 'infra' });

  const errors = payloads.filter((p: any) => p.type === 'error');
  // The archived project is reported (in run 2, and in run 1 too when its worker finished before the crash).
  expect(errors.length).toBeGreaterThanOrEqual(1);
  for (const e of errors) expect(e).toMatchObject({ lastProcessedId: String(archived[0]), timeline: [{ details: { errorType: 'ArchivedProject' } }] });
  expect(payloads.filter((p: any) => /^Checkpoint saved at/.test(p.message ?? '')).map((p: any) => p.lastProcessedId)).toEqual(['103', '106', '109']);

  const completion = payloads.at(-1).timeline.find((t: any) => t.event === 'completion');
  expect(completion.details.finalCounts).toEqual({ groups: 3, projects: 9, issues: issuesOf(live(103)) });
  // Across both runs every issue arrived at least once (projects of the crashed batch are crawled again: at-least-once).
  expect(receiver.totals('crawl').issues).toBeGreaterThanOrEqual(issuesOf(live(0)));
  expect(receiver.conflicts).toEqual([]);
}, 90_000);

test('a clean run reports completion itself when not under wrap', async () => {
  receiver = await startReceiver();
  box = sandbox({ endpoint: receiver.endpoint, task: 'crawl' });
  const r = await crawl([CRAWL]);
  expect(r.exitCode).toBe(0);
  await receiver.waitFor(() => receiver!.payloads('crawl').some((p: any) => p.stage === 'completed'), 20_000, 'completion');
  expect(receiver.totals('crawl')).toEqual({ groups: 3, projects: 9, issues: issuesOf(live(0)) });
  const completion = receiver.payloads('crawl').at(-1).timeline.find((t: any) => t.event === 'completion');
  expect(completion.details.summary).toBe('crawled 9 projects');
}, 60_000);
