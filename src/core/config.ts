// Resolves the task's configuration once: flag > environment > state file > default.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { CONFIG_VARS, isOn, readTuning, type Tuning } from './env.js';
import { ConfigError } from './errors.js';

type Env = Record<string, string | undefined>;

/** Values given on the command line (they win over everything else). */
export interface ConfigFlags {
  task?: string;
  endpoint?: string;
  stateDir?: string;
}

export type Source = 'flag' | 'env' | 'env-file' | 'state' | 'default' | 'none';

export interface ResolvedConfig {
  stateDir: string;
  task?: string;
  taskSource: Source;
  endpoint?: string;
  endpointSource: Source;
  token?: string;
  tokenSource: Source;
  allowInsecureHttp: boolean;
  tuning: Tuning;
  /** Notices about the configuration worth telling the user (never containing the token). */
  warnings: string[];
}

/** What `progress init` keeps in `config.json` (written with conf, read here with plain fs: no ajv on the hot path). */
export interface StoredConfig {
  currentTask?: string;
  tasks?: Record<string, { endpoint?: string }>;
}

export const CONFIG_FILE = 'config.json';

/** The default state directory: `$XDG_STATE_HOME/progress`, else `~/.local/state/progress`. */
export function defaultStateDir(env: Env): string {
  const xdg = env.XDG_STATE_HOME;
  if (xdg && xdg.startsWith('/')) return join(xdg, 'progress');
  return join(env.HOME || homedir(), '.local', 'state', 'progress');
}

/** Token files are named by a hash of the task id, so no id ever becomes a path. */
export function tokenPath(stateDir: string, task: string): string {
  return join(stateDir, 'tokens', createHash('sha256').update(task).digest('hex').slice(0, 40));
}

/** Reads config.json; a missing file is empty config, a corrupt one a configuration error. */
export function readStoredConfig(stateDir: string): StoredConfig {
  const path = join(stateDir, CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as StoredConfig;
  } catch {
    throw new ConfigError(`${path} is corrupt (not a JSON object); fix it or run "progress init" again`);
  }
}

