// ARI, profiles and persistent back-off through the whole appliance, on a simulated clock with
// the fake CA answering as its directory (windows, profiles, `replaces` recorded): renewal at the
// drawn moment inside the CA's window; a window moved into the past signs and deploys at once,
// outside the deploy days, with an alarm; alreadyReplaced orders again without `replaces`;
// an unknown profile is refused naming the offered ones; failures back off exponentially and the
// back-off survives a restart, and so do the window and the next poll; a deleted domain stops
// renewing and its alarms and key go.
import t from 'tap';
import { simClock, type SimClock } from '../helpers/simclock.js';
import { FakeIssuer } from '../helpers/fake-issuer.js';
import { testApp, tmpDir, type TestApp } from '../helpers/app.js';
import { chooseRenewalMoment } from '../../src/services/acme/ari.js';
import { unitFrom, DAY_MS } from '../../src/services/acme/scheduler.js';
import type { Actor } from '../../src/services/interfaces.js';
import { MemoryStorage } from '../../src/stores/memorystorage.js';
import { AcmeStore } from '../../src/stores/acme.js';

const ADMIN: Actor = { user: 'admin', role: 'Admin', remote: 'sim', session: 'sim' };
const T0 = Date.UTC(2027, 0, 4, 0, 0, 0); // a Monday
const HOUR = 3600_000;
const dayName = (ms: number) => ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][new Date(ms).getUTCDay()]!;
type Tap = typeof t;
declare namespace Tap { type Test = Parameters<Parameters<typeof t.test>[1]>[0]; }

interface Env { clock: SimClock; ca: FakeIssuer; app: TestApp }

interface Opts { dataDir?: string; memory?: boolean; signPeriodMs?: number; storage?: MemoryStorage }

function build(t: Tap.Test, clock: SimClock, ca: FakeIssuer, opts: Opts = {}): TestApp {
  let seed = 7;
  return testApp(t, {
    clock, issuer: ca, defaultCas: () => [],
    ...(opts.memory === false ? {} : { storage: opts.storage ?? ('memory' as const) }),
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    random: () => ((seed = (seed * 48271) % 2147483647) / 2147483647),
    acmeLimits: { alarmCheckMs: HOUR, failureBackoffBaseMs: HOUR, failureBackoffCapMs: 16 * HOUR, ...(opts.signPeriodMs ? { signPeriodMs: opts.signPeriodMs } : {}) },
  });
}

async function env(t: Tap.Test, opts: Opts = {}): Promise<Env> {
  const clock = simClock(T0);
  const ca = new FakeIssuer(clock, 90 * DAY_MS);
  ca.ari = true;
  ca.profiles = { classic: '90 days', shortlived: '160 hours', tlsserver: '45 days' };
  const app = build(t, clock, ca, opts);
  const { config } = app.services;
  config.set([
    { key: 'Security Acme Provider', value: 'Custom' }, { key: 'Security Acme DirectoryUrl', value: 'https://ca.fake.example/dir' },
    { key: 'Security Acme Scheduler Days', value: 'Mon,Thu' }, { key: 'Security Acme Scheduler Time', value: '03:00' },
    { key: 'Security Acme AdminEmail', value: 'admin@example.com' },
  ], ADMIN);
  await app.acme.acceptTerms(ADMIN, true);
  await app.web.certificates.createCsr({ commonName: 'sim.example.com', alternativeNames: ['sim.example.com'], keyType: 'ECDSA-P256', reuseKey: false }, ADMIN);
  return { clock, ca, app };
}

const renewal = (app: TestApp) => (app.acme.status() as { Renewal: Record<string, unknown> }).Renewal;

/** Scheduler on; the first certificate is signed at once and deployed at Monday 03:00. */
async function automated(e: Env): Promise<string> {
  e.app.services.config.set([{ key: 'Security Acme Scheduler Mode', value: 'On' }], ADMIN);
  await e.clock.advanceTo(T0 + 4 * HOUR);
  const active = e.app.web.certificates.active();
  if (active.source !== 'Acme') throw new Error('the first ACME certificate was not deployed');
  return e.ca.issued[0]!.certId;
}

