// ACME Renewal Information and profiles, the pure parts: certificate IDs (checked against
// openssl's reading of the same certificate, and against RFC 9773's own example), renewalInfo
// answers, Retry-After bounds, the moment drawn inside a window, "renew now", profile checks, and
// renewal timing from the real lifetime (6 days, 300 seconds, deploy days further than expiry).
import t from 'tap';
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';
import {
  ariCertId, parseRenewalInfo, boundedRetryAfter, chooseRenewalMoment, renewNow, ARI_RETRY_MIN_S, ARI_RETRY_MAX_S,
  nextAriState, ariPollDue, ariWindowFor, readAriState, type AriState,
} from '../../src/services/acme/ari.js';
import { profilesOf, orderProfile } from '../../src/services/acme/profiles.js';
import {
  plan, deployDecision, renewalWindow, signPeriodFor, urgency, nextSlot, deployDeadline, renewalTime, DAY_MS, type PlanInput,
} from '../../src/services/acme/scheduler.js';
import { makeCa, makeLeaf, openssl, tmpDir } from '../helpers/pki.js';

const b64u = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');

/** openssl's own reading of a certificate: AKI keyid and serial, as hex. */
function opensslFacts(t: { teardown(fn: () => void): void }, pem: string): { aki: string; serial: string } {
  const f = path.join(tmpDir(t), 'c.pem');
  fs.writeFileSync(f, pem);
  const r = openssl(['x509', '-in', f, '-noout', '-serial', '-ext', 'authorityKeyIdentifier']);
  const serial = /serial=([0-9A-F]+)/.exec(r.out)![1]!;
  const aki = /(?:keyid:)?((?:[0-9A-F]{2}:)+[0-9A-F]{2})/.exec(r.out.split('Authority Key Identifier')[1]!)![1]!.replace(/:/g, '');
  return { aki, serial };
}

t.test('certificate ID from a certificate made by the test PKI', async (t) => {
  const ca = await makeCa();
  // A serial with its high bit set: DER keeps a leading 0x00, and so must the ID.
  const leaf = await makeLeaf(ca, { serial: Buffer.from('0087654321', 'hex') });
  const o = opensslFacts(t, leaf.pem);
  t.equal(o.serial, '87654321', 'openssl sees the serial');
  t.equal(ariCertId(leaf.pem), `${b64u(o.aki)}.AIdlQyE`, 'AKI keyid from openssl, serial 00 87 65 43 21 as RFC 9773 encodes it');

  const other = await makeLeaf(ca);
  const o2 = opensslFacts(t, other.pem);
  t.equal(ariCertId(other.pem), `${b64u(o.aki)}.${b64u(o2.serial)}`, 'a random serial (no leading zero) with the same issuer');
  t.equal(ariCertId(other.pem + ca.pem), ariCertId(other.pem), 'the leaf of a chain');
});

