// A certificate in use that is revoked cannot wait for its renewal moment or a deploy day (issue
// 10.1): plan() first, then the whole appliance (real parser and bus, memory storage, the fake CA
// on a simulated clock) when an Acmerevoke of the previous certificate races a Rollback that puts
// it back in service: the CA confirms the revocation of what is now served, and the scheduler
// signs at once and deploys when signed, outside the deploy days, with an alarm saying why.
import t from 'tap';
import { plan, DAY_MS, type PlanInput } from '../../src/services/acme/scheduler.js';
import { testApp, tmpDir } from '../helpers/app.js';
import { FakeIssuer } from '../helpers/fake-issuer.js';
import { simClock } from '../helpers/simclock.js';
import { until } from '../helpers/wait.js';

const T0 = Date.UTC(2027, 0, 4, 0, 0, 0); // a Monday
const HOUR = 3600_000;
type Tap = typeof t;
declare namespace Tap { type Test = Parameters<Parameters<typeof t.test>[1]>[0]; }

t.test('plan: a revoked certificate in use is renewed now and deployed when signed', async (t) => {
  const base: PlanInput = {
    now: T0 + DAY_MS, automated: true, signing: false, schedule: { days: 'Thu', time: '03:00' }, periodMs: DAY_MS, seed: 'seed',
    deployed: { notBefore: T0, notAfter: T0 + 90 * DAY_MS, acme: true },
  };
  const calm = plan(base);
  t.ok(calm.nextSign! >= T0 + 60 * DAY_MS, 'not revoked: at two thirds of the lifetime');
  t.same(plan({ ...base, revoked: true }), { nextSign: base.now, urgent: 'revoked' }, 'revoked: sign now');
  const future = { start: T0 + 30 * DAY_MS, end: T0 + 32 * DAY_MS };
  t.same(plan({ ...base, revoked: true, ari: future }), { nextSign: base.now, urgent: 'revoked' }, 'a future CA window does not hold it back');
  t.same(plan({ ...base, revoked: true, signNotBefore: base.now + 600_000 }), { nextSign: base.now + 600_000, urgent: 'revoked' }, 'only the back-off after a failure does');
  const pending = { signed: base.now - 1000, notBefore: base.now - 1000, notAfter: base.now + 90 * DAY_MS };
  t.same(plan({ ...base, revoked: true, pending }), { nextDeploy: pending.signed, urgent: 'revoked' }, 'a signed certificate is deployed at once, not on Thursday');
  t.ok(plan({ ...base, pending }).nextDeploy! >= T0 + 3 * DAY_MS, 'not revoked: it waits for the Thursday slot');
  t.same(plan({ ...base, revoked: true, deployed: { ...base.deployed!, acme: false } }), { nextSign: base.now }, 'not an ACME certificate: no urgency (the first order, as before)');
  t.equal(plan({ ...base, now: T0 + 91 * DAY_MS, revoked: true }).urgent, 'expired', 'expired says more than revoked');
  t.same(plan({ ...base, revoked: true, automated: false }), {}, 'manual mode: nothing automated');
});

/**
 * Two certificates deployed, a third pending; an Acmerevoke of the first, held at the CA, races a
 * Rollback that puts the first back in service; then the CA confirms. The pending certificate is
 * discarded, so a renewal has to be signed. Deploy day: Thursday 03:00 (T0 is a Monday).
 */
