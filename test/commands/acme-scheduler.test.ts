// Automated renewal. Pure decisions first; then the real service (real certificate service,
// configuration, alarms) on a simulated clock over 90-day lifetimes, with a CA that signs at
// simulated time: renewal at two thirds, at a drawn moment, deploy at the scheduled slot, never
// expired; and when renewal fails or hangs, alarms raised independently of the renewal job.
import t from 'tap';
import fc from 'fast-check';
import {
  renewalTime, overdueTime, deployDeadline, signMoments, nextSignMoment, nextSlot, plan, backoff, DAY_MS, type PlanInput,
} from '../../src/services/acme/scheduler.js';
import type { Actor } from '../../src/services/interfaces.js';
import { simClock } from '../helpers/simclock.js';
import { FakeIssuer } from '../helpers/fake-issuer.js';
import { testApp } from '../helpers/app.js';

const ADMIN: Actor = { user: 'admin', role: 'Admin', remote: 'sim', session: 'sim' };
const T0 = Date.UTC(2027, 0, 4, 0, 0, 0); // a Monday
const LIFE = 90 * DAY_MS;
const dayName = (ms: number) => ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][new Date(ms).getUTCDay()]!;

t.test('pure: renewal points, moments, slots, plan', async (t) => {
  const c = { notBefore: T0, notAfter: T0 + LIFE };
  t.equal(renewalTime(c), T0 + 60 * DAY_MS);
  t.equal(overdueTime(c), T0 + 75 * DAY_MS);
  t.equal(deployDeadline(c), T0 + 72 * DAY_MS);

  const seed = 'a'.repeat(64);
  const day = Math.floor(T0 / DAY_MS);
  const [m1, m2] = signMoments(day, DAY_MS, seed);
  t.ok(m1 >= T0 && m1 < T0 + DAY_MS / 2 && m2 >= T0 + DAY_MS / 2 && m2 < T0 + DAY_MS, 'one moment in each half of the day');
  t.same(signMoments(day, DAY_MS, seed), [m1, m2], 'repeatable for a seed');
  t.not(signMoments(day, DAY_MS, 'b'.repeat(64))[0], m1, 'another seed, other moments');
  t.not(signMoments(day + 1, DAY_MS, seed)[0] - DAY_MS, m1, 'another day, other moments');
  t.equal(nextSignMoment(T0, DAY_MS, seed), m1);
  t.equal(nextSignMoment(m1 + 1, DAY_MS, seed), m2);

  const sched = { days: 'Mon,Thu', time: '03:00' };
  t.equal(nextSlot(T0, sched), T0 + 3 * 3600_000, 'Monday 03:00');
  t.equal(nextSlot(T0 + 3 * 3600_000, sched), T0 + 3 * 3600_000, 'a slot at the exact time is taken');
  t.equal(nextSlot(T0 + 3 * 3600_000 + 1, sched), T0 + 3 * DAY_MS + 3 * 3600_000, 'then Thursday');
  t.equal(dayName(nextSlot(T0 + 4 * DAY_MS, sched)!), 'Mon');
  t.equal(nextSlot(T0, { days: '', time: '03:00' }), undefined);

  const base: PlanInput = { now: T0, automated: true, signing: false, schedule: sched, periodMs: DAY_MS, seed };
  t.same(plan({ ...base, automated: false }), {}, 'manual mode plans nothing');
  t.same(plan({ ...base, deployed: { ...c, acme: false } }), { nextSign: T0 }, 'no ACME certificate yet: sign at once');
  t.same(plan({ ...base, deployed: { ...c, acme: false }, signNotBefore: T0 + 5000 }), { nextSign: nextSignMoment(T0 + 5000, DAY_MS, seed) }, 'after a failure or rate limit: the next drawn moment');
  const renew = plan({ ...base, deployed: { ...c, acme: true } }).nextSign!;
  t.ok(renew >= T0 + 60 * DAY_MS && renew < T0 + 61 * DAY_MS, 'renewal at the first moment after two thirds');
  t.same(plan({ ...base, signing: true, deployed: { ...c, acme: true } }), {});
  const staged = (signed: number) => ({ signed, notBefore: signed, notAfter: signed + LIFE });
  t.same(plan({ ...base, deployed: { ...c, acme: true }, pending: staged(T0 + 60 * DAY_MS + 5) }), { nextDeploy: nextSlot(T0 + 60 * DAY_MS + 5, sched) });
  t.same(plan({ ...base, schedule: { days: '', time: '03:00' }, deployed: { ...c, acme: true }, pending: staged(T0 + 61 * DAY_MS) }), { nextDeploy: deployDeadline(c) }, 'no day: the deadline');
  t.same(plan({ ...base, deployed: { ...c, acme: true }, pending: staged(T0 + 71 * DAY_MS + 23 * 3600_000) }), { nextDeploy: deployDeadline(c) }, 'slot after the deadline: the deadline');
  const stale = plan({ ...base, now: T0 + 61 * DAY_MS, deployed: { ...c, acme: false }, pending: staged(T0) });
  t.equal(stale.nextSign, T0 + 61 * DAY_MS, 'a staged certificate past its own renewal point is replaced');
  t.equal(stale.nextDeploy, nextSlot(T0, sched), 'and may still be deployed meanwhile');
  t.equal(backoff(0, 1000, 8000, 0.5), 1000);
  t.equal(backoff(5, 1000, 8000, 0.5), 8000);

  fc.assert(fc.property(
    fc.integer({ min: 0, max: 10 * 365 }), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 0, max: 400 * 24 }), fc.string({ minLength: 8, maxLength: 16 }),
    (startDay, lifeDays, nowHours, s) => {
      const cert = { notBefore: T0 + startDay * DAY_MS, notAfter: T0 + (startDay + lifeDays) * DAY_MS };
      const now = cert.notBefore + nowHours * 3600_000;
      const p = plan({ ...base, now, seed: s, deployed: { ...cert, acme: true } });
      const r = renewalTime(cert);
      return p.nextSign !== undefined && p.nextSign >= r && p.nextSign < r + DAY_MS;
    }), { numRuns: 500 });
});


