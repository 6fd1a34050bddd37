// Child process for the lease and lock tests: holds a challenge answer under a lease, a lock and a
// heartbeat, says "ready", and waits to be killed by pid (a dying holder never calls close()).
// Run with the test's own loader (process.execArgv).
import fs from 'node:fs';
import { ClusterClient } from '../../src/cluster/client.js';
import { Heartbeat } from '../../src/cluster/heartbeat.js';

const cfg = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as {
  endpoints: string[]; caPem: string; certPem: string; keyPem: string; ttl: number; lock: string; key: string; peer: number;
};
const client = new ClusterClient({ endpoints: cfg.endpoints, tls: { caPem: cfg.caPem, certPem: cfg.certPem, keyPem: cfg.keyPem } });
const lease = await client.lease(cfg.ttl);
await lease.put(cfg.key, 'answer');
const lock = await client.tryLock(cfg.lock, cfg.ttl);
await Heartbeat.start(client, cfg.peer, { ttlSeconds: cfg.ttl, intervalMs: 200 });
process.stdout.write(lock ? 'ready\n' : 'lock-busy\n');
setInterval(() => undefined, 60_000);
