// Runs the built `progress serve` as a child process on a free port (and a lossy TCP proxy) for the serve e2e and browser tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseEnv, BIN } from './cli.js';

export interface ServeProcess {
  url: string;
  port: number;
  /** What to give the CLI as PROGRESS_API_ENDPOINT. */
  endpoint: string;
  dataPath: string;
  proc: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Sends `signal` and resolves with the exit code (or the signal name when killed by it). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** A temp dir for serve databases; remove it in afterEach. */
export function serveDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'progress-serve-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startServe(options: { dataPath: string; port?: number; args?: string[]; env?: Record<string, string | undefined> }): Promise<ServeProcess> {
  const args = [BIN, 'serve', '--port', String(options.port ?? 0), '--data', options.dataPath, ...(options.args ?? [])];
  const proc = spawn('node', args, { env: baseEnv(options.env) as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not print its URL within 10 s; stderr: ${err}`)), 10_000);
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        resolve(line.trim());
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before listening; stderr: ${err}`));
    });
  });
  const port = Number(new URL(url).port);
  return {
    url,
    port,
    endpoint: `${url}api/tasks`,
    dataPath: options.dataPath,
    proc,
    stderr: () => err,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** A TCP proxy to `port` that swallows the first `drops` responses (the request was applied, the answer is lost). */
export async function lossyProxy(port: number, drops: number): Promise<{ port: number; dropped: () => number; close(): void }> {
  let dropped = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const sock of [client, upstream]) {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      sock.on('error', () => undefined);
    }
    client.pipe(upstream);
    upstream.on('data', (chunk) => {
      if (dropped < drops) {
        dropped++;
        client.destroy();
        upstream.destroy();
      } else client.write(chunk);
    });
    upstream.on('end', () => client.end());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    dropped: () => dropped,
    close: () => {
      for (const sock of sockets) sock.destroy();
      server.close();
    },
  };
}
