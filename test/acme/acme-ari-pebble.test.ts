// ARI and profiles against a real CA: Debian's Pebble 2.4 behind the test front
// (test/helpers/ari-front.ts), which adds `renewalInfo` and `meta.profiles` to the directory,
// serves the windows the test sets and records each new order's `profile` and `replaces`.
// acme-client 5.4 (through the product's issuer) still orders through the front; the ARI client
// sees the windows and the Retry-After the test set, bounded; profiles are checked by name.
import t from 'tap';
import crypto from 'node:crypto';
import { startPebble } from '../helpers/pebble.js';
import { startChallengeHost } from '../helpers/challenge-host.js';
import { startAriFront, windowAt } from '../helpers/ari-front.js';
import { AcmeClientIssuer, generateKey, makeCsr, type ProviderRef } from '../../src/services/acme/issuer.js';
import { ChallengeResponder } from '../../src/services/acme/responder.js';
import { OrderFailure } from '../../src/services/acme/reasons.js';
import { fetchDirectory, fetchRenewalInfo, renewalInfoUrl, type CaFetchOptions } from '../../src/services/acme/ari-client.js';
import { ariCertId, renewNow, ARI_RETRY_MIN_S, ARI_RETRY_MAX_S } from '../../src/services/acme/ari.js';
import { orderProfile, profilesOf } from '../../src/services/acme/profiles.js';
import { plan, renewalTime, deployDeadline, DAY_MS } from '../../src/services/acme/scheduler.js';

t.test('Pebble behind the ARI front', { timeout: 120_000 }, async (t) => {
  const host = await startChallengeHost();
  t.teardown(() => host.close());
  const pebble = await startPebble({ httpPort: host.port }, (fn) => t.teardown(fn));
  const front = await startAriFront(pebble, {}, (fn) => t.teardown(fn));
  const responder = new ChallengeResponder(host);
  const issuer = new AcmeClientIssuer(() => [pebble.httpsCaPem]);
  const provider: ProviderRef = { name: 'Custom', directoryUrl: front.directoryUrl };
  const http: CaFetchOptions = { caPems: [pebble.httpsCaPem], timeoutMs: 10_000, now: Date.now };

  // The directory: Pebble's, naming the front, plus renewalInfo and the profiles.
  const dir = await fetchDirectory(front.directoryUrl, http);
  t.equal(renewalInfoUrl(dir), `https://127.0.0.1:${front.port}/renewalInfo`);
  t.match(dir.newOrder, new RegExp(`^https://127\\.0\\.0\\.1:${front.port}/`), "Pebble's URLs name the front (Host header kept)");
  t.same(Object.keys(profilesOf(dir)), ['classic', 'shortlived', 'tlsserver']);
  t.equal(orderProfile('tlsserver', dir), 'tlsserver');
  t.throws(() => orderProfile('sixdays', dir), { message: 'The CA does not offer profile "sixdays": it offers "classic", "shortlived", "tlsserver"' });
  t.equal(renewalInfoUrl(await fetchDirectory(pebble.directoryUrl, http)), undefined, 'Pebble alone offers no ARI');

  const accountKey = await generateKey('ECDSA-P256');
  const acct = await issuer.register(provider, accountKey, 'admin@example.com', new AbortController().signal);
  t.match(acct.accountUrl, new RegExp(`^https://127\\.0\\.0\\.1:${front.port}/`));
  const account = { keyPem: accountKey, url: acct.accountUrl };
  const order = async (extra: { profile?: string; replaces?: string }) => {
    const id = crypto.randomUUID();
    const csrPem = await makeCsr(await generateKey('ECDSA-P256'), ['ari.example.com']);
    return issuer.order(provider, account, {
      csrPem, names: ['ari.example.com'], signal: new AbortController().signal, progress: () => {}, ...extra,
      challenges: { open: (tk) => responder.open(id, tk), close: () => responder.close(id) },
    });
  };

  // First order with a profile: recorded by the front, issued by Pebble.
  const first = await order({ profile: 'shortlived' });
  const leaf = new crypto.X509Certificate(first);
  t.match(leaf.subjectAltName, /ari\.example\.com/);
  t.same(front.orders[0], { identifiers: ['ari.example.com'], profile: 'shortlived' }, 'the front saw the profile, no replaces');

  // The window and Retry-After the test sets are what the client sees.
  const certId = ariCertId(first);
  const now = Date.now();
  const future = windowAt('future', now);
  front.setWindow(certId, { ...future, retryAfter: '21600', explanationURL: 'https://ca.example/incident' });
  const a = await fetchRenewalInfo(renewalInfoUrl(dir)!, certId, http);
  t.same(a.ok && { window: a.info.window, explanationUrl: a.info.explanationUrl, retryAfterS: a.retryAfterS },
    { window: future, explanationUrl: 'https://ca.example/incident', retryAfterS: 21600 }, 'future window, 6 hours');
  t.equal(front.renewalInfoAsked[0], certId, 'asked for the certificate ID of the issued certificate');

  const around = windowAt('now', now);
  front.setWindow(certId, { ...around, retryAfter: '60' });
  const b = await fetchRenewalInfo(renewalInfoUrl(dir)!, certId, http);
  t.same(b.ok && [b.info.window, b.retryAfterS], [around, ARI_RETRY_MIN_S], 'window around now; a 60 s Retry-After polls hourly');

  const past = windowAt('past', now);
  front.setWindow(certId, { ...past, retryAfter: new Date(now + 30 * 3600_000).toUTCString() });
  const c = await fetchRenewalInfo(renewalInfoUrl(dir)!, certId, http);
  t.same(c.ok && [c.info.window, c.retryAfterS], [past, ARI_RETRY_MAX_S], 'window in the past; an HTTP date 30 h away polls daily');
  t.ok(c.ok && renewNow(c.info.window, { notBefore: Date.parse(leaf.validFrom), notAfter: Date.parse(leaf.validTo) }, Date.now()), 'renew now');

  const unknown = await fetchRenewalInfo(renewalInfoUrl(dir)!, 'AAAA.AQ', http);
  t.same(unknown.ok ? 'ok' : [unknown.status, unknown.retryAfterS, unknown.reason],
    [404, ARI_RETRY_MIN_S, 'The CA answered HTTP 404 for the renewal information of AAAA.AQ: no renewal information for AAAA.AQ']);
  const untrusted = await fetchRenewalInfo(renewalInfoUrl(dir)!, certId, { ...http, caPems: [] });
  t.match(untrusted.ok ? 'ok' : untrusted.reason, /^CA unreachable: 127\.0\.0\.1:\d+ \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)$/, 'only the given CAs are trusted');

  // The renewal names the certificate it replaces; Pebble ignores the field and issues.
  const second = await order({ replaces: certId });
  t.not(new crypto.X509Certificate(second).serialNumber, leaf.serialNumber);
  t.same(front.orders[1], { identifiers: ['ari.example.com'], replaces: certId }, 'the front saw replaces');

  // An unknown profile is refused as a CA does, and the sentence says so.
  const bad = await order({ profile: 'sixdays' }).catch((e: unknown) => e);
  t.ok(bad instanceof OrderFailure);
  t.same((bad as OrderFailure).failure, {
    kind: 'profile', retryable: false, reason: 'The CA refused the certificate profile: profile "sixdays" is not offered; offered: classic, tlsserver, shortlived',
  });
  t.equal(front.orders[2]!.refused, 'invalidProfile');

  // A certificate already replaced: alreadyReplaced, retryable without `replaces`.
  front.markReplaced(certId);
  const again = await order({ replaces: certId }).catch((e: unknown) => e);
  t.match((again as OrderFailure).failure, { kind: 'alreadyReplaced', retryable: true });
  t.equal(front.orders[3]!.refused, 'alreadyReplaced');
  t.ok(await order({}), 'and the same order without replaces succeeds after the refusals (fresh nonces)');
  t.equal(responder.active, false);
});

