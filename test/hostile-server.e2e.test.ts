// Issue 6, black-box: a hostile API (garbage, gigantic or endless bodies, broken status lines, slowloris) costs
// bounded time and memory, never crashes the CLI, and loses no event: it is delivered once the API behaves.
import { execa } from 'execa';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { describe, expect, test } from 'vitest';
import { BIN, sandbox, type Sandbox } from './support/cli.js';

type Mode =
  | 'ok' | 'garbage-2xx' | 'gigantic-2xx' | 'endless-2xx' | 'endless-5xx' | 'bad-status-line' | 'not-http'
  | 'slowloris-headers' | 'header-flood' | 'close' | 'status-999' | 'retry-after-forever' | 'interim-forever';

interface RawServer {
  endpoint: string;
  mode: Mode;
  /** Request bodies received, with the mode that answered them. */
  received: { mode: Mode; key: string; body: string }[];
  close(): Promise<void>;
}

/** A raw TCP server speaking just enough HTTP/1.1 to read requests and answer them badly. */
async function startRawServer(mode: Mode): Promise<RawServer> {
  const sockets = new Set<Socket>();
  const self: RawServer = { endpoint: '', mode, received: [], close: async () => undefined };
  const drip = (sock: Socket, ms: number, next: () => string | Buffer) => {
    const timer = setInterval(() => (sock.writable ? sock.write(next()) : clearInterval(timer)), ms);
    sock.on('close', () => clearInterval(timer));
  };
  const flood = (sock: Socket, chunk: Buffer) => {
    const pump = () => {
      while (sock.writable && sock.write(chunk));
    };
    sock.on('drain', pump);
    pump();
  };
  function answer(sock: Socket): void {
    const m = self.mode;
    const head = (status: string, headers: string[] = []) => `HTTP/1.1 ${status}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`;
    switch (m) {
      case 'ok': return void sock.write(head('200 OK', ['Content-Length: 2']) + 'ok');
      case 'garbage-2xx': return void sock.end(Buffer.concat([Buffer.from(head('200 OK', ['Content-Type: application/json'])), Buffer.from([0, 255, 254, 10, 13, 0x1b, 0x5b])]));
      case 'gigantic-2xx': sock.write(head('200 OK', ['Content-Length: 107374182400'])); return flood(sock, Buffer.alloc(64 * 1024, 120));
      case 'endless-2xx': sock.write(head('200 OK', ['Transfer-Encoding: chunked'])); return drip(sock, 5, () => '4\r\nxxxx\r\n');
      case 'endless-5xx': sock.write(head('500 Oops', ['Transfer-Encoding: chunked'])); return flood(sock, Buffer.from(`10000\r\n${'e'.repeat(0x10000)}\r\n`));
      case 'bad-status-line': return void sock.end('HTTP/1.1 2OO Fine\r\nContent-Length: 0\r\n\r\n');
      case 'not-http': return void sock.end('SSH-2.0-OpenSSH_9.6\r\n\u0000\u0001garbage');
      case 'slowloris-headers': sock.write('HTTP/1.1 200 OK\r\nX-Slow: '); return drip(sock, 100, () => 'a');
      case 'header-flood': sock.write('HTTP/1.1 200 OK\r\n'); return drip(sock, 1, () => `X-Flood-${Math.random()}: ${'f'.repeat(1000)}\r\n`);
      case 'close': return void sock.destroy();
      case 'status-999': return void sock.write(head('999 What', ['Content-Length: 0']));
      case 'retry-after-forever': return void sock.write(head('503 Busy', ['Retry-After: 99999999', 'Content-Length: 0']));
      case 'interim-forever': return drip(sock, 50, () => 'HTTP/1.1 102 Processing\r\n\r\n');
    }
  }
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const headers = buf.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(headers)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        const key = /\r\nidempotency-key:\s*(\S+)/i.exec(headers)?.[1] ?? '';
        self.received.push({ mode: self.mode, key, body: buf.subarray(end + 4, end + 4 + length).toString('utf8') });
        buf = buf.subarray(end + 4 + length);
        answer(sock);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/tasks`;
  self.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return self;
}

type OnFinished = (fn: () => void | Promise<void>) => void;

/** Runs the CLI under GNU time to also get its peak memory. */
async function timed(b: Sandbox, args: string[]) {
  const started = performance.now();
  const r = await execa('/usr/bin/time', ['-f', 'rss=%M', 'node', BIN, ...args], { env: b.env, extendEnv: false, reject: false, timeout: 60_000 });
  const rssKb = Number(/rss=(\d+)\s*$/.exec(String(r.stderr))?.[1]);
  return { exitCode: r.exitCode, stderr: String(r.stderr).replace(/(Command exited with non-zero status \d+\n)?rss=\d+\s*$/, ''), ms: performance.now() - started, rssKb };
}

const FLUSH_TIMEOUT_S = 4;
const REQUEST_TIMEOUT_S = 1;

/** Three events recorded locally (no endpoint yet), then a flush against the hostile server. */
async function scenario(mode: Mode, onFinished: OnFinished) {
  const server = await startRawServer(mode);
  onFinished(() => server.close());
  const b = sandbox({ task: `hostile-${mode}`, env: { PROGRESS_REQUEST_TIMEOUT: String(REQUEST_TIMEOUT_S), PROGRESS_ATTEMPTS: '2' } });
  onFinished(() => b.cleanup());
  for (const args of [['stage', 'collect'], ['update', '--items', 'a=2'], ['error', 'boom']]) expect((await b.run(args)).exitCode).toBe(0);
  b.env.PROGRESS_API_ENDPOINT = server.endpoint;
  const flush = await timed(b, ['flush', '--timeout', String(FLUSH_TIMEOUT_S)]);
  return { server, b, flush };
}

const pendingEvents = async (b: Sandbox) => JSON.parse((await b.run(['status', '--json'])).stdout).pending.events as number;

describe.concurrent('hostile server', () => {
  test.for(['garbage-2xx', 'gigantic-2xx', 'endless-2xx'] as Mode[])('%s: counts as delivered, within bounds', async (mode, { onTestFinished }) => {
    const { server, b, flush } = await scenario(mode, onTestFinished);
    expect(flush.exitCode, flush.stderr).toBe(0);
    expect(flush.ms).toBeLessThan(FLUSH_TIMEOUT_S * 1000);
    expect(flush.rssKb).toBeLessThan(200 * 1024);
    expect(await pendingEvents(b)).toBe(0);
    expect(server.received.map((r) => JSON.parse(r.body).type)).toEqual(['progress', 'progress', 'error']);
  });

  test.for([
    'endless-5xx', 'bad-status-line', 'not-http', 'slowloris-headers', 'header-flood', 'close', 'status-999', 'retry-after-forever', 'interim-forever',
  ] as Mode[])('%s: exit 4 within the timeout, events kept, delivered once the server behaves', async (mode, { onTestFinished }) => {
    const { server, b, flush } = await scenario(mode, onTestFinished);
    expect(flush.exitCode, flush.stderr).toBe(4);
    expect(flush.stderr).toMatch(/3 event\(s\) still pending/);
    expect(flush.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(flush.stderr.trim().split('\n')).toHaveLength(1);
    expect(flush.ms).toBeLessThan((FLUSH_TIMEOUT_S + REQUEST_TIMEOUT_S + 2) * 1000);
    expect(flush.rssKb).toBeLessThan(200 * 1024);
    expect(await pendingEvents(b)).toBe(3);
    server.mode = 'ok';
    const again = await b.run(['flush', '--timeout', '30']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await pendingEvents(b)).toBe(0);
    const delivered = server.received.filter((r) => r.mode === 'ok').map((r) => JSON.parse(r.body));
    expect(delivered.map((p) => p.stage ?? p.type)).toEqual(['collect', undefined, 'error'].map((s, i) => s ?? ['progress', 'progress', 'error'][i]));
    expect(delivered[1].itemsByType).toEqual({ a: 2 });
  });
});