async function simEnv(t: Tap.Test, limits: Record<string, number> = {}) {
  const clock = simClock(T0);
  const ca = new FakeIssuer(clock, LIFE);
  let seed = 7;
  // The whole appliance on the simulated clock, with no disk behind its storage and a fake CA.
  const app = testApp(t, {
    clock, issuer: ca, storage: 'memory', defaultCas: () => [],
    random: () => ((seed = (seed * 48271) % 2147483647) / 2147483647),
    acmeLimits: { alarmCheckMs: 3600_000, ...limits },
  });
  const { acme } = app;
  const certs = app.web.certificates;
  const { config, state, alarms } = app.services;
  config.set([
    { key: 'Security Acme Provider', value: 'Custom' }, { key: 'Security Acme DirectoryUrl', value: 'https://ca.sim.example/dir' },
    { key: 'Security Acme AdminEmail', value: 'admin@example.com' },
    { key: 'Security Acme Scheduler Days', value: 'Mon,Thu' }, { key: 'Security Acme Scheduler Time', value: '03:00' },
  ], ADMIN);
  await acme.acceptTerms(ADMIN, true);
  await certs.createCsr({ commonName: 'sim.example.com', alternativeNames: ['sim.example.com'], keyType: 'RSA-2048', reuseKey: false }, ADMIN);
  return { clock, acme, certs, ca, alarms, config, state };
}
type Tap = typeof t;
declare namespace Tap { type Test = Parameters<Parameters<typeof t.test>[1]>[0]; }

