// Defects a walk through the seeds found (issue 10 item 6), each reproduced through the whole
// appliance in process: the real parser and bus, memory storage, the fake CA on a simulated clock.
import t from 'tap';
import { testApp } from '../helpers/app.js';
import { FAKE_CA_ACCOUNT, FakeIssuer } from '../helpers/fake-issuer.js';
import { simClock } from '../helpers/simclock.js';
import { makeCa, makeLeaf, makeLeafWithoutCn } from '../helpers/pki.js';
import { wantedAlarms } from '../../src/services/certs/alarms.js';
import { MemoryStorage } from '../../src/stores/memorystorage.js';
import { keyOf } from '../../src/stores/keys.js';
import { SCHEDULER } from '../../src/services/acme/service.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-06-01T00:00:00Z');
type Tap = typeof t;
declare namespace Tap { type Test = Parameters<Parameters<typeof t.test>[1]>[0]; }

async function configured(t: Tap.Test, lifetimeMs = 10 * DAY) {
  const clock = simClock(T0);
  const issuer = new FakeIssuer(clock, lifetimeMs);
  const app = testApp(t, { storage: 'memory', issuer, clock, defaultCas: () => [] });
  const sh = async (input: string) => (await app.run(input, 'exec')).out;
  const out = await sh([
    ...FAKE_CA_ACCOUNT,
    'xCommand Security Certificates CSR Create CommonName: edge.example.com KeyType: ECDSA-P256',
  ].join('\n'));
  t.match(out, /SecurityCertificatesCSRCreateResult \(status=OK\)/);
  return { app, issuer, clock, sh };
}

t.test('Rollback refuses an expired previous certificate and says what it restores', async (t) => {
  const { app, clock, sh } = await configured(t);
  await sh('xCommand Security Acme Sign Wait: True\nxCommand Security Acme Deploy');
  const first = app.services.certificates.active().info.serial;
  await clock.advanceTo(T0 + 5 * DAY);
  await sh('xCommand Security Acme Sign Wait: True\nxCommand Security Acme Deploy');
  const second = app.services.certificates.active().info.serial;
  t.not(first, second);

  // Still valid: the swap happens and the result says what came back and what went out.
  let out = await sh('xCommand Security Acme Rollback');
  t.match(out, new RegExp(`^\\*r SecurityAcmeRollbackResult \\(status=OK\\):\\n {5}SerialNumber: "${first}"\\n {5}NotAfter: "[^"]+"\\n {5}Source: "?Acme"?\\n {5}Replaced: "${second}"\\n {5}Message: "Restored the server certificate that was in service before the last deploy \\(serial ${first}, Acme\\); Rollback again swaps back to serial ${second}"`));
  out = await sh('xCommand Security Acme Rollback');
  t.match(out, new RegExp(`SerialNumber: "${second}"`), 'a second Rollback swaps back, as it says');

  // Past the first one's notAfter: refused, nothing changes.
  await clock.advanceTo(T0 + 11 * DAY);
  out = await sh('xCommand Security Acme Rollback');
  t.match(out, new RegExp(`^\\*r SecurityAcmeRollbackResult \\(status=Error\\):\\n {5}Reason: "The previous server certificate \\(serial ${first}\\) expired on [0-9T:Z-]+: nothing was rolled back"`));
  t.equal(app.services.certificates.active().info.serial, second, 'the valid certificate stays in service');
});

t.test('Rollback refuses a certificate this appliance revoked', async (t) => {
  const { app, sh } = await configured(t);
  await sh('xCommand Security Acme Sign Wait: True\nxCommand Security Acme Deploy');
  const first = app.services.certificates.active().info.serial;
  await sh('xCommand Security Acme Sign Wait: True\nxCommand Security Acme Deploy');
  const second = app.services.certificates.active().info.serial;
  await sh('xCommand Security Acme Sign Wait: True');
  let out = await sh(`xCommand Acmerevoke CertPath: "/archive/${first}.pem" Reason: Superseded`);
  t.match(out, /AcmerevokeResult \(status=OK\)/);
  out = await sh('xCommand Security Acme Rollback');
  t.match(out, new RegExp(`\\(status=Error\\):\\n {5}Reason: "The previous server certificate \\(serial ${first}\\) was revoked: nothing was rolled back"`));
  t.equal(app.services.certificates.active().info.serial, second);
});

