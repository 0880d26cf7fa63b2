// The one transport: POSTs a payload with undici (keep-alive pool, proxies from the environment), bounded in time and memory.
import { EnvHttpProxyAgent } from 'undici';
import { classifyStatus, parseRetryAfter, type Outcome } from './retry.js';
import { VERSION } from './version.js';


/** Most bytes of a response body read (for an error message); the rest is discarded. */
const MAX_RESPONSE_BYTES = 8 * 1024;

export interface PostOptions {
  endpoint: string;
  task: string;
  token?: string;
  idempotencyKey: string;
  body: string;
  timeoutMs: number;
}

/**
 * Encodes a task id as one path segment. Dots are encoded too, so `.` and `..` can never become
 * dot-segments; the path is sent as is, never normalized.
 */
export function encodeTaskSegment(task: string): string {
  return encodeURIComponent(task).replace(/\./g, '%2E');
}

/** The request URL's origin and raw path for a task. */
export function progressTarget(endpoint: string, task: string): { origin: string; path: string } {
  const url = new URL(endpoint);
  const prefix = url.pathname.replace(/\/+$/, '');
  return { origin: url.origin, path: `${prefix}/${encodeTaskSegment(task)}/progress` };
}

export class Transport {
  private readonly agent = new EnvHttpProxyAgent({ keepAliveTimeout: 10_000, connections: 4 });

  /** One attempt. Never throws: every failure is an Outcome the retry policy understands. */
  async post(options: PostOptions): Promise<Outcome> {
    const { origin, path } = progressTarget(options.endpoint, options.task);
    const controller = new AbortController();
    // One deadline for the whole exchange: a server sending a byte at a time cannot stretch it.
    const timer = setTimeout(() => controller.abort(), options.timeoutMs);
    try {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'idempotency-key': options.idempotencyKey,
        'user-agent': `progress/${VERSION}`,
      };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      const response = await this.agent.request({
        origin,
        path,
        method: 'POST',
        headers,
        body: options.body,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        signal: controller.signal,
      });
      // Dropping a body early makes undici emit an abort error; nobody needs it.
      response.body.on('error', () => undefined);
      const status = response.statusCode;
      const retryAfterHeader = response.headers['retry-after'];
      const retryAfter = parseRetryAfter(Array.isArray(retryAfterHeader) ? retryAfterHeader[0] : retryAfterHeader, Date.now());
      const ok = status >= 200 && status < 300;
      const detail = ok ? '' : await readSnippet(response.body);
      if (ok) response.body.destroy();
      return classifyStatus(status, retryAfter, detail);
    } catch (error) {
      if (controller.signal.aborted) return { kind: 'retry', reason: `timed out after ${options.timeoutMs} ms` };
      const e = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
      const code = e.code ?? e.cause?.code;
      return { kind: 'retry', reason: `network error${code ? ` ${code}` : ''}: ${e.message}` };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.agent.destroy().catch(() => undefined);
  }
}

/** Reads at most MAX_RESPONSE_BYTES of a body as one line of text, then drops the rest. */
async function readSnippet(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_RESPONSE_BYTES) break;
    }
  } catch {
    // a body that fails half-way still gives its status
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks)
    .subarray(0, 300)
    .toString('utf8')
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .trim();
}
