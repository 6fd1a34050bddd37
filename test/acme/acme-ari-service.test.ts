// ARI and profiles through the product against a real CA: the ACME service (buildApp, real
// listeners) ordering from Pebble behind the ARI front (test/helpers/ari-front.ts). The directory's
// profiles are listed in xStatus; an unknown profile is refused naming the offered ones before any
// order; a known one is sent. With the scheduler on, a window the CA moved into the past is polled,
// signed at once with `replaces` naming the certificate in use (alreadyReplaced: ordered again
// without it) and deployed at once although today is no deploy day, with an alarm saying why.
import t from 'tap';
import { acmeEnv, ADMIN } from '../helpers/acme-env.js';
import { startAriFront, windowAt } from '../helpers/ari-front.js';
import { ariCertId } from '../../src/services/acme/ari.js';
import { DAYS } from '../../schema/types.js';

t.test('profiles and a window moved into the past, against Pebble behind the ARI front', { timeout: 180_000 }, async (t) => {
  const env = await acmeEnv(t);
  const front = await startAriFront(env.pebble, {}, (fn) => t.teardown(fn));
  env.set({ 'Security Acme Provider': 'Custom', 'Security Acme DirectoryUrl': front.directoryUrl, 'Security Acme AdminEmail': 'admin@example.com' });
  await env.acme.acceptTerms(ADMIN, true);
  t.equal(env.acmeStatus().Profiles, 'classic, shortlived, tlsserver', 'the directory fetched with the account lists its profiles');

  await env.csr(['ari.example.com']);
  env.set({ 'Security Acme Profile': 'sixdays' });
  let r = await env.shell('xCommand Security Acme Sign Wait: True');
  t.match(r.out, /Reason: "The CA does not offer profile \\?"sixdays\\?": it offers \\?"classic\\?", \\?"shortlived\\?", \\?"tlsserver\\?""/);
  t.same(front.orders, [], 'no order placed');

  env.set({ 'Security Acme Profile': 'tlsserver' });
  r = await env.shell('xCommand Security Acme Sign Wait: True');
  t.match(r.out, /Status: "?Succeeded"?/, r.out);
  await env.acme.deploy(undefined, ADMIN);
  t.same(front.orders, [{ identifiers: ['ari.example.com'], profile: 'tlsserver' }], 'the front saw the profile and no replaces');
  const first = env.certs.active();
  const certId = ariCertId(first.certPem);

  // A mass revocation: the CA moves the window into the past, and says another client renewed it.
  front.setWindow(certId, { ...windowAt('past', Date.now()), explanationURL: 'https://ca.example/incident' });
  front.markReplaced(certId);
  const deployed = new Promise<void>((resolve) => env.onEvent((e) => { if (e.name === 'AcmeProgress' && e.fields.Status === 'Deployed') resolve(); }));
  // The only deploy day is tomorrow: an ordinary renewal would wait for it.
  // (DAYS starts on Monday, getUTCDay on Sunday: the same index is the next day.)
  const tomorrow = DAYS[new Date().getUTCDay()]!;
  env.set({ 'Security Acme Scheduler Days': tomorrow, 'Security Acme Scheduler Mode': 'On' });
  await deployed;
  const second = env.certs.active();
  t.not(second.info.serial, first.info.serial, 'a new certificate is in use');
  t.equal(front.renewalInfoAsked[0], certId, 'the CA was asked about the certificate in use');
  t.same(front.orders.slice(1).map((o) => [o.replaces, o.refused]), [[certId, 'alreadyReplaced'], [undefined, undefined]],
    'replaces sent; alreadyReplaced: ordered again without it');
  t.equal(front.orders[2]?.profile, 'tlsserver');
  const urgent = env.logLines.map((l) => JSON.parse(l) as { event?: string; id?: string; title?: string }).filter((l) => l.id === 'acme.renewal-urgent');
  t.match(urgent.map((l) => l.event), ['alarm.raised', 'alarm.lowered'], 'the alarm said why, and went with the new certificate');
  t.match(urgent[0]?.title, /cannot wait: the CA's renewal window has ended/);
  t.match(env.acmeStatus().Renewal, { Source: 'Lifetime', Failures: 0 });
});
