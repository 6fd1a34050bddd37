// `xCommand Security Acme Sign DryRun: True` (issue 10 item 4) in process, with the fake CA: the
// whole order runs with a throwaway key and nothing is kept but xStatus LastDryRun. What is kept
// is compared whole: every value in the storage (keys, staged certificates, archive), the
// persisted ACME record (LastSign, failures, back-off), the alarms and the rest of the status.
import t from 'tap';
import { testApp } from '../helpers/app.js';
import { FAKE_CA_ACCOUNT, FakeIssuer } from '../helpers/fake-issuer.js';
import { systemClock } from '../../src/platform/clock.js';
import { MemoryStorage } from '../../src/stores/memorystorage.js';
import { AREAS, type Key } from '../../src/stores/keys.js';

type Tap = typeof t;
declare namespace Tap { type Test = Parameters<Parameters<typeof t.test>[1]>[0]; }

function storageSnapshot(s: MemoryStorage): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (k: Key) => {
    if (s.stat(k)?.kind === 'value') out[k] = s.get(k)!.toString('base64');
    else for (const n of s.list(k)) walk(`${k}/${n}` as Key);
  };
  for (const area of Object.values(AREAS)) walk(area);
  return out;
}

async function configured(t: Tap.Test) {
  const issuer = new FakeIssuer(systemClock);
  const storage = new MemoryStorage();
  // One attempt: the failing run ends at once (the retry pause is the order loop's, tested elsewhere).
  const app = testApp(t, { storage, issuer, defaultCas: () => [], acmeLimits: { orderAttempts: 1 } });
  const sh = async (input: string) => (await app.run(input, 'exec')).out;
  const out = await sh([
    ...FAKE_CA_ACCOUNT,
    'xCommand Security Certificates CSR Create CommonName: edge.example.com KeyType: ECDSA-P256',
    'xCommand Security Certificates Domain Add Name: shop.example.com',
  ].join('\n'));
  t.match(out, /SecurityAcmeAcceptTermsResult \(status=OK\)/);
  t.match(out, /SecurityCertificatesDomainAddResult \(status=OK\)/);
  // Some history to keep: a deployed ACME certificate, then a pending one.
  t.match(await sh('xCommand Security Acme Sign Wait: True'), /Succeeded/);
  t.match(await sh('xCommand Security Acme Deploy'), /status=OK/);
  t.match(await sh('xCommand Security Acme Sign Wait: True'), /Succeeded/);
  const kept = () => ({
    storage: storageSnapshot(storage),
    state: JSON.stringify(app.services.state.read('acme')),
    alarms: app.services.alarms.list().map((a) => a.id),
    active: app.services.certificates.active().info.serial,
  });
  return { app, issuer, sh, kept };
}

/** The status lines without the LastDryRun ones (the three lines after each `LastDryRun:`). */
function withoutDryRun(out: string): string {
  const lines = out.split('\n');
  const keep: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (/LastDryRun/.test(lines[i]!)) { i += /LastDryRun:\s*$/.test(lines[i]!) ? 3 : 0; continue; }
    keep.push(lines[i]!);
  }
  return keep.join('\n');
}

t.test('a dry run orders with a throwaway key and keeps nothing but LastDryRun', async (t) => {
  const { issuer, sh, kept } = await configured(t);
  let out = await sh('xStatus Security Acme LastDryRun');
  t.match(out, /LastDryRun:\n\s+Status: "?None"?\n\s+Time: ""\n\s+Reason: ""/);
  const before = kept();
  const statusBefore = withoutDryRun(await sh('xStatus Security Acme'));
  t.match(statusBefore, /LastDeploy:\n(\s+\w+: .*\n){3}\s+Pending:/);
  t.notMatch(statusBefore, /LastDryRun/, 'the comparison leaves out exactly LastDryRun');
  const issued = issuer.issued.length;
  const pendingKey = (await sh('xCommand Security Acme Pending Show')).match(/SerialNumber: "(\w+)"/)?.[1];
  t.ok(pendingKey, 'a pending certificate exists before');

  out = await sh('xCommand Security Acme Sign DryRun: True Wait: True');
  t.match(out, /^\*r SecurityAcmeSignResult \(status=OK\):\n {5}Status: "?Succeeded"?\n {5}DryRun: "?True"?\n\*r\/end/);
  t.equal(issuer.issued.length, issued + 1, 'the CA signed a certificate');
  t.equal(issuer.orders.at(-1)?.replaces, undefined, 'a dry run never says it replaces the certificate in use');
  t.same(kept(), before, 'storage, ACME record, alarms and served certificate unchanged');
  t.equal(withoutDryRun(await sh('xStatus Security Acme')), statusBefore, 'no other status changed');
  out = await sh('xStatus Security Acme LastDryRun');
  t.match(out, /Status: "?Succeeded"?\n\s+Time: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\n\s+Reason: ""/);
  t.match((await sh('xCommand Security Acme Pending Show')), new RegExp(`SerialNumber: "${pendingKey}"`), 'the pending certificate is the one from before');

  // A hosted domain without a key of its own yet: the dry run makes none.
  const domainBefore = kept();
  out = await sh('xCommand Security Acme Sign DryRun: True Domain: shop.example.com Wait: True');
  t.match(out, /Status: "?Succeeded"?/);
  t.same(kept(), domainBefore, 'no domain key, no record for the domain');
  out = await sh('xStatus Security Acme Domain 1 LastDryRun Status');
  t.match(out, /Status: "?Succeeded"?/);
});

