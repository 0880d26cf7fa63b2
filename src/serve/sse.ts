// Server-sent events: every connected dashboard gets each applied change as one `task` event.
import type { ServerResponse } from 'node:http';

/** Most concurrent streams; more get 503 so a leaky client cannot exhaust the server. */
export const MAX_STREAMS = 64;
const HEARTBEAT_MS = 15_000;

export class EventHub {
  private readonly streams = new Set<ServerResponse>();
  private nextId = 1;
  private readonly heartbeat: NodeJS.Timeout;

  constructor() {
    // A comment line now and then keeps proxies and idle timers from closing a quiet stream.
    this.heartbeat = setInterval(() => {
      for (const res of this.streams) res.write(': keep-alive\n\n');
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.streams.size;
  }

  /** Takes over `res` as an event stream; false when there are too many streams already. */
  open(res: ServerResponse): boolean {
    if (this.streams.size >= MAX_STREAMS) return false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    this.streams.add(res);
    res.on('close', () => this.streams.delete(res));
    return true;
  }

  /** Sends one event to every stream; JSON keeps `data` on one line. */
  publish(event: string, data: unknown): void {
    if (this.streams.size === 0) return;
    const frame = `id: ${this.nextId++}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.streams) res.write(frame);
  }

  /** Ends every stream (shutdown). */
  close(): void {
    clearInterval(this.heartbeat);
    for (const res of this.streams) res.end();
    this.streams.clear();
  }
}
