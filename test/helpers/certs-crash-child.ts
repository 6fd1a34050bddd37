// Child process for the kill -9 test: appends and deletes CAs and installs certificates in a loop,
// as fast as it can, until the parent kills it. Run with the test's own loader (process.execArgv).
import fs from 'node:fs';
import { FileTrustStore } from '../../src/services/trust/store.js';
import { FileCertificateService } from '../../src/services/certs/service.js';
import { manualClock, MemoryAlarms, testLogger, actor } from './pki.js';
import { FileStorage } from '../../src/stores/filestorage.js';

const [dir, fixtureFile] = process.argv.slice(2) as [string, string];
const fx = JSON.parse(fs.readFileSync(fixtureFile, 'utf8')) as { batches: string[]; pairs: { cert: string; key: string }[] };
const clock = manualClock();
const { logger } = testLogger();
const storage = new FileStorage(dir);
const trust = new FileTrustStore({ storage, clock, logger, defaults: () => [] });
// Opening the service is what a restart does: an upload waiting for it becomes the active certificate.
const open = () => FileCertificateService.open({ storage, clock, logger, alarms: new MemoryAlarms(), trust, systemName: () => 'edge.example.com' });
let certs = await open();
// A previous round may have been killed between Domain Add and Delete.
if (certs.domains().length) certs.deleteDomain('shop.example.com', actor);
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  const batch = fx.batches[i % fx.batches.length]!;
  const r = trust.add(batch, actor);
  if (r.added.length) trust.delete(r.added.map((c) => c.fingerprint), actor);
  const pair = fx.pairs[i % fx.pairs.length]!;
  if (i % 2) {
    // A deploy refuses to discard an upload that waits for a restart, so restart after each upload.
    certs.upload(pair.cert + pair.key, actor);
    certs = await open();
  } else await certs.deploy(pair.cert, [], pair.key, 'Acme', actor);
  certs.addDomain('shop.example.com', i % 3 ? pair.cert + pair.key : undefined, actor);
  certs.deleteDomain('shop.example.com', actor);
}