/** Creates the state directory with mode 0700 (whatever the umask) if it does not exist. */
export function ensureStateDir(stateDir: string): void {
  try {
    const created = mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    if (created !== undefined) chmodSync(stateDir, 0o700);
  } catch (error) {
    throw new ConfigError(`cannot create state directory ${stateDir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Refuses a symbolic link planted where the state directory keeps a file or folder, so nothing is written elsewhere. */
export function refuseSymlink(path: string): void {
  let link = false;
  try {
    link = lstatSync(path).isSymbolicLink();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`cannot inspect ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (link) throw new ConfigError(`refusing to use ${path}: it is a symbolic link`);
}

function readTokenFile(path: string, warnings: string[], origin: string): string | undefined {
  let text: string;
  try {
    const info = lstatSync(path);
    if (info.isSymbolicLink() && origin === 'state') throw new ConfigError(`refusing to follow symlink ${path}`);
    text = readFileSync(path, 'utf8');
    const mode = statSync(path).mode;
    if (mode & 0o077) warnings.push(`token file ${path} is readable by others; run: chmod 600 ${path}`);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && origin === 'state') return undefined;
    throw new ConfigError(`cannot read token file ${path} (${origin}): ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  const token = text.split(/\r?\n/, 1)[0]?.trim();
  if (!token) {
    if (origin === 'state') return undefined;
    throw new ConfigError(`token file ${path} is empty`);
  }
  return token;
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1)$/i;

/** True for hosts whose traffic never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(hostname);
}

/** Checks an endpoint URL; returns it without a trailing slash. */
export function validateEndpoint(raw: string, source: Source): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`endpoint ${JSON.stringify(raw)} (from ${source}) is not a URL; expected e.g. https://api.example.com/tasks`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`endpoint must be http:// or https://, got ${url.protocol}`);
  }
  if (url.username || url.password) throw new ConfigError('endpoint must not contain credentials; use PROGRESS_API_TOKEN');
  if (url.search || url.hash) throw new ConfigError('endpoint must not contain a query or fragment');
  return url.toString().replace(/\/+$/, '');
}

/** Refuses to send a bearer token in clear text off the machine (SPEC §4). */
export function assertTransportAllowed(config: Pick<ResolvedConfig, 'endpoint' | 'token' | 'allowInsecureHttp'>): void {
  if (!config.endpoint || !config.token || config.allowInsecureHttp) return;
  const url = new URL(config.endpoint);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new ConfigError(
      `refusing to send the API token over plain http to ${url.host}; use https, or set PROGRESS_ALLOW_INSECURE_HTTP=1`,
    );
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Resolves every setting with the precedence flag > environment > state file > default. */
export function resolveConfig(flags: ConfigFlags, env: Env): ResolvedConfig {
  const warnings: string[] = [];
  const stateDir = resolve(nonEmpty(flags.stateDir) ?? nonEmpty(env[CONFIG_VARS.stateDir]) ?? defaultStateDir(env));
  const tuning = readTuning(env);
  const stored = readStoredConfig(stateDir);

  let task: string | undefined;
  let taskSource: Source = 'none';
  if (flags.task !== undefined) [task, taskSource] = [flags.task, 'flag'];
  else if (nonEmpty(env[CONFIG_VARS.task]) !== undefined) [task, taskSource] = [env[CONFIG_VARS.task], 'env'];
  else if (typeof stored.currentTask === 'string') [task, taskSource] = [stored.currentTask, 'state'];
  if (task !== undefined && task === '') throw new ConfigError('task id is empty');
  // A NUL cannot travel in argv or the environment (the flusher gets the task id there): refuse it up front.
  if (task?.includes('\u0000')) throw new ConfigError(`task id (from ${taskSource}) must not contain NUL characters`);

  let endpoint: string | undefined;
  let endpointSource: Source = 'none';
  const storedEndpoint = task !== undefined ? stored.tasks?.[task]?.endpoint : undefined;
  if (nonEmpty(flags.endpoint) !== undefined) [endpoint, endpointSource] = [flags.endpoint, 'flag'];
  else if (nonEmpty(env[CONFIG_VARS.endpoint]) !== undefined) [endpoint, endpointSource] = [env[CONFIG_VARS.endpoint], 'env'];
  else if (typeof storedEndpoint === 'string') [endpoint, endpointSource] = [storedEndpoint, 'state'];
  if (endpoint !== undefined) endpoint = validateEndpoint(endpoint, endpointSource);

  let token: string | undefined;
  let tokenSource: Source = 'none';
  const envToken = nonEmpty(env[CONFIG_VARS.token]);
  const envTokenFile = nonEmpty(env[CONFIG_VARS.tokenFile]);
  if (envToken !== undefined) [token, tokenSource] = [envToken.trim(), 'env'];
  else if (envTokenFile !== undefined) [token, tokenSource] = [readTokenFile(envTokenFile, warnings, CONFIG_VARS.tokenFile), 'env-file'];
  else if (task !== undefined && existsSync(join(stateDir, 'tokens'))) {
    // Only a state dir where `init --token-stdin` ran has tokens: the others skip loading crypto for the hash.
    token = readTokenFile(tokenPath(stateDir, task), warnings, 'state');
    if (token !== undefined) tokenSource = 'state';
  }

  return {
    stateDir,
    task,
    taskSource,
    endpoint,
    endpointSource,
    token,
    tokenSource,
    allowInsecureHttp: isOn(env, CONFIG_VARS.allowInsecureHttp),
    tuning,
    warnings,
  };
}

/** The task id, or a configuration error saying how to set one. */
export function requireTask(config: ResolvedConfig): string {
  if (config.task === undefined) {
    throw new ConfigError('no task id: pass --task ID, set PROGRESS_TASK_ID, or run "progress init --endpoint URL --task ID"');
  }
  return config.task;
}
