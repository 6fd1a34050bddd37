// The ACME state read back from a database written by an older or damaged version: what can be
// used is kept (ARI window, failure count, directory snapshot), what cannot is dropped so the
// service asks again or starts over, never crashes or trusts a broken value.
import t from 'tap';
import { PendingRepository } from '../../src/services/acme/pending.js';
import { AcmeStore } from '../../src/stores/acme.js';
import { MemoryStorage } from '../../src/stores/memorystorage.js';
import type { StateStore } from '../../src/services/interfaces.js';

function stateWith(value: unknown): StateStore & { written: unknown } {
  const s = {
    written: undefined as unknown,
    read: <T>() => value as T,
    write: (_k: string, v: unknown) => { s.written = JSON.parse(JSON.stringify(v)); },
  };
  return s as unknown as StateStore & { written: unknown };
}

const sign = { status: 'Failed', time: '2027-01-04T00:00:00Z', reason: 'x' };
const deploy = { status: 'None', time: '', reason: '' };

t.test('usable values kept, broken ones dropped', async (t) => {
  const ari = { certId: 'AAAA.AQ', lastCheck: 1000, nextCheck: 5000, window: { start: 10, end: 20 }, explanationUrl: 'https://ca.example/x' };
  const state = stateWith({
    seed: 's', accounts: {},
    targets: {
      server: { lastSign: sign, lastDeploy: deploy, failures: 3, ari },
      'domain:a.example': { lastSign: sign, lastDeploy: deploy, failures: -2, ari: { certId: 5 } },
      'domain:b.example': { lastSign: sign, lastDeploy: deploy, failures: 'many', ari: { certId: 'B.B', lastCheck: 1, nextCheck: 2, window: { start: 9, end: 3 } } },
    },
    ca: { directoryUrl: 'https://ca.example/dir', fetched: 1, profiles: { classic: '90 days' }, renewalInfo: 'https://ca.example/ri' },
  });
  const repo = new PendingRepository(state, new AcmeStore(new MemoryStorage()), Math.random);
  const rec = (key: string) => repo.record({ key } as never);
  t.same(rec('server').failures, 3);
  t.same(rec('server').ari, ari);
  t.same([rec('domain:a.example').failures, rec('domain:a.example').ari], [undefined, undefined], 'negative count and broken ARI state dropped');
  t.same([rec('domain:b.example').failures, rec('domain:b.example').ari], [undefined, { certId: 'B.B', lastCheck: 1, nextCheck: 2 }], 'a window that ends before it starts is dropped, the poll times kept');
  t.same(repo.ca, { directoryUrl: 'https://ca.example/dir', fetched: 1, profiles: { classic: '90 days' }, renewalInfo: 'https://ca.example/ri' });

  const broken = new PendingRepository(stateWith({ seed: 's', accounts: {}, targets: {}, ca: { directoryUrl: 'https://ca.example/dir', profiles: 'classic' } }), new AcmeStore(new MemoryStorage()), Math.random);
  t.equal(broken.ca, undefined, 'a broken directory snapshot is fetched again');
});
