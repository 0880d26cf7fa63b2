// Starts the detached background flusher that delivers a task's outbox after the calling command has exited.
import { spawn } from 'node:child_process';
import { CONFIG_VARS } from './env.js';

export interface FlusherTarget {
  entry: string;
  stateDir: string;
  task: string;
  endpoint: string;
  token?: string;
  env: Record<string, string | undefined>;
}

/** The hidden command the flusher runs. */
export const DELIVER_COMMAND = '__deliver';

/**
 * Spawns `progress __deliver` in its own session (so a Ctrl-C or a CI step's end does not take it
 * down with the caller), with the caller's resolved configuration in its environment.
 */
export function spawnFlusher(target: FlusherTarget): void {
  const env: Record<string, string | undefined> = { ...target.env };
  env[CONFIG_VARS.stateDir] = target.stateDir;
  env[CONFIG_VARS.task] = target.task;
  env[CONFIG_VARS.endpoint] = target.endpoint;
  delete env[CONFIG_VARS.tokenFile];
  if (target.token !== undefined) env[CONFIG_VARS.token] = target.token;
  else delete env[CONFIG_VARS.token];
  const child = spawn(process.execPath, [target.entry, DELIVER_COMMAND], { detached: true, stdio: 'ignore', env, cwd: '/' });
  child.on('error', () => undefined);
  child.unref();
}