t.test('simulated clock, 90-day lifetimes over 400 days: renewed at two thirds, deployed at Mon/Thu 03:00, never expired', async (t) => {
  const { clock, acme, certs, ca, alarms, config, state } = await simEnv(t);
  config.set([{ key: 'Security Acme Scheduler Mode', value: 'On' }], ADMIN);
  const deploys: { at: number; serial: string }[] = [];
  const plannedSigns: number[] = [];
  let lastSerial = certs.active().info.serial;
  let expiredSeen = 0;
  const seen = new Set<string>();
  for (let step = 0; step < 20_000; step++) {
    const now = clock.now().getTime();
    if (now >= T0 + 400 * DAY_MS) break;
    const st = acme.status() as { NextSign: string; NextDeploy: string; Status: string };
    if (st.NextSign) plannedSigns.push(Date.parse(st.NextSign));
    await clock.advanceTo(now + 3600_000);
    const active = certs.active();
    if (active.info.serial !== lastSerial) {
      deploys.push({ at: clock.now().getTime(), serial: active.info.serial });
      lastSerial = active.info.serial;
    }
    if (Date.parse(active.info.notAfter) <= clock.now().getTime()) expiredSeen++;
    for (const a of alarms.list()) seen.add(a.id);
  }
  t.equal(expiredSeen, 0, 'the certificate in use never expired');
  t.ok(ca.issued.length >= 6, `${ca.issued.length} certificates signed in 400 days`);
  t.equal(ca.issued[0]!.at, T0, 'the first certificate is requested at once when automation starts');
  t.equal(deploys[0]!.at, T0 + 3 * 3600_000, 'and deployed at the first slot (Monday 03:00)');
  const seed = (state.read('acme') as { seed: string }).seed;
  for (let i = 1; i < ca.issued.length; i++) {
    const prev = ca.issued[i - 1]!;
    const renewAt = renewalTime({ notBefore: prev.at, notAfter: prev.notAfter });
    const at = ca.issued[i]!.at;
    t.ok(at >= renewAt && at < renewAt + DAY_MS, `renewal ${i} at ${new Date(at).toISOString()} within a day after two thirds`);
    const day = Math.floor(at / DAY_MS);
    t.ok(signMoments(day, DAY_MS, seed).includes(at), `renewal ${i} at one of that day's two drawn moments`);
  }
  for (const d of deploys.slice(1)) {
    t.ok(['Mon', 'Thu'].includes(dayName(d.at)) && new Date(d.at).toISOString().slice(11, 16) === '03:00', `deploy at ${new Date(d.at).toISOString()}`);
    const signed = ca.issued.find((i) => i.serial === d.serial)!;
    t.equal(d.at, nextSlot(signed.at, { days: 'Mon,Thu', time: '03:00' }), 'the first slot after signing');
  }
  t.same([...seen].filter((a) => a.startsWith('acme.')), [], 'no ACME alarm in a healthy run');
  t.match(acme.status(), { Status: 'Automated', LastSign: { Status: 'Succeeded' }, LastDeploy: { Status: 'Succeeded' } });
});

t.test('simulated clock: renewal failing raises its alarm; overdue is raised by the watchdog even while the job hangs', async (t) => {
  const { clock, acme, certs, ca, alarms, config } = await simEnv(t, { orderTimeoutMs: 400 * DAY_MS });
  config.set([{ key: 'Security Acme Scheduler Mode', value: 'On' }], ADMIN);
  await clock.advanceTo(T0 + DAY_MS);
  const first = certs.active();
  t.equal(first.source, 'Acme');
  const nb = Date.parse(first.info.notBefore);
  const life = { notBefore: nb, notAfter: Date.parse(first.info.notAfter) };

  // The CA goes away: the renewal fails, is retried at later moments, and the alarm says so.
  ca.mode = 'fail';
  await clock.advanceTo(renewalTime(life) + DAY_MS);
  t.match(acme.status(), { Status: 'Failed', LastSign: { Status: 'Failed', Reason: 'CA unreachable: ca.fake.example:443 (ECONNREFUSED)' } });
  t.ok(alarms.list().some((a) => a.id === 'acme.renewal-failing' && /failing: CA unreachable/.test(a.title)), 'failing alarm');
  t.notOk(alarms.list().some((a) => a.id === 'acme.renewal-overdue'), 'not overdue yet');
  t.ok(Date.parse((acme.status() as { NextSign: string }).NextSign) > clock.now().getTime(), 'a next attempt is planned');

  // Now the renewal job hangs (a CA that never answers, order deadline far away): the watchdog
  // alone raises the overdue alarm at five sixths of the lifetime.
  ca.mode = 'hang';
  await clock.advanceTo(overdueTime(life) - 3600_000);
  t.equal((acme.status() as { Status: string }).Status, 'Signing', 'the renewal job is stuck');
  t.notOk(alarms.list().some((a) => a.id === 'acme.renewal-overdue'));
  await clock.advanceTo(overdueTime(life) + 3600_000);
  const overdue = alarms.list().find((a) => a.id === 'acme.renewal-overdue');
  t.ok(overdue, 'overdue alarm raised while the job hangs');
  t.equal(overdue?.severity, 'Warning');
  await clock.advanceTo(life.notAfter + 3600_000);
  t.equal(alarms.list().find((a) => a.id === 'acme.renewal-overdue')?.severity, 'Critical', 'critical once expired');

  // The CA is back. Stopping the service cancels the stuck order; a manual sign and deploy
  // clear both alarms.
  ca.mode = 'ok';
  await acme.stop();
  t.match(acme.status(), { LastSign: { Status: 'Failed', Reason: 'The order was cancelled' } });
  const r = await acme.sign(undefined, true, ADMIN);
  t.equal(r.status, 'Succeeded', r.reason);
  t.notOk(alarms.list().some((a) => a.id === 'acme.renewal-failing'), 'failing alarm lowered by a successful sign');
  await acme.deploy(undefined, ADMIN);
  t.notOk(alarms.list().some((a) => a.id === 'acme.renewal-overdue'), 'overdue alarm lowered by the deploy');
});
