// A whole appliance as a child process, for the cluster ACME tests: it joins the cluster as the
// given peer, says `active <etcd member pid>` once Active, and on `order <name>` (stdin) accepts the
// CA's terms (the provider comes with the shared configuration), makes a CSR for the name and starts
// an order, saying `ordering`, then `sign <Status> <Reason>` at every change of LastSign. It is killed by pid mid-order (it never closes anything itself).
// Run with the test's own loader (process.execArgv).
import fs from 'node:fs';
import readline from 'node:readline';
import { testApp, ADMIN } from './app.js';

const cfg = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as {
  dataDir: string; self: string; clientPort: number; peerPort: number; bin: string;
  certPem: string; keyPem: string; caPem: string; form: string;
};
const say = (line: string) => process.stdout.write(`${line}\n`);
const app = testApp({ teardown() {} }, {
  dataDir: cfg.dataDir,
  storage: 'memory',
  cluster: { self: cfg.self, clientPort: cfg.clientPort, peerPort: cfg.peerPort, bin: cfg.bin },
  clusterTls: () => ({ certPem: cfg.certPem, keyPem: cfg.keyPem, caPems: [cfg.caPem] }),
});
const joined = await app.run(cfg.form);
if (/ERROR/.test(joined.out)) say(`error ${joined.out.replace(/\n/g, ' ')}`);
const active = setInterval(() => {
  const s = app.services.status.snapshot().Clustering as { Status: string };
  if (s.Status !== 'Active') return;
  clearInterval(active);
  say(`active ${app.cluster.memberPid}`);
}, 50);

async function order(name: string): Promise<void> {
  // The provider and the CA's certificate arrive with the shared configuration and trust store.
  const end = Date.now() + 60_000;
  for (;;) {
    try {
      await app.acme.acceptTerms(ADMIN, true);
      break;
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await app.web.certificates.createCsr({ commonName: name, alternativeNames: [name], keyType: 'ECDSA-P256', reuseKey: false }, ADMIN);
  await app.acme.sign(undefined, false, ADMIN);
  say('ordering');
  // Every change of LastSign, so a test waiting for the CA's request also hears of a failed order.
  let last = '';
  const report = () => {
    const s = (app.acme.status() as { LastSign?: { Status?: string; Reason?: string } }).LastSign;
    const line = `sign ${s?.Status ?? ''} ${s?.Reason ?? ''}`.trim();
    if (line !== last) say((last = line));
  };
  report();
  setInterval(report, 50);
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const m = /^order (\S+)$/.exec(line);
  if (m) order(m[1]!).catch((e: Error) => say(`error ${e.message}`));
});
