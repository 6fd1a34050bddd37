// A real HTTP listener standing in for the appliance's port 80 until the TLS service's listener
// is used: loopback, port 0, the ChallengeHost hook, 404 for everything the handler leaves.
import http from 'node:http';
import type net from 'node:net';
import type { ChallengeHandler } from '../../src/services/interfaces.js';

export interface TestChallengeHost {
  readonly port: number;
  setChallengeHandler(h: ChallengeHandler | undefined): void;
  /** True while a handler is installed. */
  readonly installed: boolean;
  /** Number of times a handler was installed / removed. */
  readonly changes: number;
  close(): Promise<void>;
}

export async function startChallengeHost(): Promise<TestChallengeHost> {
  let handler: ChallengeHandler | undefined;
  let changes = 0;
  const server = http.createServer({ maxHeaderSize: 8192, headersTimeout: 5000, requestTimeout: 10_000 }, (req, res) => {
    if (handler && handler(req, res)) return;
    res.writeHead(404, { 'Content-Length': 0, Connection: 'close' });
    res.end();
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    setChallengeHandler(h) { handler = h; changes++; },
    get installed() { return handler !== undefined; },
    get changes() { return changes; },
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}
