// A real HTTP receiver on 127.0.0.1 for black-box tests: records every request, applies each
// Idempotency-Key once, and injects faults (5xx, 429 + Retry-After, hangs, resets, lost responses, slow bodies).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  raw: string;
  body: any;
  at: number;
  /** What the receiver did with it. */
  outcome: string;
}

/** What to do with one request. */
export type Fault =
  | { kind: 'ok'; status?: number; body?: string }
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Never answer (the client's timeout must fire). */
  | { kind: 'hang' }
  /** Destroy the connection without applying. */
  | { kind: 'reset' }
  /** Apply the payload, then destroy the connection: the client never learns it arrived. */
  | { kind: 'apply-then-reset' }
  /** Apply, then answer 2xx one byte every `intervalMs`, `bytes` long. */
  | { kind: 'slow-body'; intervalMs: number; bytes: number }
  /** Answer a redirect to `location`. */
  | { kind: 'redirect'; status: number; location: string };

export type FaultPlan = (req: RecordedRequest, index: number) => Fault;

export interface Receiver {
  url: string;
  port: number;
  /** Base endpoint to give the CLI: `${url}/api/tasks`. */
  endpoint: string;
  requests: RecordedRequest[];
  /** Applied payloads by idempotency key, in the order first applied. */
  applied: Map<string, any>;
  /** Keys that arrived again with a different body (must stay empty). */
  conflicts: string[];
  /** Keys applied more than once (stays empty: duplicates are dropped). */
  setFaults(plan: FaultPlan): void;
  /** Sum of applied itemsByType for a task. */
  totals(task?: string): Record<string, number>;
  /** Applied payloads of a task, in order. */
  payloads(task?: string): any[];
  /** Waits until predicate holds (polling), or throws after timeoutMs. */
  waitFor(predicate: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
  /** Stops listening and drops open connections (the API is "down"); start() brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

const ok: FaultPlan = () => ({ kind: 'ok' });

export async function startReceiver(options: { faults?: FaultPlan; port?: number } = {}): Promise<Receiver> {
  let plan = options.faults ?? ok;
  const requests: RecordedRequest[] = [];
  const applied = new Map<string, any>();
  const bodiesByKey = new Map<string, string>();
  const conflicts: string[] = [];
  const sockets = new Set<Socket>();
  let server: Server;
  let port = options.port ?? 0;

  function apply(rec: RecordedRequest): void {
    const key = String(rec.headers['idempotency-key'] ?? '');
    const seen = bodiesByKey.get(key);
    if (seen !== undefined && seen !== rec.raw) conflicts.push(key);
    bodiesByKey.set(key, rec.raw);
    if (!applied.has(key)) applied.set(key, rec.body);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: any;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const rec: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw, body, at: Date.now(), outcome: '' };
      requests.push(rec);
      const fault = plan(rec, requests.length - 1);
      rec.outcome = fault.kind;
      switch (fault.kind) {
        case 'ok':
          apply(rec);
          res.writeHead(fault.status ?? 200, { 'content-type': 'application/json' }).end(fault.body ?? '{"ok":true}');
          return;
        case 'status':
          if (fault.status >= 200 && fault.status < 300) apply(rec);
          res.writeHead(fault.status, { 'content-type': 'application/json', ...(fault.headers ?? {}) }).end(fault.body ?? '{"error":"injected"}');
          return;
        case 'hang':
          return;
        case 'reset':
          req.socket.destroy();
          return;
        case 'apply-then-reset':
          apply(rec);
          req.socket.destroy();
          return;
        case 'slow-body': {
          apply(rec);
          res.writeHead(200, { 'content-type': 'text/plain' });
          let sent = 0;
          const timer = setInterval(() => {
            if (sent >= fault.bytes || res.destroyed) {
              clearInterval(timer);
              res.end();
              return;
            }
            res.write('x');
            sent++;
          }, fault.intervalMs);
          res.on('close', () => clearInterval(timer));
          return;
        }
        case 'redirect':
          res.writeHead(fault.status, { location: fault.location }).end();
          return;
      }
    });
  }

  async function start(): Promise<void> {
    server = createServer(handle);
    server.keepAliveTimeout = 1000;
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    port = (server.address() as AddressInfo).port;
  }

  async function stop(): Promise<void> {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  await start();
  const url = `http://127.0.0.1:${port}`;
  const taskOf = (p: any) => (p && typeof p.taskId === 'string' ? p.taskId : undefined);

  return {
    url,
    port,
    endpoint: `${url}/api/tasks`,
    requests,
    applied,
    conflicts,
    setFaults: (next) => {
      plan = next;
    },
    totals(task) {
      const out: Record<string, number> = {};
      for (const p of applied.values()) {
        if (task !== undefined && taskOf(p) !== task) continue;
        for (const [k, v] of Object.entries((p?.itemsByType ?? {}) as Record<string, number>)) out[k] = (out[k] ?? 0) + v;
      }
      return out;
    },
    payloads(task) {
      return [...applied.values()].filter((p) => task === undefined || taskOf(p) === task);
    },
    async waitFor(predicate, timeoutMs = 15_000, what = 'condition') {
      const until = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > until) throw new Error(`receiver: timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    stop,
    start,
    close: stop,
  };
}
