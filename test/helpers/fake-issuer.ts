// A CertificateIssuer for tests that need no CA: it signs the CSR's public key at once with a
// static P-256 test CA, on the injected clock, and can be told to fail (as if unreachable) or to
// hang. The real protocol path is tested against Pebble (test/acme/acme-service.test.ts, acme-ssh).
// It also answers as the CA's directory (CaDirectory): ARI windows and profiles the test sets,
// and it records each order's `profile` and `replaces` (as the Pebble front does).
import crypto from 'node:crypto';
import forge from 'node-forge';
import { buildCertificate } from '../../src/services/certs/build.js';
import { OrderFailure } from '../../src/services/acme/reasons.js';
import type { CertificateIssuer, OrderRequest } from '../../src/services/acme/issuer.js';
import type { CaDirectory } from '../../src/services/acme/ca-directory.js';
import { ariCertId, boundedRetryAfter, type RenewalInfoResult } from '../../src/services/acme/ari.js';
import type { Clock } from '../../src/platform/clock.js';

const DAY_MS = 86_400_000;

// A test key made once with openssl; it signs nothing but test certificates.
const CA_KEY = crypto.createPrivateKey(`-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgATgSP9D/EItE4bue
IQDfgzRIbyAv5oMTFu4MZTs57NShRANCAARaTJfYI9Q3hYp0BcwBoyvAqsJegqhQ
QQfamzXlGuWH0aMUIZE3Zi8CozSkHDFhL8aZ5Sxi9yPAuxkFQQEWyZZc
-----END PRIVATE KEY-----
`);

/** The subject public key of a PKCS#10 request (any key type). */
function csrPublicKey(csrPem: string): crypto.KeyObject {
  const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const info = (forge.asn1.fromDer(der.toString('binary')).value as forge.asn1.Asn1[])[0]!;
  const spki = (info.value as forge.asn1.Asn1[])[2]!;
  return crypto.createPublicKey({ key: Buffer.from(forge.asn1.toDer(spki).getBytes(), 'binary'), format: 'der', type: 'spki' });
}

export const FAKE_RENEWAL_INFO = 'https://ca.fake.example/renewalInfo';

/** The shell lines that point an appliance at the fake CA and create its account there. */
export const FAKE_CA_ACCOUNT: readonly string[] = [
  'xConfiguration Security Acme DirectoryUrl: "https://ca.fake.example/dir"',
  'xConfiguration Security Acme Provider: Custom',
  'xConfiguration Security Acme AdminEmail: admin@example.com',
  'xCommand Security Acme AcceptTerms Agree: True',
];

export class FakeIssuer implements CertificateIssuer, CaDirectory {
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  readonly issued: { at: number; serial: string; notAfter: number; certId: string }[] = [];
  /** When each order reached the CA (failed ones too). */
  readonly attempts: number[] = [];
  /** Each order's extension fields, as the CA received them. */
  readonly orders: { profile?: string; replaces?: string; refused?: string }[] = [];
  /** The directory offers `renewalInfo`. */
  ari = false;
  /** `meta.profiles` of the directory. */
  profiles: Record<string, string> = {};
  /** Windows per certificate ID; Retry-After in seconds as the CA would send it. */
  readonly windows = new Map<string, { start: number; end: number; explanationURL?: string; retryAfterS?: number }>();
  readonly renewalInfoAsked: { at: number; certId: string }[] = [];
  /** Certificate IDs the CA says were already replaced (RFC 9773 alreadyReplaced). */
  readonly replaced = new Set<string>();
  /** The CA certificate, sent after each leaf. */
  readonly pem: string;
  private readonly ca: crypto.X509Certificate;
  private n = 0;

  constructor(private readonly clock: Clock, private readonly lifetimeMs = 90 * DAY_MS) {
    const now = clock.now().getTime();
    this.pem = buildCertificate({
      commonName: 'Fake CA', notBefore: new Date(now - DAY_MS), notAfter: new Date(now + 3650 * DAY_MS), isCA: true, subjectKey: CA_KEY, serial: Buffer.from([1]),
    });
    this.ca = new crypto.X509Certificate(this.pem);
  }

  async termsOfService(): Promise<string> {
    return 'https://ca.fake.example/terms';
  }

  async register(): Promise<{ accountUrl: string; termsUrl: string }> {
    return { accountUrl: 'https://ca.fake.example/acct/1', termsUrl: 'https://ca.fake.example/terms' };
  }

  async order(_p: unknown, _a: unknown, req: OrderRequest): Promise<string> {
    this.attempts.push(this.clock.now().getTime());
    if (this.mode === 'hang') return new Promise(() => {});
    if (this.mode === 'fail') throw new OrderFailure({ kind: 'unreachable', retryable: true, reason: 'CA unreachable: ca.fake.example:443 (ECONNREFUSED)' });
    const fields = { ...(req.profile !== undefined ? { profile: req.profile } : {}), ...(req.replaces !== undefined ? { replaces: req.replaces } : {}) };
    if (req.replaces !== undefined && this.replaced.has(req.replaces)) {
      this.orders.push({ ...fields, refused: 'alreadyReplaced' });
      throw new OrderFailure({ kind: 'alreadyReplaced', retryable: true, reason: 'The CA says the certificate was already replaced: already replaced' });
    }
    this.orders.push(fields);
    if (req.replaces !== undefined) this.replaced.add(req.replaces);
    const now = this.clock.now().getTime();
    const serial = (0x1000 + ++this.n).toString(16).toUpperCase();
    const leaf = buildCertificate({
      commonName: req.names[0], altNames: req.names, notBefore: new Date(now), notAfter: new Date(now + this.lifetimeMs),
      subjectKey: csrPublicKey(req.csrPem), issuer: { cert: this.ca, key: CA_KEY }, serial: Buffer.from(serial, 'hex'),
    });
    this.issued.push({ at: now, serial, notAfter: now + this.lifetimeMs, certId: ariCertId(leaf) });
    return leaf + this.pem;
  }

  async directory(): Promise<Record<string, unknown>> {
    return {
      newOrder: 'https://ca.fake.example/new-order',
      ...(this.ari ? { renewalInfo: FAKE_RENEWAL_INFO } : {}),
      meta: { profiles: this.profiles },
    };
  }

  async renewalInfo(_url: string, certId: string): Promise<RenewalInfoResult> {
    const checkedAt = this.clock.now().getTime();
    this.renewalInfoAsked.push({ at: checkedAt, certId });
    const w = this.windows.get(certId);
    if (!w) return { ok: false, reason: `The CA answered HTTP 404 for the renewal information of ${certId}`, status: 404, retryAfterS: 3600, checkedAt };
    return {
      ok: true, checkedAt, retryAfterS: boundedRetryAfter(w.retryAfterS === undefined ? undefined : String(w.retryAfterS), checkedAt),
      info: { window: { start: w.start, end: w.end }, ...(w.explanationURL ? { explanationUrl: w.explanationURL } : {}) },
    };
  }

  /** Revocation requests received; each waits for `revokeGate` when set (a slow CA). */
  revokes = 0;
  revokeGate?: Promise<void>;

  async revoke(): Promise<string> {
    this.revokes++;
    await this.revokeGate;
    return '200 OK';
  }
}
