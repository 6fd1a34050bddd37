// A mass revocation through the whole appliance, on a simulated clock with the fake CA: every
// certificate's ARI window moves into the past at once. The renewal job runs at most
// `maxOrders` orders at a time (all 13 at once overloaded appliance and CA in the benchmark,
// bench/massrev.ts), starts the next one as a slot frees, does not spin while every slot is
// taken, and ends with every certificate renewed (with `replaces`) and deployed.
import t from 'tap';
import { simClock } from '../helpers/simclock.js';
import { FakeIssuer } from '../helpers/fake-issuer.js';
import { testApp, ADMIN } from '../helpers/app.js';
import { DAY_MS } from '../../src/services/acme/scheduler.js';
import { DEFAULT_LIMITS } from '../../src/services/acme/settings.js';
import type { OrderRequest } from '../../src/services/acme/issuer.js';
import type { Clock } from '../../src/platform/clock.js';
import type { RenewalInfoResult } from '../../src/services/acme/ari.js';

const T0 = Date.UTC(2027, 0, 4, 0, 0, 0); // a Monday
const HOUR = 3600_000;
const DOMAINS = 12;

/** The fake CA, holding each order until the test lets it through while `gated`; its renewal information takes 200 ms. */
class GatedIssuer extends FakeIssuer {
  gated = false;
  running = 0;
  peak = 0;
  readonly held: (() => void)[] = [];

  constructor(private readonly time: Clock) {
    super(time, 90 * DAY_MS);
  }

  /** A CA's round trip: the polls of overlapping ticks would overlap too. */
  override async renewalInfo(url: string, certId: string): Promise<RenewalInfoResult> {
    await new Promise<void>((resolve) => this.time.setTimeout(resolve, 200));
    return super.renewalInfo(url, certId);
  }

  override async order(p: unknown, a: unknown, req: OrderRequest): Promise<string> {
    this.running++;
    this.peak = Math.max(this.peak, this.running);
    try {
      if (this.gated) await new Promise<void>((resolve) => this.held.push(resolve));
      return await super.order(p, a, req);
    } finally {
      this.running--;
    }
  }
}

t.test('a mass revocation renews every certificate, at most maxOrders orders at a time', async (t) => {
  const clock = simClock(T0);
  let fired = 0;
  const counted: Clock = { ...clock, setTimeout: (fn, ms) => clock.setTimeout(() => { fired++; fn(); }, ms) };
  const ca = new GatedIssuer(clock);
  ca.ari = true;
  const app = testApp(t, { clock: counted, issuer: ca, storage: 'memory', defaultCas: () => [] });
  const sh = async (line: string) => {
    const r = await app.run(line, 'exec');
    if (r.code !== 0) throw new Error(`${line}:\n${r.out}`);
  };
  app.services.config.set([
    { key: 'Security Acme Provider', value: 'Custom' }, { key: 'Security Acme DirectoryUrl', value: 'https://ca.fake.example/dir' },
    { key: 'Security Acme AdminEmail', value: 'admin@example.com' },
    // The only deploy day is Thursday: the renewal below deploys on a Monday because it is urgent.
    { key: 'Security Acme Scheduler Days', value: 'Thu' },
  ], ADMIN);
  await app.acme.acceptTerms(ADMIN, true);
  await app.web.certificates.createCsr({ commonName: 'mass.example.com', alternativeNames: ['mass.example.com'], keyType: 'ECDSA-P256', reuseKey: false }, ADMIN);
  await sh('xCommand Security Acme Sign Wait: True');
  await sh('xCommand Security Acme Deploy');
  const names = Array.from({ length: DOMAINS }, (_, i) => `d${i + 1}.example.com`);
  for (const n of names) {
    await sh(`xCommand Security Certificates Domain Add Name: ${n}`);
    await sh(`xCommand Security Acme Sign Domain: ${n} Wait: True`);
    await sh(`xCommand Security Acme Deploy Domain: ${n}`);
  }
  const inUse = () => [app.web.certificates.active(), ...app.web.certificates.domains().map((d) => d.certificate!)];
  const before = inUse().map((c) => c.info.serial);
  const ids = ca.issued.map((i) => i.certId);
  t.equal(ids.length, DOMAINS + 1);

  // Scheduler on, windows a month away: each certificate is polled once, nothing is ordered.
  for (const id of ids) ca.windows.set(id, { start: T0 + 30 * DAY_MS, end: T0 + 31 * DAY_MS, retryAfterS: 3600 });
  app.services.config.set([{ key: 'Security Acme Scheduler Mode', value: 'On' }], ADMIN);
  await clock.advanceTo(T0 + 60_000);
  t.same(new Set(ca.renewalInfoAsked.map((a) => a.certId)), new Set(ids), 'every certificate polled');
  t.equal(ca.orders.length, DOMAINS + 1, 'no renewal ordered yet');

  // The CA moves every window into the past; the next poll, an hour on, finds it.
  for (const id of ids) ca.windows.set(id, { start: T0 - 2 * DAY_MS, end: T0 - DAY_MS, retryAfterS: 3600 });
  ca.gated = true;
  await clock.advanceTo(T0 + HOUR + 5000);
  const max = DEFAULT_LIMITS.maxOrders;
  t.equal(ca.running, max, `${max} orders run at once, not ${DOMAINS + 1}`);

  // Every slot taken for a minute (within the order timeout): the job waits for an order to end
  // instead of arming a tick at once again and again.
  fired = 0;
  await clock.advanceTo(clock.now().getTime() + 60_000);
  t.ok(fired < 10, `timers fired while every slot was taken: ${fired}`);
  t.equal(ca.running, max);

  // Let the orders through one at a time: each freed slot starts the next order at once.
  for (let i = 0; i < 3 * (DOMAINS + 1) && ca.held.length > 0; i++) {
    ca.held.shift()!();
    await clock.advanceTo(clock.now().getTime() + 1000);
    t.ok(ca.running <= max, 'never more than maxOrders');
  }
  await clock.advanceTo(clock.now().getTime() + 60_000);
  t.equal(ca.peak, max, 'peak concurrency');
  t.equal(ca.held.length, 0, 'no order left waiting');
  const after = inUse();
  t.ok(after.every((c, i) => c.source === 'Acme' && c.info.serial !== before[i]), 'every certificate renewed and in use');
  t.ok(after.every((c) => Date.parse(c.info.notBefore) >= T0 + HOUR), 'deployed on Monday although the deploy day is Thursday');
  const renewals = ca.orders.slice(DOMAINS + 1);
  t.same(new Set(renewals.map((o) => o.replaces)), new Set(ids), 'each renewal replaces its certificate');
  t.equal(renewals.length, DOMAINS + 1, 'one order each: none failed');
  // Each certificate asked about once: the old ones at the poll, the new ones after their deploy.
  // Overlapping ticks poll one after the other: no certificate asked about again before its Retry-After.
  const asked = new Map<string, number>();
  const early = ca.renewalInfoAsked.filter((a) => {
    const last = asked.get(a.certId);
    asked.set(a.certId, a.at);
    return last !== undefined && a.at - last < HOUR;
  });
  t.same(early, [], 'no certificate asked about twice within its Retry-After');
  t.ok(ca.renewalInfoAsked.length > 2 * (DOMAINS + 1), 'renewed certificates are polled too');
  t.notOk(app.services.alarms.list().some((a) => a.id.startsWith('acme.renewal-failing')), 'no failing alarm');
  t.notOk(app.acme.pending(undefined) ?? names.map((n) => app.acme.pending(n)).find((p) => p !== undefined), 'nothing left staged');
});
