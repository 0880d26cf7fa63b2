// A self-signed HTTPS receiver on 127.0.0.1: the certificate is made with openssl at test time, in a temp dir.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface HttpsReceiver {
  endpoint: string;
  /** PEM file of the self-signed certificate, for NODE_EXTRA_CA_CERTS. */
  certFile: string;
  requests: { url: string; headers: Record<string, unknown>; body: string }[];
  /** TLS handshakes that failed (the client did not trust us). */
  tlsErrors: number;
  close(): Promise<void>;
}

/** Makes a certificate for 127.0.0.1 / localhost valid for a day. */
export function makeSelfSignedCert(dir: string): { key: string; cert: string } {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  return { key, cert };
}

export async function startHttpsReceiver(): Promise<HttpsReceiver> {
  const dir = mkdtempSync(join(tmpdir(), 'progress-tls-'));
  const files = makeSelfSignedCert(dir);
  const requests: HttpsReceiver['requests'] = [];
  const sockets = new Set<Socket>();
  const state = { tlsErrors: 0 };
  const server: Server = createServer({ key: readFileSync(files.key), cert: readFileSync(files.cert) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  server.on('tlsClientError', () => {
    state.tlsErrors++;
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `https://127.0.0.1:${port}/api/tasks`,
    certFile: files.cert,
    requests,
    get tlsErrors() {
      return state.tlsErrors;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