t.test('renewal at the drawn moment inside the CA window, sending replaces; polls at the bounded Retry-After', async (t) => {
  const e = await env(t);
  const first = await automated(e);
  // The CA suggests renewing on days 10–12 (long before two thirds of 90 days), polled every 2 h.
  const w = { start: T0 + 10 * DAY_MS, end: T0 + 12 * DAY_MS };
  e.ca.windows.set(first, { ...w, explanationURL: 'https://ca.fake.example/why', retryAfterS: 7200 });
  await e.clock.advanceTo(T0 + 2 * DAY_MS);
  t.match(renewal(e.app), {
    Window: { Start: '2027-01-14T00:00:00Z', End: '2027-01-16T00:00:00Z' }, Source: 'ARI', ExplanationUrl: 'https://ca.fake.example/why', Failures: 0,
  }, 'xStatus shows the CA window');
  const lastCheck = renewal(e.app).LastCheck as string;
  t.equal((await e.app.run('xStatus Security Acme Renewal', 'exec')).out, [
    '*s Security: /', '     Acme:', '       Renewal:', '         Window:', '           Start: "2027-01-14T00:00:00Z"', '           End: "2027-01-16T00:00:00Z"',
    '         Source: "ARI"', '         ExplanationUrl: "https://ca.fake.example/why"', `         LastCheck: "${lastCheck}"`, '         Failures: 0', '*s/end', '', 'OK', '',
  ].join('\n'), 'as the shell shows it');
  const asked = e.ca.renewalInfoAsked.filter((a) => a.certId === first).map((a) => a.at);
  t.ok(asked.length >= 2, `${asked.length} polls`);
  for (let i = 1; i < asked.length; i++) t.ok(asked[i]! - asked[i - 1]! >= HOUR, 'never more often than hourly');
  t.equal(Date.parse((renewal(e.app).LastCheck as string)), asked[asked.length - 1], 'LastCheck is the last poll');

  await e.clock.advanceTo(w.end + DAY_MS);
  t.equal(e.ca.issued.length, 2, 'renewed once');
  const seed = (e.app.services.state.read('acme') as { seed: string }).seed;
  const at = e.ca.issued[1]!.at;
  t.ok(at >= w.start && at < w.end, `renewed inside the window at ${new Date(at).toISOString()}`);
  t.equal(at, chooseRenewalMoment(w, unitFrom(seed, `ari/${w.start}/${w.end}`)), 'at the moment drawn from the seed');
  t.same(e.ca.orders[1], { replaces: first }, 'the order names the certificate it replaces');
  t.same(e.ca.orders[0], {}, 'the first order replaces nothing');
  t.notOk(e.app.services.alarms.list().some((a) => a.id.startsWith('acme.')), 'no alarm');

  // The renewed certificate is asked about as soon as it is deployed, not at the next hourly tick.
  const second = e.ca.issued[1]!.certId;
  const deployedAt = Date.parse(e.app.web.certificates.active().installed);
  const firstPoll = e.ca.renewalInfoAsked.find((a) => a.certId === second)?.at;
  t.ok(firstPoll !== undefined && firstPoll - deployedAt < 60_000, `first poll of the renewed certificate ${((firstPoll ?? Infinity) - deployedAt) / 1000} s after its deploy`);

  // Another provider (no account there): no poll is made, and none is waited for.
  e.ca.windows.set(second, { start: T0 + 20 * DAY_MS, end: T0 + 21 * DAY_MS });
  await e.clock.advanceTo(e.clock.now().getTime() + DAY_MS);
  t.ok(e.ca.renewalInfoAsked.some((a) => a.certId === second), 'the renewed certificate is followed');
  e.app.services.config.set([{ key: 'Security Acme Provider', value: 'LetsEncryptStaging' }], ADMIN);
  const polls = e.ca.renewalInfoAsked.length;
  let timers = 0;
  const arm = e.clock.setTimeout.bind(e.clock);
  e.clock.setTimeout = (fn, ms) => { timers++; return arm(fn, ms); };
  await e.clock.advanceTo(e.clock.now().getTime() + 2 * DAY_MS);
  t.equal(e.ca.renewalInfoAsked.length, polls, 'no poll without an account');
  t.ok(timers < 200, `the renewal job wakes at its usual pace (${timers} timers in 2 days)`);
});

