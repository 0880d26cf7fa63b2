// The hidden `__deliver` command: the detached background flusher of one task.
import { requireTask, resolveConfig } from '../../core/config.js';
import { deliver } from '../../core/deliver.js';
import { Store } from '../../core/store.js';

/** How long an idle flusher waits for more events before it exits. */
const IDLE_LINGER_MS = 5000;

/** Delivers until the outbox is empty and idle; all configuration comes from the environment its starter set. */
export async function deliverDaemon(env: Record<string, string | undefined>): Promise<number> {
  const config = resolveConfig({}, env);
  const task = requireTask(config);
  if (!config.endpoint) return 0;
  const store = Store.open(config.stateDir);
  const { Transport } = await import('../../core/transport.js');
  const transport = new Transport();
  try {
    await deliver({
      store,
      transport,
      task,
      endpoint: config.endpoint,
      token: config.token,
      tuning: config.tuning,
      mode: 'daemon',
      // A crawler reporting every few seconds keeps one flusher instead of starting one per call (~100 ms of CPU each).
      lingerMs: Math.max(IDLE_LINGER_MS, 2 * config.tuning.minIntervalMs),
    });
    return 0;
  } finally {
    await transport.close();
    store.close();
  }
}
