// The receiver's HTTP server: POST progress (token, limits, validation, apply once), JSON API, SSE, dashboard, request log.
import type Database from 'better-sqlite3';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Applier } from './apply.js';
import { loadAssets } from './assets.js';
import { TaskReader } from './database.js';
import { EventHub } from './sse.js';
import { BodyError, MAX_BODY_BYTES, parseEvent, taskFromPath } from './validate-body.js';

export interface ServeAppOptions {
  db: Database.Database;
  /** Bearer token POSTs must carry; none when undefined. */
  token?: string;
  /** The host the server binds to; on a loopback host, requests naming another Host are refused (DNS rebinding). */
  host: string;
  /** One line per request (not called with --quiet). */
  log?: (line: string) => void;
}

export interface ServeApp {
  server: Server;
  listen(port: number): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish (at most graceMs), ends event streams. */
  close(graceMs?: number): Promise<void>;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
/** The dashboard runs only our own script and styles; untrusted data is never markup. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const digest = (s: string) => createHash('sha256').update(s).digest();

function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || /^127(\.\d{1,3}){3}$/.test(host);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** Reads the body up to MAX_BODY_BYTES; a larger one is a 413 before it is all in memory. */
function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) return Promise.reject(new BodyError(413, `body is larger than ${MAX_BODY_BYTES} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.pause();
        reject(new BodyError(413, `body is larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A printable, bounded path for the request log (no query string: it could hold anything). */
function logPath(url: string): string {
  const path = url.split('?', 1)[0]!;
  const clean = path.replace(/[^\x21-\x7e]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

export function createServeApp(options: ServeAppOptions): ServeApp {
  const reader = new TaskReader(options.db);
  const applier = new Applier(options.db);
  const hub = new EventHub();
  const assets = loadAssets();
  const tokenDigest = options.token !== undefined ? digest(options.token) : undefined;
  const checkHost = isLoopback(options.host);
  let closing = false;

  // Coalesce SSE pushes per task: a burst of thousands of requests costs one summary query per task per tick.
  const dirty = new Set<string>();
  let flushTimer: NodeJS.Timeout | undefined;
  function changed(task: string): void {
    if (hub.size === 0) return;
    dirty.add(task);
    flushTimer ??= setTimeout(() => {
      flushTimer = undefined;
      for (const t of dirty) {
        const summary = reader.summary(t);
        if (summary) hub.publish('task', summary);
      }
      dirty.clear();
    }, 100);
  }

  function authorized(req: IncomingMessage): boolean {
    if (!tokenDigest) return true;
    const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    return match !== null && timingSafeEqual(digest(match[1]!.trim()), tokenDigest);
  }

  async function receive(req: IncomingMessage, res: ServerResponse, task: string): Promise<string> {
    if (!authorized(req)) {
      sendJson(res, 401, { error: 'missing or wrong bearer token' }, { 'www-authenticate': 'Bearer' });
      return 'unauthorized';
    }
    const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
    if (type !== 'application/json') throw new BodyError(415, 'Content-Type must be application/json');
    const raw = await readBody(req);
    const now = Date.now();
    const event = parseEvent(raw, task, now);
    const key = req.headers['idempotency-key'];
    if (Array.isArray(key) || (key !== undefined && (key === '' || key.length > 256))) throw new BodyError(400, 'Idempotency-Key must be one value of 1 to 256 characters');
    const outcome = applier.apply(task, key, raw, event, now);
    sendJson(res, 200, { ok: true, task, duplicate: outcome === 'duplicate' });
    if (outcome === 'applied') changed(task);
    return outcome;
  }

  function get(req: IncomingMessage, res: ServerResponse, path: string): string | undefined {
    if (path === '/healthz') {
      sendJson(res, 200, { ok: true, tasks: reader.count(), streams: hub.size });
      return undefined;
    }
    if (path === '/api/tasks') {
      sendJson(res, 200, { tasks: reader.list() });
      return undefined;
    }
    if (path === '/api/events') {
      if (!hub.open(res)) sendJson(res, 503, { error: 'too many event streams' });
      return 'stream';
    }
    const m = /^\/api\/tasks\/([^/]+)$/.exec(path);
    if (m) {
      let task: string;
      try {
        task = decodeURIComponent(m[1]!);
      } catch {
        throw new BodyError(400, 'the task id in the path is not valid percent-encoding');
      }
      const detail = reader.detail(task);
      if (detail) sendJson(res, 200, detail);
      else sendJson(res, 404, { error: 'no such task' });
      return undefined;
    }
    const asset = assets.get(path === '/index.html' ? '/' : path);
    if (asset) {
      res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
      res.end(asset.body);
      return undefined;
    }
    sendJson(res, 404, { error: 'not found' });
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<string | undefined> {
    const url = req.url ?? '/';
    if (checkHost) {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
      if (!isLoopback(host) && host !== options.host.toLowerCase()) {
        sendJson(res, 403, { error: 'this server answers only requests addressed to a loopback host name' });
        return 'host refused';
      }
    }
    if (closing) res.setHeader('connection', 'close');
    const path = url.split('?', 1)[0]!;
    const task = taskFromPath(path);
    if (task !== undefined) {
      if (req.method === 'POST') return receive(req, res, task);
      sendJson(res, 405, { error: 'use POST' }, { allow: 'POST' });
      return undefined;
    }
    if (req.method === 'GET' || req.method === 'HEAD') return get(req, res, path);
    sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
    return undefined;
  }

  const server = createServer((req, res) => {
    const started = performance.now();
    let note: string | undefined;
    res.on('finish', () => {
      if (note === 'stream') return;
      options.log?.(`${new Date().toISOString()} ${req.method} ${logPath(req.url ?? '/')} ${res.statusCode} ${(performance.now() - started).toFixed(1)}ms${note ? ` ${note}` : ''}`);
    });
    handle(req, res).then(
      (n) => {
        note = n;
        if (n === 'stream') options.log?.(`${new Date().toISOString()} ${req.method} ${logPath(req.url ?? '/')} 200 event stream opened`);
      },
      (error: unknown) => {
        const status = error instanceof BodyError ? error.status : 500;
        note = error instanceof BodyError ? error.message : `internal error: ${(error as Error).message}`;
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (status === 413) res.setHeader('connection', 'close');
        sendJson(res, status, { error: error instanceof BodyError ? error.message : 'internal error' });
        // An oversize body is not read to its end: close the connection once the answer is out.
        if (status === 413) res.on('finish', () => req.socket.destroySoon());
      },
    );
  });
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;

  return {
    server,
    listen: (port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, options.host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    close: (graceMs = 5_000) =>
      new Promise<void>((resolve) => {
        closing = true;
        hub.close();
        if (flushTimer) clearTimeout(flushTimer);
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
