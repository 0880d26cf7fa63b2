// Events go to the endpoint they were recorded for, even while a background flusher for another endpoint is alive.
import { afterEach, expect, test } from 'vitest';
import { sandbox, type Sandbox } from './support/cli.js';
import { startReceiver, type Receiver } from './support/receiver.js';

const open: { close(): Promise<void> }[] = [];
let box: Sandbox | undefined;
afterEach(async () => {
  box?.cleanup();
  await Promise.all(open.splice(0).map((r) => r.close()));
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  open.push(r);
  return r;
}

test('a flag endpoint given while a flusher for the env endpoint lingers is honoured for that event', async () => {
  const [a, b] = [await receiver(), await receiver()];
  box = sandbox({ endpoint: a.endpoint, task: 'switch' });
  expect((await box.run(['stage', 'one'])).exitCode).toBe(0);
  await a.waitFor(() => a.applied.size === 1, 10_000, 'stage one at A');
  // The flusher for A lingers a few seconds after its last send; this event is for B.
  expect((await box.run(['stage', 'two', '--endpoint', b.endpoint])).exitCode).toBe(0);
  expect((await box.run(['update', '--items', 'issues=3', '--endpoint', b.endpoint])).exitCode).toBe(0);
  await b.waitFor(() => b.applied.size === 2, 15_000, 'stage two and the update at B');
  expect(a.payloads().map((p) => p.stage)).toEqual(['one']);
  expect(b.payloads().map((p) => p.stage ?? p.itemsByType)).toEqual(['two', { issues: 3 }]);
});

test('events recorded without an endpoint go wherever the next flush sends them', async () => {
  const a = await receiver();
  box = sandbox({ task: 'later' });
  expect((await box.run(['update', '--items', 'issues=1'])).exitCode).toBe(0);
  expect((await box.run(['flush', '--endpoint', a.endpoint])).exitCode).toBe(0);
  expect(a.totals('later')).toEqual({ issues: 1 });
});
