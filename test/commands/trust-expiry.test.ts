// Issue 12.14: the default trust store seeded Node's roots including one that had expired (which
// CA Add itself refuses). Only roots valid at seeding time are seeded, at first start and at
// CA Reset; trusted CAs that expire later raise an alarm.
import t from 'tap';
import { FileTrustStore } from '../../src/services/trust/store.js';
import { MemoryStorage } from '../../src/stores/memorystorage.js';
import { wantedAlarms } from '../../src/services/certs/alarms.js';
import { actor, makeCa, makeLeaf, manualClock, testLogger } from '../helpers/pki.js';

const DAY = 86_400_000;

t.test('seeding and CA Reset leave out defaults that have expired', async (t) => {
  const now = new Date();
  const fresh = await makeCa({ cn: 'Fresh Root' });
  const stale = await makeCa({ cn: 'Stale Root', notBefore: new Date(now.getTime() - 400 * DAY), days: 365 });
  const clock = manualClock(now);
  const store = new FileTrustStore({ storage: new MemoryStorage(), clock, logger: testLogger().logger, defaults: () => [fresh.pem, stale.pem] });
  t.same(store.list().map((c) => c.commonName), ['Fresh Root']);
  // Reset is judged at its own time: later, the fresh one has expired too.
  clock.set(new Date(now.getTime() + 400 * DAY));
  store.reset(actor);
  t.same(store.list().map((c) => c.commonName), []);
});

t.test('trusted CAs expiring within 30 days or expired raise one alarm each way, naming them', async (t) => {
  const now = new Date();
  const server = (await makeLeaf(undefined, { cn: 'edge.example.com' })).x509;
  const info = (cn: string, notAfter: number) => ({ commonName: cn, subject: `CN=${cn}`, fingerprint: cn, notAfter: new Date(notAfter).toISOString() });
  const serverInfo = { commonName: 'edge.example.com', notAfter: new Date(Date.parse(server.validTo)).toISOString() };
  const trusted = [
    info('Ok Root', now.getTime() + 400 * DAY),
    info('Soon Root', now.getTime() + 10 * DAY),
    info('Old Root 1', now.getTime() - DAY),
    info('Old Root 2', now.getTime() - 2 * DAY),
    info('Old Root 3', now.getTime() - 3 * DAY),
    info('Old Root 4', now.getTime() - 4 * DAY),
  ];
  const alarms = wantedAlarms({ server: serverInfo as never, domains: [], trusted: trusted as never }, now);
  t.same(alarms.map((a) => [a.id, a.title]), [
    ['certificates.trust.expired', '4 trusted CAs expired and no longer verify anything: Old Root 1, Old Root 2, Old Root 3 and 1 more'],
    ['certificates.trust.expiring', '1 trusted CA expires within 30 days: Soon Root'],
  ]);
});
