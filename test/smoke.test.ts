// The quickest end-to-end check: an update reaches a real receiver through the background flusher.
import { afterEach, expect, test } from 'vitest';
import { startReceiver, type Receiver } from './support/receiver.js';
import { sandbox, type Sandbox } from './support/cli.js';

let receiver: Receiver | undefined;
let box: Sandbox | undefined;
afterEach(async () => {
  box?.cleanup();
  await receiver?.close();
});

test('update is accepted with exit 0 and delivered without another command', async () => {
  receiver = await startReceiver();
  box = sandbox({ endpoint: receiver.endpoint, task: 'smoke' });
  const r = await box.run(['update', '--items', 'issues=10', '--last-id', '42']);
  expect(r).toMatchObject({ exitCode: 0, stderr: '' });
  await receiver.waitFor(() => receiver!.applied.size === 1, 10_000, 'one payload');
  const [payload] = receiver.payloads('smoke');
  expect(payload).toMatchObject({ type: 'progress', taskId: 'smoke', itemsByType: { issues: 10 }, lastProcessedId: '42' });
  expect(receiver.requests[0]!.url).toBe('/api/tasks/smoke/progress');
});