t.test('certificate ID of RFC 9773 section 4.1 example, made by openssl', async (t) => {
  const dir = tmpDir(t);
  const f = (n: string) => path.join(dir, n);
  fs.writeFileSync(f('ca.cnf'), 'subjectKeyIdentifier=69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4\nbasicConstraints=critical,CA:TRUE\n');
  fs.writeFileSync(f('leaf.cnf'), 'authorityKeyIdentifier=keyid:always\nsubjectAltName=DNS:example.com\n');
  const run = (args: string[]) => { const r = openssl(args); t.equal(r.status, 0, r.out); };
  run(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=RFC CA', '-keyout', f('ca.key'), '-out', f('ca.csr')]);
  run(['x509', '-req', '-in', f('ca.csr'), '-key', f('ca.key'), '-days', '2', '-extfile', f('ca.cnf'), '-out', f('ca.pem')]);
  run(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=example.com', '-keyout', f('l.key'), '-out', f('l.csr')]);
  run(['x509', '-req', '-in', f('l.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-set_serial', '0x87654321', '-days', '2', '-extfile', f('leaf.cnf'), '-out', f('l.pem')]);
  t.equal(ariCertId(fs.readFileSync(f('l.pem'), 'utf8')), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
});

t.test('certificate ID: no AKI, not a certificate', async (t) => {
  const keys = forge.pki.rsa.generateKeyPair(1024);
  const c = forge.pki.createCertificate();
  c.publicKey = keys.publicKey;
  c.serialNumber = '01';
  c.validity.notBefore = new Date();
  c.validity.notAfter = new Date(Date.now() + DAY_MS);
  c.setSubject([{ name: 'commonName', value: 'no-aki.example' }]);
  c.setIssuer([{ name: 'commonName', value: 'no-aki.example' }]);
  c.sign(keys.privateKey, forge.md.sha256.create());
  t.throws(() => ariCertId(forge.pki.certificateToPem(c)), { name: 'ParameterError', message: 'The certificate has no Authority Key Identifier: the CA cannot give renewal information for it' });
  t.throws(() => ariCertId(''), { name: 'ParameterError' });
  t.throws(() => ariCertId('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), { name: 'ParameterError', message: 'The certificate is not valid DER' });
});

t.test('renewalInfo answers', async (t) => {
  const id = 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE';
  t.same(parseRenewalInfo({ suggestedWindow: { start: '2025-01-02T04:00:00Z', end: '2025-01-03T04:00:00Z' }, explanationURL: 'https://acme.example.com/docs/ari' }, id), {
    window: { start: Date.UTC(2025, 0, 2, 4), end: Date.UTC(2025, 0, 3, 4) }, explanationUrl: 'https://acme.example.com/docs/ari',
  }, 'the RFC example');
  t.same(parseRenewalInfo({ suggestedWindow: { start: '2025-01-02T04:00:00.5+02:00', end: '2025-01-02T05:00:00Z' } }, id).window,
    { start: Date.UTC(2025, 0, 2, 2, 0, 0, 500), end: Date.UTC(2025, 0, 2, 5) }, 'fractions and offsets');
  t.same(parseRenewalInfo({ suggestedWindow: { start: '2025-01-02T04:00:00Z', end: '2025-01-03T04:00:00Z' }, explanationURL: 'javascript:alert(1)' }, id),
    { window: { start: Date.UTC(2025, 0, 2, 4), end: Date.UTC(2025, 0, 3, 4) } }, 'a non-http explanation URL is dropped, the window kept');
  const bad: [unknown, string][] = [
    [null, `The CA's renewal information for ${id} is not a JSON object`],
    [[], `The CA's renewal information for ${id} is not a JSON object`],
    [{}, `The CA's renewal information for ${id} has no suggestedWindow`],
    [{ suggestedWindow: { start: 'yesterday', end: '2025-01-03T04:00:00Z' } }, `The CA's renewal information for ${id} has no valid suggestedWindow start (RFC 3339 time expected)`],
    [{ suggestedWindow: { start: '2025-01-02T04:00:00Z' } }, `The CA's renewal information for ${id} has no valid suggestedWindow end (RFC 3339 time expected)`],
    [{ suggestedWindow: { start: 1735790400, end: '2025-01-03T04:00:00Z' } }, `The CA's renewal information for ${id} has no valid suggestedWindow start (RFC 3339 time expected)`],
    [{ suggestedWindow: { start: '2025-01-03T04:00:00Z', end: '2025-01-03T04:00:00Z' } }, `The CA's renewal information for ${id} has a suggestedWindow that ends before it starts`],
    [{ suggestedWindow: { start: '2025-01-04T04:00:00Z', end: '2025-01-03T04:00:00Z' } }, `The CA's renewal information for ${id} has a suggestedWindow that ends before it starts`],
  ];
  for (const [body, message] of bad) t.throws(() => parseRenewalInfo(body, id), { name: 'ParameterError', message }, JSON.stringify(body));
});

t.test('Retry-After bounded to [1 h, 24 h]', async (t) => {
  const now = Date.UTC(2026, 10, 30, 12);
  t.equal(boundedRetryAfter('21600', now), 21600, "Let's Encrypt's 6 hours");
  t.equal(boundedRetryAfter('60', now), ARI_RETRY_MIN_S, 'a minute becomes an hour');
  t.equal(boundedRetryAfter('0', now), ARI_RETRY_MIN_S);
  t.equal(boundedRetryAfter('604800', now), ARI_RETRY_MAX_S, 'a week becomes a day');
  t.equal(boundedRetryAfter(new Date(now + 2 * 3600_000).toUTCString(), now), 7200, 'an HTTP date');
  t.equal(boundedRetryAfter(new Date(now - 3600_000).toUTCString(), now), ARI_RETRY_MIN_S, 'a date in the past');
  t.equal(boundedRetryAfter(undefined, now), 21600, 'absent: 6 hours');
  t.equal(boundedRetryAfter('soon', now), 21600, 'unreadable: 6 hours');
  fc.assert(fc.property(fc.string(), (s) => {
    const v = boundedRetryAfter(s, now);
    return v >= ARI_RETRY_MIN_S && v <= ARI_RETRY_MAX_S;
  }), { numRuns: 300 });
});

t.test('the moment drawn stays inside the window; renew now when it ended or the certificate expired', async (t) => {
  const w = { start: Date.UTC(2027, 0, 1), end: Date.UTC(2027, 0, 3) };
  t.equal(chooseRenewalMoment(w, 0), w.start);
  t.ok(chooseRenewalMoment(w, 0.999999999) < w.end);
  t.throws(() => chooseRenewalMoment(w, 1), RangeError);
  t.throws(() => chooseRenewalMoment(w, -0.1), RangeError);
  t.throws(() => chooseRenewalMoment(w, NaN), RangeError);
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 42 }), fc.integer({ min: 1, max: 400 * DAY_MS }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    (start, len, u) => {
      const m = chooseRenewalMoment({ start, end: start + len }, u);
      return m >= start && m < start + len;
    }), { numRuns: 1000 });
  // Uniform: ten buckets of 10 000 draws from Math.random, each near a tenth.
  const buckets = new Array<number>(10).fill(0);
  for (let i = 0; i < 10_000; i++) buckets[Math.floor((chooseRenewalMoment(w, Math.random()) - w.start) / ((w.end - w.start) / 10))]!++;
  t.ok(buckets.every((b) => b > 800 && b < 1200), `buckets ${buckets.join(' ')}`);

  const cert = { notBefore: Date.UTC(2026, 11, 1), notAfter: Date.UTC(2027, 1, 1) };
  t.notOk(renewNow(w, cert, w.start - 1), 'before the window');
  t.notOk(renewNow(w, cert, w.end - 1), 'inside the window: at the drawn moment, not now');
  t.ok(renewNow(w, cert, w.end), 'the window ended');
  t.ok(renewNow(undefined, cert, cert.notAfter), 'expired, no ARI');
  t.notOk(renewNow(undefined, cert, cert.notAfter - 1));
});

t.test('ARI state per certificate: kept across failures and restarts, reset by a new certificate', async (t) => {
  const now = Date.UTC(2027, 0, 1);
  const w = { start: now + 10 * DAY_MS, end: now + 11 * DAY_MS };
  const s1 = nextAriState(undefined, 'A.AQ', { ok: true, info: { window: w, explanationUrl: 'https://x.example/' }, retryAfterS: 21600, checkedAt: now });
  t.same(s1, { certId: 'A.AQ', lastCheck: now, nextCheck: now + 21600_000, window: w, explanationUrl: 'https://x.example/' });
  t.notOk(ariPollDue(s1, 'A.AQ', now + 21600_000 - 1));
  t.ok(ariPollDue(s1, 'A.AQ', now + 21600_000), 'at Retry-After');
  t.ok(ariPollDue(s1, 'B.AQ', now), 'another certificate deployed: ask at once');
  t.ok(ariPollDue(undefined, 'A.AQ', now));
  t.ok(ariPollDue(s1, 'A.AQ', now - 1000), 'the clock went back');
  const s2 = nextAriState(s1, 'A.AQ', { ok: false, reason: 'CA unreachable: ca.example:443 (ECONNREFUSED)', retryAfterS: 3600, checkedAt: now + 21600_000 });
  t.same(s2, { certId: 'A.AQ', lastCheck: now + 21600_000, nextCheck: now + 25200_000, window: w, explanationUrl: 'https://x.example/', error: 'CA unreachable: ca.example:443 (ECONNREFUSED)' }, 'a failed poll keeps the window');
  const s3 = nextAriState(s2, 'B.AQ', { ok: false, reason: 'HTTP 404', status: 404, retryAfterS: 3600, checkedAt: now });
  t.same(s3, { certId: 'B.AQ', lastCheck: now, nextCheck: now + 3600_000, error: 'HTTP 404' }, 'but never for another certificate');
  t.same(ariWindowFor(s2, 'A.AQ'), w);
  t.equal(ariWindowFor(s2, 'B.AQ'), undefined, 'a window only plans the certificate it was given for');

  t.same(readAriState(JSON.parse(JSON.stringify(s2))), s2, 'stored as JSON and read back');
  t.equal(readAriState(null), undefined);
  t.equal(readAriState({ certId: 'A.AQ', lastCheck: 'x', nextCheck: 1 }), undefined);
  t.same(readAriState({ certId: 'A.AQ', lastCheck: now, nextCheck: now + 1, window: { start: 5, end: 4 } }), { certId: 'A.AQ', lastCheck: now, nextCheck: now + 1 }, 'a bad window is dropped');
  const far: AriState = { certId: 'A.AQ', lastCheck: now, nextCheck: now + 30 * DAY_MS };
  t.equal(readAriState(far)!.nextCheck, now + ARI_RETRY_MAX_S * 1000, 'a stored next check beyond 24 h is pulled in');
});

t.test('profiles from the directory, checked by name', async (t) => {
  const dir = { newOrder: 'x', meta: { profiles: { tlsserver: 'TLS server, 45 days', classic: 'The usual', shortlived: 'Short\nlived' } } };
  t.same(profilesOf(dir), { classic: 'The usual', shortlived: 'Short lived', tlsserver: 'TLS server, 45 days' });
  t.same(Object.keys(profilesOf(dir)), ['classic', 'shortlived', 'tlsserver'], 'sorted');
  t.same(profilesOf({ meta: {} }), {});
  t.same(profilesOf({ meta: { profiles: ['classic'] } }), {}, 'not a map: none');
  t.same(profilesOf(null), {});
  t.equal(orderProfile('', dir), undefined, "empty: the CA's default");
  t.equal(orderProfile('shortlived', dir), 'shortlived');
  t.equal(orderProfile('ShortLived', dir), 'shortlived', 'matched without case, sent as the CA spells it');
  t.throws(() => orderProfile('sixdays', dir), { name: 'CommandError', message: 'The CA does not offer profile "sixdays": it offers "classic", "shortlived", "tlsserver"' });
  t.throws(() => orderProfile('classic', { meta: {} }), {
    name: 'CommandError', message: 'The CA offers no certificate profiles, so profile "classic" cannot be requested: set Security Acme Profile to "" for the CA\'s default',
  });
  t.equal(orderProfile('', { meta: {} }), undefined);
});

const T0 = Date.UTC(2027, 0, 4); // a Monday
const H = 3600_000;
const seed = 'c'.repeat(64);
const base: PlanInput = { now: T0, automated: true, signing: false, schedule: { days: 'Mon,Thu', time: '03:00' }, periodMs: DAY_MS, seed };

t.test('renewal timing from the real lifetime', async (t) => {
  const sixDays = { notBefore: T0, notAfter: T0 + 6 * DAY_MS };
  t.equal(signPeriodFor(sixDays, DAY_MS), 12 * H, 'a 6-day certificate: moments every 12 hours');
  t.equal(signPeriodFor({ notBefore: T0, notAfter: T0 + 90 * DAY_MS }, DAY_MS), DAY_MS, '90 days: the configured day');
  t.equal(signPeriodFor({ notBefore: T0, notAfter: T0 + 300_000 }, DAY_MS), 25_000, '300 s: 25 s');
  t.equal(signPeriodFor({ notBefore: T0, notAfter: T0 + 6000 }, DAY_MS), 1000, 'never below a second');

  fc.assert(fc.property(fc.string({ minLength: 4, maxLength: 12 }), fc.integer({ min: 0, max: 4 * 24 }), (s, hours) => {
    const n = plan({ ...base, seed: s, now: T0 + hours * H, deployed: { ...sixDays, acme: true } }).nextSign!;
    return n >= T0 + 4 * DAY_MS && n < T0 + 4 * DAY_MS + 12 * H;
  }), { numRuns: 300 });
  t.pass('a 6-day certificate renews on day 4 (within its first 12 hours), whatever the seed');

  fc.assert(fc.property(fc.string({ minLength: 4, maxLength: 12 }), fc.integer({ min: 0, max: 199 }), (s, secs) => {
    const c = { notBefore: T0 + 7 * H, notAfter: T0 + 7 * H + 300_000 };
    const n = plan({ ...base, seed: s, now: c.notBefore + secs * 1000, deployed: { ...c, acme: true } }).nextSign!;
    return n >= renewalTime(c) && n < c.notBefore + 225_000 && n < deployDeadline(c);
  }), { numRuns: 300 });
  t.pass('a 300-second certificate renews between second 200 and 225, before the deploy deadline (240) and expiry');

  t.same(renewalWindow(sixDays, DAY_MS), { start: T0 + 4 * DAY_MS, end: T0 + 4 * DAY_MS + 12 * H, source: 'Lifetime' });
  t.same(renewalWindow(sixDays, DAY_MS, { start: 1, end: 2 }), { start: 1, end: 2, source: 'ARI' });
});

t.test('deploy: the slot, the deadline, or when signed', async (t) => {
  const sched = base.schedule;
  const ninety = { notBefore: T0, notAfter: T0 + 90 * DAY_MS };
  const pending = (signed: number, life = 90 * DAY_MS) => ({ signed, notBefore: signed, notAfter: signed + life });
  t.same(deployDecision({ deployed: ninety, pending: pending(T0 + 60 * DAY_MS), schedule: sched }), { at: nextSlot(T0 + 60 * DAY_MS, sched), reason: 'slot' });
  t.same(deployDecision({ deployed: ninety, pending: pending(T0 + 60 * DAY_MS), schedule: { days: '', time: '03:00' } }), { at: deployDeadline(ninety), reason: 'deadline' });

  // A 6-day certificate signed Thursday 04:00 (after that day's slot) while the one in use ends
  // Sunday: Monday's slot is after its expiry, so the new one goes in when signed.
  const thu = T0 + 3 * DAY_MS + 4 * H;
  const inUse = { notBefore: thu - 4 * DAY_MS, notAfter: thu - 4 * DAY_MS + 6 * DAY_MS };
  t.ok(nextSlot(thu, sched)! >= inUse.notAfter, 'next slot (Monday) after the expiry (Saturday)');
  t.same(deployDecision({ deployed: inUse, pending: pending(thu, 6 * DAY_MS), schedule: sched }), { at: thu, reason: 'expires-before-slot' });
  t.same(deployDecision({ deployed: inUse, pending: pending(thu, 6 * DAY_MS), schedule: sched, deployNotBefore: thu + 60_000 }), { at: thu + 60_000, reason: 'expires-before-slot' }, 'after a failed deploy: its back-off');
  t.same(deployDecision({ deployed: ninety, pending: pending(T0 + 60 * DAY_MS), schedule: sched, urgent: 'window-passed' }), { at: T0 + 60 * DAY_MS, reason: 'urgent' });
  t.same(deployDecision({ pending: pending(T0 + 5), schedule: { days: '', time: '03:00' } }), { at: T0 + 5, reason: 'no-slot' });
  t.same(deployDecision({ pending: pending(T0 + 5), schedule: sched }), { at: T0 + 3 * H, reason: 'slot' });

  const p = plan({ ...base, now: thu, deployed: { ...inUse, acme: true }, pending: pending(thu, 6 * DAY_MS) });
  t.equal(p.nextDeploy, thu, 'plan() deploys it when signed');
});

t.test('plan with ARI: a moment inside the window; a passed window, expiry or revocation: now', async (t) => {
  const c = { notBefore: T0, notAfter: T0 + 90 * DAY_MS, acme: true };
  const future = { start: T0 + 30 * DAY_MS, end: T0 + 32 * DAY_MS };
  const p = plan({ ...base, deployed: c, ari: future });
  t.ok(p.nextSign! >= future.start && p.nextSign! < future.end, 'future window: a moment inside it');
  t.equal(p.urgent, undefined);
  t.equal(plan({ ...base, deployed: c, ari: future }).nextSign, p.nextSign, 'stable for a seed and a window');
  const other = plan({ ...base, deployed: c, ari: { start: future.start, end: future.end + 1 } }).nextSign;
  t.not(other, p.nextSign, 'a new window, a new draw');
  fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 10 }), (s) => {
    const n = plan({ ...base, seed: s, deployed: c, ari: future }).nextSign!;
    return n >= future.start && n < future.end;
  }), { numRuns: 300 });

  const now = T0 + 10 * DAY_MS;
  const around = { start: now - H, end: now + H };
  const q = plan({ ...base, now, deployed: c, ari: around });
  t.ok(q.nextSign! >= around.start && q.nextSign! < around.end, 'a window around now: inside it (≤ now means sign now)');
  t.equal(q.urgent, undefined);

  const past = { start: now - 3 * DAY_MS, end: now - 2 * DAY_MS };
  const passed = plan({ ...base, now, deployed: c, ari: past });
  t.equal(passed.urgent, 'window-passed');
  t.ok(passed.nextSign! <= now, 'window in the past: sign now (the moment drawn in it, already past)');
  t.same(plan({ ...base, now, deployed: c, ari: past, signNotBefore: now + 60_000 }), { nextSign: now + 60_000, urgent: 'window-passed' }, 'only the back-off holds it, no drawn moment');
  const staged = { signed: now + 1000, notBefore: now + 1000, notAfter: now + 91 * DAY_MS };
  t.same(plan({ ...base, now: now + 2000, deployed: c, ari: past, pending: staged }), { nextDeploy: now + 1000, urgent: 'window-passed' }, 'and deploy when signed, not at the slot');
  t.same(plan({ ...base, now: T0 + DAY_MS, deployed: c, revoked: true }), { nextSign: T0 + DAY_MS, urgent: 'revoked' }, 'revoked: sign now');
  const expired = c.notAfter + 90_000;
  t.equal(plan({ ...base, now: expired, deployed: c }).urgent, 'expired');
  t.ok(plan({ ...base, now: expired, deployed: c }).nextSign! <= expired, 'expired without ARI: sign now');
  t.same(plan({ ...base, now: expired, deployed: c, signNotBefore: expired + 5000 }), { nextSign: expired + 5000, urgent: 'expired' }, 'not ~a day away after a failure');
  t.equal(urgency(c, T0 + 76 * DAY_MS), 'overdue');
  t.equal(urgency(c, T0 + 70 * DAY_MS), undefined);
  t.same(plan({ ...base, now, deployed: { ...c, acme: false }, ari: past }), { nextSign: now }, 'not an ACME certificate: the first order, at once');
});