t.test('AcceptTerms needs AdminEmail, shows the terms first and creates the account only with Agree: True', async (t) => {
  const clock = simClock(T0);
  const app = testApp(t, { storage: 'memory', issuer: new FakeIssuer(clock), clock, defaultCas: () => [] });
  const sh = async (input: string) => (await app.run(input, 'exec')).out;
  await sh('xConfiguration Security Acme DirectoryUrl: "https://ca.fake.example/dir"\nxConfiguration Security Acme Provider: Custom');
  let out = await sh('xCommand Security Acme AcceptTerms Agree: True');
  t.equal(out, '*r SecurityAcmeAcceptTermsResult (status=Error):\n     Reason: "Security Acme AdminEmail is empty: set the address the CA writes to about this account first"\n*r/end\n\nERROR\n');
  out = await sh('xConfiguration Security Acme AdminEmail: admin@example.com\nxCommand Security Acme AcceptTerms\nxStatus Security Acme Account Status');
  t.match(out, '*r SecurityAcmeAcceptTermsResult (status=OK):\n     Provider: "Custom"\n     TermsUrl: "https://ca.fake.example/terms"\n     Message: "Read the terms at TermsUrl, then run xCommand Security Acme AcceptTerms Agree: True to accept them and create the account"\n*r/end\n');
  t.match(out, /Account:\n {9}Status: "?None"?/, 'nothing created before agreeing');
  out = await sh('xCommand Security Acme AcceptTerms Agree: True\nxStatus Security Acme Account Status');
  t.match(out, /\(status=OK\):\n {5}Provider: "Custom"\n {5}TermsUrl: "https:\/\/ca\.fake\.example\/terms"\n {5}Account: "https:\/\/ca\.fake\.example\/acct\/1"\n {5}AccountStatus: "?Valid"?/);
  t.match(out, /Account:\n {9}Status: "?Valid"?/);
});

t.test('a deploy never discards an uploaded certificate waiting for a restart, manual or automated', async (t) => {
  const { app, sh } = await configured(t);
  const ca = await makeCa({ cn: 'Upload Root', notBefore: new Date(T0 - DAY) });
  const up = await makeLeaf(ca, { notBefore: new Date(T0 - DAY) });
  await sh('xCommand Security Acme Sign Wait: True');
  let out = await sh(`xCommand Security Certificates CSR Discard\nxCommand Security Certificates Server Upload\n${up.pem}${up.keyPem}.\n`);
  t.match(out, /SecurityCertificatesServerUploadResult \(status=OK\)/);
  const uploaded = app.services.certificates.pendingRestart()!.info.serial;
  const refusal = `An uploaded server certificate \\(serial ${uploaded}\\) is waiting for a restart and a deploy would discard it`;

  out = await sh('xCommand Security Acme Deploy');
  t.match(out, new RegExp(`\\(status=Error\\):\\n {5}Reason: "${refusal}: restart \\(xCommand SystemUnit Boot\\) to put it in service, then deploy"`));
  // The scheduler's deploy (renewal.ts calls the same deploy as its own actor): refused, and LastDeploy says why.
  await app.acme.deploy(undefined, SCHEDULER).catch(() => undefined);
  out = await sh('xStatus Security Acme LastDeploy');
  t.match(out, new RegExp(`Status: "?Failed"?[\\s\\S]*Reason: "${refusal}"`));
  t.equal(app.services.certificates.pendingRestart()?.info.serial, uploaded, 'the upload still waits');
  t.ok(app.services.alarms.list().some((a) => a.id === 'certificates.restart-required'), 'and its alarm stays up');
  t.ok(app.acme.pending(undefined), 'the ACME certificate stays pending');
});

t.test('certificates.server.no-cn names the certificate that lacks the CN', async (t) => {
  const app = testApp(t, { storage: 'memory', defaultCas: () => [] });
  const root = await makeCa({ cn: 'No CN Root' });
  const noCn = await makeLeafWithoutCn(root, ['edge.example.com']);
  await app.run(`xCommand Security Certificates Server Upload\n${noCn.pem}${noCn.keyPem}.\n`, 'exec');
  const serial = app.services.certificates.pendingRestart()!.info.serial;
  const out = (await app.run('xStatus Alarm', 'exec')).out;
  t.match(out, `"The uploaded server certificate waiting for a restart (serial ${serial}) has no common name (CN)"`);
  t.notMatch(out, 'certificate in service has no common name', 'the self-signed one in service has a CN');
  // Once that one is served (no upload waiting), the alarm says so.
  const info = noCn.x509;
  const alarms = wantedAlarms({ server: { commonName: '', notAfter: info.validTo, serial: 'AB' } as never, domains: [] }, new Date());
  t.match(alarms, [{ id: 'certificates.server.no-cn', title: 'The server certificate in service has no common name (CN)' }]);
});