async function revokedInUse(t: Tap.Test, dataDir?: string) {
  const clock = simClock(T0);
  const ca = new FakeIssuer(clock, 90 * DAY_MS);
  const build = () => testApp(t, { issuer: ca, clock, defaultCas: () => [], ...(dataDir ? { dataDir } : { storage: 'memory' as const }) });
  const app = build();
  const sh = async (input: string) => (await app.run(input, 'exec')).out;
  const active = () => app.services.certificates.active().info.serial;
  t.notMatch(await sh([
    'xConfiguration Security Acme DirectoryUrl: "https://ca.fake.example/dir"',
    'xConfiguration Security Acme Provider: Custom',
    'xConfiguration Security Acme AdminEmail: admin@example.com',
    'xConfiguration Security Acme Scheduler Days: Thu',
    'xConfiguration Security Acme Scheduler Time: "03:00"',
    'xCommand Security Acme AcceptTerms Agree: True',
    'xCommand Security Certificates CSR Create CommonName: edge.example.com KeyType: ECDSA-P256',
    'xCommand Security Acme Sign Wait: True',
    'xCommand Security Acme Deploy',
  ].join('\n')), /status=Error/);
  const first = active();
  await sh('xCommand Security Acme Sign Wait: True\nxCommand Security Acme Deploy');
  const second = active();
  // A pending certificate proves control of the names for the revocation.
  await sh('xCommand Security Acme Sign Wait: True');

  // The CA is slow to answer the revocation of the previous certificate; meanwhile Rollback
  // puts that very certificate back in service (it is not yet known to be revoked).
  let release: () => void = () => {};
  ca.revokeGate = new Promise((r) => { release = r; });
  const revoking = sh(`xCommand Acmerevoke CertPath: "/archive/${first}.pem" Reason: KeyCompromise`);
  await until(() => ca.revokes === 1, 'the revocation request at the CA', 30_000, 5);
  t.match(await sh('xCommand Security Acme Rollback'), new RegExp(`RollbackResult \\(status=OK\\):\\n {5}SerialNumber: "${first}"`));
  t.equal(active(), first);
  release();
  t.match(await revoking, new RegExp(`AcmerevokeResult \\(status=OK\\)[\\s\\S]*SerialNumber: "${first}"`));
  t.ok(app.acme.revokedSerials().includes(first), 'the CA confirmed: the certificate in use is revoked');
  t.match(await sh('xCommand Security Acme Pending Discard'), /status=OK/);
  return { clock, ca, app, sh, active, build, first, second };
}

const URGENT = 'ACME renewal of the server certificate cannot wait: the certificate in use is revoked; it is signed now and deployed when signed, outside the deploy days';

/** The titles `acme.renewal-urgent` was raised with in log lines from `from` on. */
const urgentRaised = (lines: readonly string[], from: number) => lines.slice(from)
  .map((l) => JSON.parse(l) as { event: string; id?: string; title?: string })
  .filter((e) => e.event === 'alarm.raised' && e.id === 'acme.renewal-urgent').map((e) => e.title);

t.test('the certificate in use found revoked: signed at once, deployed outside the deploy days, with an alarm', async (t) => {
  const { clock, ca, app, sh, active, second } = await revokedInUse(t);
  const issued = ca.issued.length;
  const before = app.logLines.length;
  t.notMatch(await sh('xConfiguration Security Acme Scheduler Mode: On'), /status=Error/);
  await clock.advanceTo(T0 + HOUR);
  t.same(urgentRaised(app.logLines, before), [URGENT], 'the alarm says why');
  t.equal(ca.issued.length, issued + 1, 'signed once, at once');
  const renewed = ca.issued[ca.issued.length - 1]!.serial;
  t.equal(active(), renewed, 'deployed on Monday, not at the Thursday 03:00 slot');
  t.not(active(), second);
  t.ok(ca.issued[ca.issued.length - 1]!.at < T0 + HOUR, 'signed within the hour');
  t.notOk(app.services.alarms.list().some((a) => a.id === 'acme.renewal-urgent'), 'the alarm is lowered once the renewed certificate is in use');
  const deploys = app.logLines.map((l) => JSON.parse(l) as Record<string, string>).filter((e) => e.what === 'Security Acme Deploy' && e.serial === renewed);
  t.same(deploys.map((e) => e.who), ['scheduler'], 'by the scheduler');
});

t.test('the revocation is kept across a restart: still urgent, retried after the back-off, then renewed', async (t) => {
  const { clock, ca, app, sh, build, first } = await revokedInUse(t, tmpDir());
  ca.mode = 'fail';
  t.notMatch(await sh('xConfiguration Security Acme Scheduler Mode: On'), /status=Error/);
  await clock.advanceTo(T0 + 5 * 60_000);
  t.ok(app.services.alarms.list().some((a) => a.id === 'acme.renewal-urgent' && a.title === URGENT), 'urgent while the CA fails');
  await app.close();

  const app2 = build();
  t.equal(app2.services.certificates.active().info.serial, first, 'the revoked certificate is still in use after the restart');
  app2.acme.checkAlarms();
  t.ok(app2.services.alarms.list().some((a) => a.id === 'acme.renewal-urgent' && a.title === URGENT), 'and the renewal is still urgent');
  ca.mode = 'ok';
  await clock.advanceTo(T0 + 2 * DAY_MS);
  t.not(app2.services.certificates.active().info.serial, first, 'renewed and deployed once the CA answers');
  t.ok(Date.parse(String((app2.acme.status() as { LastDeploy: { Time: string } }).LastDeploy.Time)) < T0 + DAY_MS, 'within the back-off, on Monday, not at the Thursday slot');
  t.notOk(app2.services.alarms.list().some((a) => a.id === 'acme.renewal-urgent'), 'the alarm is lowered');
});
