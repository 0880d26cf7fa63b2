// init --endpoint URL --task ID [--token-stdin]: stores the task's config (with conf) and makes it the current task.
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CONFIG_FILE, ensureStateDir, readStoredConfig, refuseSymlink, resolveConfig, tokenPath, validateEndpoint, assertTransportAllowed } from '../../core/config.js';
import { ConfigError, UsageError } from '../../core/errors.js';
import type { Context } from '../context.js';

export interface InitOptions {
  endpoint?: string;
  task?: string;
  stateDir?: string;
  tokenStdin?: boolean;
  quiet?: boolean;
}

async function readToken(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += chunk.toString();
    if (text.length > 64 * 1024) throw new UsageError('--token-stdin: the token is longer than 64 KB');
  }
  const token = text.split(/\r?\n/, 1)[0]?.trim() ?? '';
  if (!token) throw new UsageError('--token-stdin: no token on standard input');
  return token;
}

/** Writes a file with mode 0600 atomically (temp file + rename), whatever the umask. */
function writeSecret(path: string, content: string): void {
  refuseSymlink(dirname(path));
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  chmodSync(dirname(path), 0o700);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600, flag: 'wx' });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export async function init(options: InitOptions, ctx: Context): Promise<number> {
  if (options.task === undefined || options.task === '') throw new UsageError('init needs --task ID');
  if (options.endpoint === undefined) throw new UsageError('init needs --endpoint URL');
  const task = options.task;
  const endpoint = validateEndpoint(options.endpoint, 'flag');
  const token = options.tokenStdin ? await readToken(ctx.stdin) : undefined;
  const config = resolveConfig({ stateDir: options.stateDir, task, endpoint }, ctx.env);
  assertTransportAllowed({ endpoint, token: token ?? config.token, allowInsecureHttp: config.allowInsecureHttp });
  ensureStateDir(config.stateDir);
  const stored = readStoredConfig(config.stateDir);
  refuseSymlink(join(config.stateDir, CONFIG_FILE));
  // conf loads ajv (~70 ms), so it is imported only here, where the state file is written.
  const { default: Conf } = await import('conf');
  try {
    const conf = new Conf<Record<string, unknown>>({
      cwd: config.stateDir,
      configName: CONFIG_FILE.replace(/\.json$/, ''),
      configFileMode: 0o600,
      accessPropertiesByDotNotation: false,
      projectName: 'progress',
    });
    conf.set('tasks', { ...(stored.tasks ?? {}), [task]: { endpoint } });
    conf.set('currentTask', task);
    chmodSync(conf.path, 0o600);
  } catch (error) {
    throw new ConfigError(`cannot write ${CONFIG_FILE} in ${config.stateDir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (token !== undefined) writeSecret(tokenPath(config.stateDir, task), `${token}\n`);
  if (!options.quiet) {
    ctx.logger.notice(`task ${JSON.stringify(task)} is now current; endpoint ${endpoint}${token ? ', token stored (mode 0600)' : ''}`);
  }
  return 0;
}
