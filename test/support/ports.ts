// Ports free on several loopback addresses at once: every peer of a cluster uses the same etcd
// ports on its own address. Shared by the cluster tests (test/helpers/etcd.ts) and the cluster
// benchmark (bench/cluster.ts), which runs compiled and so imports from here.
import net from 'node:net';

export function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** A port that every one of `hosts` can bind, other than those in `not`. */
export async function freePortOn(hosts: readonly string[], not: number[] = []): Promise<number> {
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
    if ((await Promise.all(hosts.map((h) => canBind(h, port)))).every(Boolean)) return port;
  }
  throw new Error(`no port free on every one of ${hosts.join(', ')}`);
}
