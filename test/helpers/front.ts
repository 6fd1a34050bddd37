// A TCP front between Pebble's validator and the appliance's HTTP listener, to shape what the
// CA sees: hold validation requests (so a challenge stays open while tests probe the listener),
// or answer them with a wrong key authorization (a token mismatch). Loopback, port 0.
import net from 'node:net';

export interface Front {
  readonly port: number;
  /** Paths pebble asked for, in order. */
  readonly seen: string[];
  /** Resolves when pebble's first validation request arrives; gives its path. */
  readonly firstRequest: Promise<string>;
  /** Lets held requests through (mode 'hold'). */
  release(): void;
  close(): Promise<void>;
}

export type FrontMode = 'pass' | 'hold' | 'tamper';

export async function startFront(targetPort: number, mode: FrontMode): Promise<Front> {
  const seen: string[] = [];
  let released = mode !== 'hold';
  const waiting: (() => void)[] = [];
  let first!: (p: string) => void;
  const firstRequest = new Promise<string>((r) => (first = r));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length > 65536) return client.destroy();
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.off('data', onData);
      const line = buf.subarray(0, buf.indexOf('\r\n')).toString('latin1');
      const p = line.split(' ')[1] ?? '';
      seen.push(p);
      first(p);
      if (mode === 'tamper') {
        const body = 'not-the-key-authorization';
        client.end(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
        return;
      }
      const go = () => {
        const upstream = net.connect(targetPort, '127.0.0.1', () => {
          upstream.write(buf);
          client.pipe(upstream).pipe(client);
        });
        sockets.add(upstream);
        upstream.on('close', () => { sockets.delete(upstream); client.destroy(); });
        upstream.on('error', () => client.destroy());
      };
      if (released) go();
      else waiting.push(go);
    };
    client.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    firstRequest,
    release() {
      released = true;
      for (const w of waiting.splice(0)) w();
    },
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}