t.test('a front offering no profiles, refusing with malformed; a 300-second certificate planned from its real lifetime', { timeout: 60_000 }, async (t) => {
  const host = await startChallengeHost();
  t.teardown(() => host.close());
  const pebble = await startPebble({ httpPort: host.port, validitySeconds: 300 }, (fn) => t.teardown(fn));
  const front = await startAriFront(pebble, { profiles: {}, unknownProfileError: 'malformed', noRenewalInfo: true }, (fn) => t.teardown(fn));
  const http: CaFetchOptions = { caPems: [pebble.httpsCaPem], timeoutMs: 10_000, now: Date.now };
  const dir = await fetchDirectory(front.directoryUrl, http);
  t.equal(renewalInfoUrl(dir), undefined, 'no ARI: renewal stays on the lifetime rule');
  t.same(profilesOf(dir), {});
  t.throws(() => orderProfile('classic', dir), { name: 'CommandError', message: /^The CA offers no certificate profiles/ });
  t.equal(orderProfile('', dir), undefined);

  const issuer = new AcmeClientIssuer(() => [pebble.httpsCaPem]);
  const provider: ProviderRef = { name: 'Custom', directoryUrl: front.directoryUrl };
  const key = await generateKey('ECDSA-P256');
  const acct = await issuer.register(provider, key, '', new AbortController().signal);
  const responder = new ChallengeResponder(host);
  const err = await issuer.order(provider, { keyPem: key, url: acct.accountUrl }, {
    csrPem: await makeCsr(await generateKey('ECDSA-P256'), ['p.example.com']), names: ['p.example.com'], profile: 'classic',
    signal: new AbortController().signal, progress: () => {}, challenges: { open: (tk) => responder.open('x', tk), close: () => responder.close('x') },
  }).catch((e: unknown) => e);
  t.same((err as OrderFailure).failure, { kind: 'refused', retryable: false, reason: 'The CA refused the request (malformed): profile "classic" is not offered; offered: none' });
  t.same(front.orders, [{ identifiers: ['p.example.com'], profile: 'classic', refused: 'malformed' }]);

  // Without a profile the order goes through; Pebble's 300-second certificate is planned from
  // its own notBefore/notAfter: signed again after 200 s, before the deploy deadline and expiry.
  const pem = await issuer.order(provider, { keyPem: key, url: acct.accountUrl }, {
    csrPem: await makeCsr(await generateKey('ECDSA-P256'), ['p.example.com']), names: ['p.example.com'],
    signal: new AbortController().signal, progress: () => {}, challenges: { open: (tk) => responder.open('y', tk), close: () => responder.close('y') },
  });
  const x = new crypto.X509Certificate(pem);
  const life = { notBefore: Date.parse(x.validFrom), notAfter: Date.parse(x.validTo) };
  t.ok(life.notAfter - life.notBefore <= 300_000 && life.notAfter - life.notBefore >= 299_000, `lifetime ${(life.notAfter - life.notBefore) / 1000} s`);
  const p = plan({
    now: life.notBefore, automated: true, signing: false, schedule: { days: 'Mon', time: '03:00' }, periodMs: DAY_MS, seed: 'x'.repeat(64),
    deployed: { ...life, acme: true },
  });
  t.ok(p.nextSign! >= renewalTime(life) && p.nextSign! < deployDeadline(life), `renews ${(p.nextSign! - life.notBefore) / 1000} s into it`);
  t.same(front.orders[1], { identifiers: ['p.example.com'] });
});
