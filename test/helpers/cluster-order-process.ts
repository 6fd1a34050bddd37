// Child process for the order-lock test: a whole appliance as cluster peer `index + 1` (its own
// etcd member), which joins, configures ACME, and starts an order against a CA that never answers.
// It prints `member <pid>` once Active and `ordering` once the order holds its locks, then waits to
// be killed by pid (a dying peer never releases anything). Run with the test's own loader.
import fs from 'node:fs';
import { testApp } from './app.js';
import { FakeIssuer } from './fake-issuer.js';
import { untilActive, formLines } from './cluster-peers.js';
import { ADDRESSES, ETCD_BIN } from './etcd.js';
import { systemClock } from '../../src/platform/clock.js';

const cfg = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as {
  index: number; count: number; dataDir: string; clientPort: number; peerPort: number; certPem: string; keyPem: string; caPem: string; acme: string;
};
const issuer = new FakeIssuer(systemClock);
issuer.mode = 'hang';
const app = testApp({ teardown: () => undefined }, {
  dataDir: cfg.dataDir, storage: 'memory', issuer,
  cluster: { self: ADDRESSES[cfg.index]!, clientPort: cfg.clientPort, peerPort: cfg.peerPort, bin: ETCD_BIN },
  clusterTls: () => ({ certPem: cfg.certPem, keyPem: cfg.keyPem, caPems: [cfg.caPem] }),
});
await app.run(formLines(cfg.count, 1, ['TlsVerify Mode: Enforce']));
await untilActive(app, 'this peer Active');
process.stdout.write(`member ${app.cluster.memberPid}\n`);
const out = (await app.run(cfg.acme)).out;
if (!/SecurityAcmeSignResult \(status=OK\):\n\s+Status: "?InProgress"?/.test(out)) {
  process.stdout.write(`failed ${JSON.stringify(out)}\n`);
  process.exit(1);
}
process.stdout.write('ordering\n');
setInterval(() => undefined, 60_000);