t.test('a window moved into the past: signed and deployed at once outside the deploy days, with an alarm; alreadyReplaced ordered again', async (t) => {
  const e = await env(t);
  const first = await automated(e);
  const tuesdayNoon = T0 + DAY_MS + 12 * HOUR;
  await e.clock.advanceTo(tuesdayNoon);
  t.equal(e.ca.issued.length, 1, 'nothing to renew yet');
  // A mass revocation: the CA moves the window into the past; another client already renewed it.
  e.ca.windows.set(first, { start: tuesdayNoon - 3 * HOUR, end: tuesdayNoon - HOUR, explanationURL: 'https://ca.fake.example/incident' });
  e.ca.replaced.add(first);
  let deployedAt: number | undefined;
  for (let i = 0; i < 12 && deployedAt === undefined; i++) {
    await e.clock.advanceTo(e.clock.now().getTime() + HOUR / 2);
    if (e.app.web.certificates.active().info.serial === e.ca.issued[1]?.serial) deployedAt = e.clock.now().getTime();
  }
  t.ok(deployedAt !== undefined && deployedAt - tuesdayNoon <= 2 * HOUR, 'deployed within the next poll interval');
  t.equal(dayName(deployedAt!), 'Tue', 'on a Tuesday: not a deploy day');
  const alarmLog = e.app.logLines.map((l) => JSON.parse(l) as { event?: string; id?: string; title?: string })
    .filter((l) => l.id === 'acme.renewal-urgent');
  t.same(alarmLog.map((l) => l.event), ['alarm.raised', 'alarm.lowered'], 'raised once, lowered once');
  t.equal(alarmLog[0]?.title,
    "ACME renewal of the server certificate cannot wait: the CA's renewal window has ended (see xStatus Security Acme Renewal ExplanationUrl); it is signed now and deployed when signed, outside the deploy days");
  t.same(e.ca.orders.slice(1), [{ replaces: first, refused: 'alreadyReplaced' }, {}], 'alreadyReplaced: ordered again without replaces');
  t.notOk(e.app.services.alarms.list().some((a) => a.id === 'acme.renewal-urgent'), 'the alarm goes once the new certificate is in use');
  t.match(renewal(e.app), { Source: 'Lifetime', Failures: 0 }, 'the new certificate has no CA window yet');
});

t.test('profiles: listed in xStatus, an unknown one refused naming the offered ones, a known one sent', async (t) => {
  const e = await env(t);
  const sh = async (input: string) => (await e.app.run(input, 'exec')).out;
  t.match(await sh('xStatus Security Acme Profiles'), /Profiles: "classic, shortlived, tlsserver"/);
  let out = await sh('xConfiguration Security Acme Profile: "six days"');
  t.match(out, /expected a profile name of A-Z a-z 0-9 \. _ -/, 'not a profile name: refused by its value space');
  t.equal(e.app.services.config.value('Security Acme Profile'), '');
  t.match(await sh('xConfiguration Security Acme Profile: "sixdays"'), /\*r Configuration|OK|^$/);
  out = await sh('xCommand Security Acme Sign Wait: True');
  t.match(out, /\(status=Error\):\n {5}Reason: "The CA does not offer profile \\?"sixdays\\?": it offers \\?"classic\\?", \\?"shortlived\\?", \\?"tlsserver\\?""/);
  t.equal(e.ca.attempts.length, 0, 'no order placed');
  t.match(e.app.acme.status(), { LastSign: { Status: 'None' } }, 'nothing recorded');
  await sh('xConfiguration Security Acme Profile: "TLSServer"');
  out = await sh('xCommand Security Acme Sign Wait: True');
  t.match(out, /Status: "?Succeeded"?/);
  t.same(e.ca.orders, [{ profile: 'tlsserver' }], 'sent as the CA spells it');
});

t.test('back-off: failures counted, retries back off exponentially, kept across a restart', async (t) => {
  const dataDir = tmpDir();
  // Drawn moments every few minutes, so the waits between orders are the back-off's.
  const opts = { dataDir, memory: false, signPeriodMs: 10 * 60_000 };
  const e = await env(t, opts);
  e.ca.mode = 'fail';
  e.app.services.config.set([{ key: 'Security Acme Scheduler Mode', value: 'On' }], ADMIN);
  await e.clock.advanceTo(T0 + 30 * HOUR);
  // Each order makes three attempts seconds apart; the orders themselves are hours apart.
  const orders = e.ca.attempts.filter((a, i, all) => i === 0 || a - all[i - 1]! > 60_000);
  t.ok(orders.length >= 4, `${orders.length} failed orders in 30 hours`);
  const gaps = orders.slice(1).map((a, i) => a - orders[i]!);
  for (let i = 1; i < gaps.length; i++) t.ok(gaps[i]! > gaps[i - 1]!, `gap ${i} (${gaps[i]! / HOUR} h) longer than the one before`);
  const failures = orders.length;
  const before = e.app.acme.status() as { NextSign: string; Renewal: { Failures: number } };
  t.equal(before.Renewal.Failures, failures, 'xStatus counts the consecutive failures');
  t.ok(Date.parse(before.NextSign) > e.clock.now().getTime(), 'the next attempt waits');

  // Restart on the same data: the count and the wait are kept.
  await e.app.close();
  const attempts = e.ca.attempts.length;
  const app2 = build(t, e.clock, e.ca, opts);
  const after = app2.acme.status() as { NextSign: string; Renewal: { Failures: number } };
  t.equal(after.Renewal.Failures, failures, 'failures kept across the restart');
  t.equal(after.NextSign, before.NextSign, 'the next attempt is where it was');
  await e.clock.advanceTo(Date.parse(before.NextSign) - 1000);
  t.equal(e.ca.attempts.length, attempts, 'no attempt before it after the restart');
  e.ca.mode = 'ok';
  await e.clock.advanceTo(Date.parse(before.NextSign) + DAY_MS);
  t.ok(e.ca.attempts.length > attempts, 'then it retries');
  t.match(app2.acme.status(), { LastSign: { Status: 'Succeeded' }, Renewal: { Failures: 0 } }, 'a success resets the count');
});

