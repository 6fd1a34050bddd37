// Ports for several peers on distinct loopback addresses (127.0.0.2, .3, ...): a cluster's peers all
// listen on the same ports, each on its own address, so a port must be free on every one of them.
import net from 'node:net';

export function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** A TCP port free on every one of `hosts` a moment ago, other than `not`. */
export async function freePortOn(hosts: readonly string[], not: readonly number[] = []): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, hosts[0], () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (not.includes(port)) continue;
    const ok = await Promise.all(hosts.map((h) => canBind(h, port)));
    if (ok.every(Boolean)) return port;
  }
  throw new Error('no port free on every peer address');
}