t.test('a failing dry run: LastDryRun Failed with the reason, no back-off, no alarm, nothing else', async (t) => {
  const { app, issuer, sh, kept } = await configured(t);
  t.match(await sh('xConfiguration Security Acme Scheduler Mode: On'), /OK/);
  const before = kept();
  const statusBefore = withoutDryRun(await sh('xStatus Security Acme'));
  issuer.mode = 'fail';
  const out = await sh('xCommand Security Acme Sign DryRun: True Wait: True');
  t.match(out, /\(status=Error\):\n {5}Reason: "Dry run failed: CA unreachable: ca\.fake\.example:443 \(ECONNREFUSED\)"/);
  t.same(kept(), before, 'no failure counted, no back-off, no alarm raised');
  t.notOk(app.services.alarms.list().some((a) => a.id.startsWith('acme.renewal-failing')), 'no renewal alarm');
  t.equal(withoutDryRun(await sh('xStatus Security Acme')), statusBefore, 'Status, LastSign, Renewal Failures unchanged');
  t.match(await sh('xStatus Security Acme LastDryRun'),
    /Status: "?Failed"?\n\s+Time: "\d{4}-[^"]+"\n\s+Reason: "CA unreachable: ca\.fake\.example:443 \(ECONNREFUSED\)"/);
});

t.test('a dry run is refused, changing nothing, without an account for its provider or while an order runs', async (t) => {
  const { issuer, sh, kept } = await configured(t);
  // LetsEncrypt dry-runs against its staging CA, which has no account here.
  await sh('xConfiguration Security Acme Provider: LetsEncrypt');
  const before = kept();
  let out = await sh('xCommand Security Acme Sign DryRun: True Wait: True');
  t.match(out, /\(status=Error\):\n {5}Reason: "No ACME account with LetsEncryptStaging: /);
  t.same(kept(), before);
  t.match(await sh('xStatus Security Acme LastDryRun Status'), /Status: "?None"?/);
  await sh('xConfiguration Security Acme Provider: Custom');
  issuer.mode = 'hang';
  t.match(await sh('xCommand Security Acme Sign'), /InProgress/);
  out = await sh('xCommand Security Acme Sign DryRun: True');
  t.match(out, /Reason: "An ACME order for the server certificate is already running"/);
  t.match(await sh('xStatus Security Acme LastDryRun Status'), /Status: "?None"?/);
});

t.test('an order is refused while a dry run runs, and the dry run then ends as it would', async (t) => {
  const { issuer, sh, kept } = await configured(t);
  const before = kept();
  issuer.mode = 'hang';
  t.match(await sh('xCommand Security Acme Sign DryRun: True'), /Status: "?InProgress"?\n {5}DryRun: "?True"?/);
  t.match(await sh('xStatus Security Acme Status'), /Status: "?PendingDeploy"?/, 'a running dry run is no Signing');
  t.match(await sh('xCommand Security Acme Sign Wait: True'), /Reason: "An ACME order for the server certificate is already running"/);
  t.match(await sh('xCommand Security Acme Sign DryRun: True'), /Reason: "An ACME order for the server certificate is already running"/);
  t.same(kept(), before, 'the refused order recorded nothing');
});

t.test('the configured profile is sent, and one the CA does not offer fails the dry run naming those it does', async (t) => {
  const { issuer, sh, kept } = await configured(t);
  issuer.profiles = { classic: '90 days', shortlived: '160 hours' };
  t.match(await sh('xConfiguration Security Acme Profile: "ShortLived"'), /OK/);
  const before = kept();
  t.match(await sh('xCommand Security Acme Sign DryRun: True Wait: True'), /Status: "?Succeeded"?/);
  t.equal(issuer.orders.at(-1)?.profile, 'shortlived', 'sent as the CA spells it');
  t.match(await sh('xConfiguration Security Acme Profile: "sixdays"'), /OK/);
  const orders = issuer.orders.length;
  const out = await sh('xCommand Security Acme Sign DryRun: True Wait: True');
  t.match(out, /Reason: "Dry run failed: The CA does not offer profile \\"sixdays\\": it offers \\"classic\\", \\"shortlived\\""/);
  t.equal(issuer.orders.length, orders, 'no order reached the CA');
  t.match(await sh('xStatus Security Acme LastDryRun'), /Status: "?Failed"?[\s\S]*Reason: "The CA does not offer profile/);
  t.same(kept(), before, 'not even the cached directory changed');
});