t.test('a deleted domain stops renewing: its record, alarms and key go', async (t) => {
  const storage = new MemoryStorage();
  const e = await env(t, { storage });
  const sh = async (input: string) => (await e.app.run(input, 'exec')).out;
  await automated(e);
  t.match(await sh('xCommand Security Certificates Domain Add Name: shop.example.com'), /status=OK/);
  t.match(await sh('xCommand Security Acme Sign Domain: shop.example.com Wait: True'), /Succeeded/);
  t.match(await sh('xCommand Security Acme Deploy Domain: shop.example.com'), /status=OK/);
  e.ca.mode = 'fail';
  const shop = e.ca.issued[1]!.certId;
  e.ca.windows.set(shop, { start: T0, end: T0 + HOUR });
  // A domain's order makes its CSR with real crypto: time moves in small steps while it runs.
  const failing = () => e.app.services.alarms.list().some((a) => a.id === 'acme.renewal-failing.shop.example.com');
  for (let i = 0; i < 500 && !failing(); i++) {
    await e.clock.advanceTo(e.clock.now().getTime() + 5 * 60_000);
    await new Promise((r) => setTimeout(r, 20));
  }
  t.ok(failing(), 'its renewal is failing');
  t.ok(e.app.services.alarms.list().some((a) => a.id === 'acme.renewal-urgent.shop.example.com'), 'and urgent');
  t.ok((e.app.services.state.read('acme') as { targets: Record<string, unknown> }).targets['domain:shop.example.com'], 'a record exists');
  t.same(new AcmeStore(storage).domainKeyNames(), ['shop.example.com'], 'and its key');

  t.match(await sh('xCommand Security Certificates Domain Delete Name: shop.example.com'), /status=OK/);
  const attempts = e.ca.attempts.length;
  await e.clock.advanceTo(e.clock.now().getTime() + 2 * DAY_MS);
  t.notOk(e.app.services.alarms.list().some((a) => a.id.endsWith('.shop.example.com')), 'its alarms went');
  t.notOk((e.app.services.state.read('acme') as { targets: Record<string, unknown> }).targets['domain:shop.example.com'], 'its record went');
  t.same(new AcmeStore(storage).domainKeyNames(), [], 'its key went');
  t.equal(e.ca.attempts.length, attempts, 'no order for it any more');
});

t.test('ARI across a restart: the window and the next check are kept, no early poll', async (t) => {
  const dataDir = tmpDir();
  const opts = { dataDir, memory: false };
  const e = await env(t, opts);
  const first = await automated(e);
  const w = { start: T0 + 30 * DAY_MS, end: T0 + 31 * DAY_MS };
  e.ca.windows.set(first, { ...w, retryAfterS: 20 * 3600 });
  await e.clock.advanceTo(T0 + 6 * HOUR);
  const asked = e.ca.renewalInfoAsked.filter((a) => a.certId === first);
  const last = asked[asked.length - 1]!.at;
  const before = e.app.acme.status() as { NextSign: string; Renewal: { LastCheck: string } };
  t.equal(Date.parse(before.Renewal.LastCheck), last);

  await e.app.close();
  const polls = e.ca.renewalInfoAsked.length;
  const app2 = build(t, e.clock, e.ca, opts);
  const after = app2.acme.status() as { NextSign: string; Renewal: Record<string, unknown> };
  t.match(after.Renewal, { Source: 'ARI', Window: { Start: '2027-02-03T00:00:00Z', End: '2027-02-04T00:00:00Z' }, LastCheck: before.Renewal.LastCheck }, 'the window is kept');
  t.equal(after.NextSign, before.NextSign, 'so is the moment drawn inside it');
  await e.clock.advanceTo(last + 20 * HOUR - 60_000);
  t.equal(e.ca.renewalInfoAsked.length, polls, 'no poll before the Retry-After the CA gave');
  await e.clock.advanceTo(last + 21 * HOUR);
  t.equal(e.ca.renewalInfoAsked.length, polls + 1, 'then one');
});
