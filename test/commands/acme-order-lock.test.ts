// The cluster's order lock as the ACME service sees it (src/services/acme/order-lock.ts), with a
// lock the test controls: an order holds the lock of its names while it runs and releases it when
// it ends; a lock lost mid-order (the peer cut off from the cluster past the lease, so another
// peer may order the same names) stops the order at once, and LastSign says why. The same through
// real etcd is test/cluster/cluster-lock.test.ts (taking and refusing).
import t from 'tap';
import { testApp } from '../helpers/app.js';
import { FAKE_CA_ACCOUNT, FakeIssuer } from '../helpers/fake-issuer.js';
import { until } from '../helpers/wait.js';
import { systemClock } from '../../src/platform/clock.js';
import type { OrderLock } from '../../src/services/acme/order-lock.js';

t.test('a lock lost mid-order stops the order; it is released when the order ends', async (t) => {
  const issuer = new FakeIssuer(systemClock);
  const taken: string[][] = [];
  let released = 0;
  let lose: (() => void) | undefined;
  const orderLock: OrderLock = {
    acquire: async (names) => {
      taken.push([...names]);
      return { release: async () => { released++; }, onLost: (fn) => { lose = fn; } };
    },
  };
  const app = testApp(t, { storage: 'memory', issuer, defaultCas: () => [], orderLock });
  const sh = async (input: string) => (await app.run(input, 'exec')).out;
  await sh([
    ...FAKE_CA_ACCOUNT,
    'xCommand Security Certificates CSR Create CommonName: edge.example.com AlternativeNames: "www.example.com" KeyType: ECDSA-P256',
  ].join('\n'));

  // An order that ends releases its lock.
  t.match(await sh('xCommand Security Acme Sign Wait: True'), /Status: "?Succeeded"?/);
  t.same(taken, [['edge.example.com', 'www.example.com']], 'every name of the order is locked');
  await until(() => released === 1, 'the lock released', 10_000);

  // A CA that never answers keeps the next order running until its lock is lost.
  issuer.mode = 'hang';
  t.match(await sh('xCommand Security Acme Sign'), /Status: "?InProgress"?/);
  await until(() => lose !== undefined, 'the order holds its lock', 10_000);
  lose!();
  await until(() => (app.acme.status() as { LastSign?: { Status?: string } }).LastSign?.Status === 'Failed', 'the order stopped', 30_000);
  const out = await sh('xStatus Security Acme LastSign');
  t.match(out, /Reason: "This peer lost the cluster lock on edge\.example\.com, www\.example\.com: the order was stopped, as another peer may order the same name now"/);
  await until(() => released === 2, 'the lost lock released too', 10_000);
  t.equal(issuer.issued.length, 1, 'the CA issued nothing more');
  t.equal(app.acme.pending(undefined)?.info.serial, issuer.issued[0]!.serial, 'the earlier signed certificate still waits; nothing new was staged');
  // The target is free again: a new order may start (and hang) at once. A late word about the old
  // lock does not touch it: it holds a lock of its own.
  const oldLock = lose!;
  t.match(await sh('xCommand Security Acme Sign'), /Status: "?InProgress"?/);
  oldLock();
  await new Promise((r) => setImmediate(r));
  t.match(await sh('xStatus Security Acme LastSign'), /Status: "?InProgress"?/, 'the new order runs on');
});