t.test('expiry alarms change when a threshold is crossed, not at the next hourly check', async (t) => {
  const { app, clock, issuer, sh } = await configured(t);
  // Half an hour off the hour, so an hourly check would lag behind every crossing.
  await clock.advanceTo(T0 + 30 * 60_000);
  await sh('xCommand Security Acme Sign Wait: True\nxCommand Security Acme Deploy');
  const notAfter = issuer.issued[0]!.notAfter;
  const title = () => app.services.alarms.list().find((a) => a.id.startsWith('certificates.server.'))?.title ?? '';
  t.match(title(), /^The server certificate expires in 10 days/);
  await clock.advanceTo(notAfter - 7 * DAY + 90_000);
  t.match(title(), /^The server certificate expires in 6 days/, 'the day count drops as the day passes');
  await clock.advanceTo(notAfter - 90_000);
  t.match(title(), /^The server certificate expires in 0 days/);
  await clock.advanceTo(notAfter + 90_000);
  t.match(title(), /^The server certificate expired on /, '90 s after expiry the alarm says expired');
  t.ok(app.services.alarms.list().some((a) => a.id === 'certificates.server.expired' && a.severity === 'Critical'));
});

t.test('Domain Delete lowers the domain\'s ACME alarms and deletes its ACME key and pending certificate', async (t) => {
  const clock = simClock(T0);
  const issuer = new FakeIssuer(clock);
  const storage = new MemoryStorage();
  const app = testApp(t, { storage, issuer, clock, defaultCas: () => [], acmeLimits: { orderAttempts: 1 } });
  const sh = async (input: string) => (await app.run(input, 'exec')).out;
  await sh([
    ...FAKE_CA_ACCOUNT,
    'xConfiguration Security Acme Scheduler Days: "Mon,Tue,Wed,Thu,Fri,Sat,Sun"',
    'xConfiguration Security Acme Scheduler Mode: On',
    'xCommand Security Certificates Domain Add Name: shop.example.com',
  ].join('\n'));
  let out = await sh('xCommand Security Acme Sign Domain: shop.example.com Wait: True');
  t.match(out, /Status: "?Succeeded"?/);
  issuer.mode = 'fail';
  out = await sh('xCommand Security Acme Sign Domain: shop.example.com Wait: True');
  t.match(out, /CA unreachable/);
  const alarmUp = () => app.services.alarms.list().some((a) => a.id === 'acme.renewal-failing.shop.example.com');
  t.ok(alarmUp(), 'the failing alarm is up');
  const keys = () => ['domains', 'pending'].flatMap((d) => storage.list(keyOf('acme', d)).filter((k) => k.includes('shop.example.com')));
  t.same(keys(), ['shop.example.com.key', 'domain-shop.example.com.json'], 'a domain key and a pending certificate are stored');

  out = await sh('xCommand Security Certificates Domain Delete Name: shop.example.com');
  t.match(out, /The domain shop\.example\.com was deleted/);
  t.notOk(alarmUp(), 'the failing alarm is lowered');
  t.same(keys(), [], 'its ACME key and pending certificate are deleted');
  // Added again, it starts afresh: a new key, no pending, no history.
  out = await sh('xCommand Security Certificates Domain Add Name: shop.example.com\nxStatus Security Acme Domain');
  t.match(out, /Name: "?shop\.example\.com"?\n\s+Status: "?Automated"?\n\s+LastSign:\n\s+Status: "?None"?/);
  t.equal(app.acme.pending('shop.example.com'), undefined);
});

t.test('Scheduler Days "" is refused with Mode On in either order; CSR Discard warns when renewal is automated', async (t) => {
  const { app, sh } = await configured(t);
  let out = await sh('xConfiguration Security Acme Scheduler Days: "Mon"\nxConfiguration Security Acme Scheduler Mode: On\nxConfiguration Security Acme Scheduler Days: ""\nxConfiguration Security Acme Scheduler Days');
  t.match(out, /\(status=Error\):\n {5}Reason: "Security Acme Scheduler Mode On needs at least one day in Security Acme Scheduler Days"/);
  t.match(out, /\*c xConfiguration Security Acme Scheduler Days: "?Mon"?\n/, 'Days unchanged');
  t.equal(app.services.config.value('Security Acme Scheduler Mode'), 'On');

  out = await sh('xCommand Security Certificates CSR Discard');
  t.equal(out, [
    '*r SecurityCertificatesCSRDiscardResult (status=OK):',
    '     Message: "The CSR was discarded"',
    '     Warning 1: "Automated ACME renewal is on (Security Acme Scheduler Mode: On): the server certificate will not renew until a new CSR is created with xCommand Security Certificates CSR Create"',
    '*r/end', '', 'OK', '',
  ].join('\n'));
  out = await sh('xConfiguration Security Acme Scheduler Mode: Off\nxCommand Security Certificates CSR Create CommonName: edge.example.com\nxCommand Security Certificates CSR Discard');
  t.match(out, /SecurityCertificatesCSRDiscardResult \(status=OK\):\n {5}Message: "The CSR was discarded"\n\*r\/end/, 'no warning with the scheduler off');
});
