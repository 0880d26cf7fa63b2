// Black-box: `progress discover` sends the seed's new_areas_discovered payload, chunked; a bad line sends nothing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { useSharedReceiver } from './support/shared-receiver.js';

const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

const shared = useSharedReceiver('disc');
const fresh = shared.fresh.bind(shared);

const group = { type: 'group', id: 12, name: 'infra', full_path: 'infra', web_url: 'https://gitlab.example.com/infra', description: 'Infrastructure' };
const project = { type: 'project', id: '345', name: 'api', full_path: 'infra/api', web_url: 'https://gitlab.example.com/infra/api', description: '' };
const bare = { type: 'project', id: 7, name: 'bare' };

test('JSON lines on stdin become one payload with the seed\'s area fields; unset area fields are absent', async () => {
  const { box, task } = fresh();
  const input = `${[group, project, bare].map((a) => JSON.stringify(a)).join('\n')}\n`;
  const r = await box.run(['discover', '--discovered-by', 'crawler-7'], { input });
  expect(r).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
  await shared.receiver.waitFor(() => shared.receiver.payloads(task).length === 1, 10_000, 'the discovery payload');
  expect(shared.receiver.payloads(task)[0]).toEqual({
    type: 'progress', taskId: task, status: 'new_areas_discovered', timestamp: ISO,
    areas: [
      { type: 'group', name: 'infra', gitlabId: '12', fullPath: 'infra', webUrl: 'https://gitlab.example.com/infra', description: 'Infrastructure', discoveredBy: 'crawler-7' },
      { type: 'project', name: 'api', gitlabId: '345', fullPath: 'infra/api', webUrl: 'https://gitlab.example.com/infra/api', description: '', discoveredBy: 'crawler-7' },
      { type: 'project', name: 'bare', gitlabId: '7', discoveredBy: 'crawler-7' },
    ],
    itemsByType: { groups: 1, projects: 2 },
    stage: 'discovery',
    operationType: 'discovery',
    message: 'Discovered 3 areas',
  });
  const status = JSON.parse((await box.run(['status', '--json'])).stdout);
  expect(status.totals).toEqual({ groups: 1, projects: 2 });
});

test('a JSON array from FILE works too; discoveredBy defaults to the host name', async () => {
  const { box, task } = fresh();
  const file = join(box.stateDir, 'areas.json');
  writeFileSync(file, JSON.stringify([group, project], null, 2));
  expect((await box.run(['discover', file])).exitCode).toBe(0);
  await shared.receiver.waitFor(() => shared.receiver.payloads(task).length === 1, 10_000, 'the discovery payload');
  const [p] = shared.receiver.payloads(task);
  expect(p.areas.map((a: any) => a.gitlabId)).toEqual(['12', '345']);
  const { hostname } = await import('node:os');
  expect(p.areas.every((a: any) => a.discoveredBy === hostname())).toBe(true);
  expect(p.message).toBe('Discovered 2 areas');
});

test('1201 areas go out in order as chunks of 500, 500 and 201, each counted on its own', async () => {
  const { box, task } = fresh();
  const lines = Array.from({ length: 1201 }, (_, i) => JSON.stringify({ type: i % 3 === 0 ? 'group' : 'project', id: i, name: `a${i}` }));
  expect((await box.run(['discover'], { input: lines.join('\n') })).exitCode).toBe(0);
  await shared.receiver.waitFor(() => shared.receiver.payloads(task).length === 3, 10_000, 'three discovery chunks');
  const ps = shared.receiver.payloads(task);
  expect(ps.map((p) => p.areas.length)).toEqual([500, 500, 201]);
  expect(ps.map((p) => p.message)).toEqual(['Discovered 500 areas', 'Discovered 500 areas', 'Discovered 201 areas']);
  expect(ps.flatMap((p) => p.areas.map((a: any) => Number(a.gitlabId)))).toEqual(lines.map((_, i) => i));
  for (const p of ps) {
    const groups = p.areas.filter((a: any) => a.type === 'group').length;
    expect(p.itemsByType).toEqual({ groups, projects: p.areas.length - groups });
  }
  expect(new Set(ps.map((p) => shared.receiver.requests.find((r) => r.body === p)?.headers['idempotency-key'])).size).toBe(3);
});

test.each([
  ['line 3 is not JSON', `${JSON.stringify(group)}\n\n{bad\n${JSON.stringify(project)}\n`, /line 3/],
  ['line 2 has an unknown type', `${JSON.stringify(group)}\n${JSON.stringify({ ...project, type: 'user' })}\n`, /line 2.*type/],
  ['line 1 lacks an id', `${JSON.stringify({ type: 'group', name: 'x' })}\n`, /line 1.*"id"/],
  ['entry 2 of an array lacks a name', JSON.stringify([group, { type: 'group', id: 1 }]), /entry 2.*"name"/],
  ['an empty input', '\n\n', /no areas/],
  ['a JSON object, not lines of areas', '{"areas": [', /line 1/],
])('%s: exit 2 naming where, nothing recorded, nothing sent', async (_what, input, message) => {
  const { box, task } = fresh();
  const r = await box.run(['discover'], { input });
  expect(r.exitCode).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(message);
  const status = JSON.parse((await box.run(['status', '--json'])).stdout);
  expect(status).toMatchObject({ totals: {}, pending: { events: 0 }, run: { startedAt: null } });
  expect(shared.receiver.requests.filter((q) => q.body?.taskId === task)).toHaveLength(0);
});
