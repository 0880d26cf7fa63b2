// One receiver shared by a test file, and a fresh sandbox with its own task id per test, cleaned up after each.
import { afterAll, afterEach, beforeAll } from 'vitest';
import { sandbox, type Sandbox } from './cli.js';
import { startReceiver, type Receiver } from './receiver.js';

export interface SharedReceiver {
  /** The file's receiver (available inside tests and hooks). */
  readonly receiver: Receiver;
  /** A sandbox pointed at the receiver with a task id no other test of the file uses. */
  fresh(env?: Record<string, string | undefined>): { box: Sandbox; task: string };
  /** Any sandbox, cleaned up after the test like the others. */
  track(box: Sandbox): Sandbox;
}

/** Registers the hooks; faults injected by a test are reset after it. */
export function useSharedReceiver(prefix: string): SharedReceiver {
  let receiver: Receiver | undefined;
  let box: Sandbox | undefined;
  let n = 0;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => receiver?.close());
  afterEach(() => {
    box?.cleanup();
    box = undefined;
    receiver?.setFaults(() => ({ kind: 'ok' }));
  });
  return {
    get receiver() {
      if (!receiver) throw new Error('the shared receiver starts in beforeAll');
      return receiver;
    },
    fresh(env = {}) {
      const task = `${prefix}-${process.pid}-${++n}`;
      return { box: this.track(sandbox({ endpoint: this.receiver.endpoint, task, env })), task };
    },
    track(next) {
      box?.cleanup();
      box = next;
      return next;
    },
  };
}
