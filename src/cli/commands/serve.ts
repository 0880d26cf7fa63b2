// serve: the embedded receiver and live dashboard (SPEC §8); runs until SIGINT/SIGTERM, then shuts down gracefully.
import { join, resolve } from 'node:path';
import { defaultStateDir } from '../../core/config.js';
import { CONFIG_VARS, SERVE_VARS } from '../../core/env.js';
import { ConfigError, ExitCode, UsageError } from '../../core/errors.js';
import { openDatabase } from '../../serve/database.js';
import { createServeApp } from '../../serve/server.js';
import type { Context } from '../context.js';

export interface ServeOptions {
  port?: string;
  host?: string;
  data?: string;
  token?: string;
  quiet?: boolean;
}

export const DEFAULT_PORT = 8787;
export const SERVE_DB_FILE = 'serve.db';

function parsePort(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_PORT;
  if (!/^\d{1,5}$/.test(raw.trim()) || Number(raw) > 65_535) throw new UsageError(`--port must be a port number 0-65535 (0 picks a free one), got ${JSON.stringify(raw)}`);
  return Number(raw);
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'is already in use; stop what uses it or choose another with --port (0 picks a free one)',
  EACCES: 'needs privileges this user does not have; choose a port above 1023',
  EADDRNOTAVAIL: 'is not an address of this machine',
  ENOTFOUND: 'does not resolve to an address',
};

/** Runs the receiver until a signal arrives; returns the exit code. */
export async function serve(options: ServeOptions, ctx: Context): Promise<number> {
  const port = parsePort(options.port);
  const host = options.host?.trim() || '127.0.0.1';
  const token = options.token ?? (ctx.env[SERVE_VARS.token]?.trim() || undefined);
  if (token !== undefined && token.trim() === '') throw new UsageError('--token must not be empty');
  const stateDir = ctx.env[CONFIG_VARS.stateDir]?.trim() || defaultStateDir(ctx.env);
  const dataPath = resolve(options.data ?? join(stateDir, SERVE_DB_FILE));

  const db = openDatabase(dataPath);
  const app = createServeApp({ db, token, host, log: options.quiet ? undefined : (line) => ctx.logger.report(line) });
  let address;
  try {
    address = await app.listen(port);
  } catch (error) {
    db.close();
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const why = LISTEN_ERRORS[code] ?? `cannot be listened on (${code || (error as Error).message})`;
    throw new ConfigError(`${host}:${port} ${why}`);
  }

  const url = `http://${urlHost(host)}:${address.port}/`;
  ctx.logger.out(url);
  ctx.logger.notice(`dashboard at ${url} · data in ${dataPath}${token ? ' · POSTs need the bearer token' : ''}`);
  ctx.logger.notice(`crawlers report with PROGRESS_API_ENDPOINT=${url}api/tasks · Ctrl-C stops`);
  if (!/^(127\.|localhost$|::1$)/.test(host)) {
    ctx.logger.warn(`listening on ${host}: the dashboard and GET /api/* are readable by anyone who can reach it (--token guards only POSTs)`);
  }

  const signal = await new Promise<NodeJS.Signals>((done) => {
    const stop = (s: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done(s);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  ctx.logger.notice(`${signal}: finishing requests in flight, then closing the database`);
  // A second signal while shutting down drops the connections still open.
  const force = () => app.server.closeAllConnections();
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  try {
    await app.close();
  } finally {
    db.close();
    process.off('SIGINT', force);
    process.off('SIGTERM', force);
  }
  return ExitCode.ok;
}
