// A tiny HTTP forward proxy on 127.0.0.1 (CONNECT tunnels and absolute-form requests) that records what it relays.
// Whatever host a client names, it connects only to 127.0.0.1 on the named port: a test can never reach the outside.
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface ProxiedRequest {
  /** `CONNECT` or the forwarded method. */
  method: string;
  /** `host:port` of a CONNECT, or the absolute URL of a forwarded request. */
  target: string;
}

export interface Proxy {
  url: string;
  seen: ProxiedRequest[];
  close(): Promise<void>;
}

function portOf(target: string, fallback: number): number {
  const port = Number(/:(\d+)$/.exec(target)?.[1]);
  return Number.isInteger(port) && port > 0 ? port : fallback;
}

export async function startProxy(): Promise<Proxy> {
  const seen: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res) => {
    const target = req.url ?? '';
    seen.push({ method: req.method ?? '', target });
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      res.writeHead(400).end('absolute-form URL expected');
      return;
    }
    const upstream = httpRequest(
      { host: '127.0.0.1', port: Number(url.port || 80), method: req.method, path: `${url.pathname}${url.search}`, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    seen.push({ method: 'CONNECT', target });
    const upstream = connect(portOf(target, 443), '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
