// ACME Renewal Information (RFC 9773), the pure part: the certificate ID a CA knows a
// certificate by, the renewalInfo answer read and checked, how long to wait before asking
// again, the moment inside the suggested window, and when a window says "renew now".
// The network side is ari-client.ts; the scheduling side is scheduler.ts.
import forge from 'node-forge';
import { ParameterError } from '../../errors.js';
import { parsePem } from '../certs/pem.js';
import { parseRetryAfter } from './transport.js';
import type { Lifetime } from './scheduler.js';

/** The CA's suggested renewal window, epoch ms; `start` < `end`. */
export interface RenewalWindow {
  readonly start: number;
  readonly end: number;
}

export interface RenewalInfo {
  readonly window: RenewalWindow;
  /** A page the CA wrote about this window (an incident, a revocation); only http(s) URLs are kept. */
  readonly explanationUrl?: string;
}

/** RFC 9773 leaves the polling interval to the client within reason: never more often than hourly, at least daily. */
export const ARI_RETRY_MIN_S = 3600;
export const ARI_RETRY_MAX_S = 86_400;
/** When the CA sends no usable Retry-After: Let's Encrypt's own interval. */
export const ARI_RETRY_DEFAULT_S = 6 * 3600;

const OID_AKI = '2.5.29.35';
const b64url = (b: Buffer) => b.toString('base64url');

type Asn1 = forge.asn1.Asn1;
const children = (n: Asn1 | undefined): Asn1[] => (Array.isArray(n?.value) ? (n!.value as Asn1[]) : []);

/**
 * The ARI certificate ID: base64url(AKI keyIdentifier) "." base64url(serial), the serial as
 * its DER INTEGER content octets (a leading 0x00 kept), both without padding.
 * ParameterError when the PEM holds no certificate or the certificate has no AKI keyIdentifier
 * (the CA then cannot be asked about it: renewal falls back to its lifetime).
 */
export function ariCertId(pem: string): string {
  const block = parsePem(pem, 'certificate').find((b) => b.label === 'CERTIFICATE');
  if (!block) throw new ParameterError('The certificate PEM holds no CERTIFICATE block');
  let tbs: Asn1[];
  try {
    // Certificate ::= SEQ { tbsCertificate SEQ, signatureAlgorithm, signature }
    const cert = forge.asn1.fromDer(block.der.toString('binary'), { parseAllBytes: false, decodeBitStrings: false } as never) as Asn1;
    if (children(cert).length !== 3) throw new Error('not a certificate');
    tbs = children(children(cert)[0]);
  } catch {
    throw new ParameterError('The certificate is not valid DER');
  }
  // TBSCertificate ::= SEQ { [0] version OPTIONAL, serialNumber, signature, issuer, validity, subject, spki, ..., [3] extensions }
  const hasVersion = tbs[0]?.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && tbs[0].type === 0;
  const serial = tbs[hasVersion ? 1 : 0];
  if (!serial || serial.type !== forge.asn1.Type.INTEGER || typeof serial.value !== 'string' || serial.value.length === 0) {
    throw new ParameterError('The certificate has no serial number');
  }
  const extsWrapper = tbs.find((n) => n.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && n.type === 3);
  let keyId: Buffer | undefined;
  for (const ext of children(children(extsWrapper)[0])) {
    const parts = children(ext);
    if (parts[0]?.type !== forge.asn1.Type.OID || forge.asn1.derToOid(parts[0].value as string) !== OID_AKI) continue;
    const octets = parts[parts.length - 1]!.value;
    // AuthorityKeyIdentifier ::= SEQ { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, ... }
    let aki: Asn1;
    try {
      aki = forge.asn1.fromDer(typeof octets === 'string' ? octets : '') as Asn1;
    } catch {
      throw new ParameterError("The certificate's Authority Key Identifier is not valid DER");
    }
    const id = children(aki).find((n) => n.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && n.type === 0);
    if (id && typeof id.value === 'string' && id.value.length > 0) keyId = Buffer.from(id.value, 'binary');
  }
  if (!keyId) throw new ParameterError('The certificate has no Authority Key Identifier: the CA cannot give renewal information for it');
  return `${b64url(keyId)}.${b64url(Buffer.from(serial.value, 'binary'))}`;
}

// RFC 3339 date-time, as ACME servers write it (fractions and offsets allowed).
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function instant(v: unknown, field: string, certId: string): number {
  const t = typeof v === 'string' && RFC3339.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(t)) throw new ParameterError(`The CA's renewal information for ${certId} has no valid suggestedWindow ${field} (RFC 3339 time expected)`);
  return t;
}

/** Reads a renewalInfo answer; ParameterError (one sentence naming the certificate ID) when unusable. */
export function parseRenewalInfo(body: unknown, certId: string): RenewalInfo {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ParameterError(`The CA's renewal information for ${certId} is not a JSON object`);
  }
  const w = (body as { suggestedWindow?: unknown }).suggestedWindow;
  if (typeof w !== 'object' || w === null) throw new ParameterError(`The CA's renewal information for ${certId} has no suggestedWindow`);
  const start = instant((w as { start?: unknown }).start, 'start', certId);
  const end = instant((w as { end?: unknown }).end, 'end', certId);
  if (end <= start) throw new ParameterError(`The CA's renewal information for ${certId} has a suggestedWindow that ends before it starts`);
  const url = (body as { explanationURL?: unknown }).explanationURL;
  return { window: { start, end }, ...(explanation(url) ? { explanationUrl: url as string } : {}) };
}

// A bad explanation URL must not cost the window: it is only shown, so it is dropped.
function explanation(url: unknown): boolean {
  if (typeof url !== 'string' || url.length > 2048) return false;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/** Seconds until the next renewalInfo poll: the header (seconds or HTTP date), or 6 h, bounded to [1 h, 24 h]. */
export function boundedRetryAfter(header: string | undefined, nowMs: number): number {
  const s = parseRetryAfter(header, nowMs) ?? ARI_RETRY_DEFAULT_S;
  return Math.min(ARI_RETRY_MAX_S, Math.max(ARI_RETRY_MIN_S, s));
}

/** A uniformly random moment in [start, end) from `unit` in [0, 1) (the injected random source). */
export function chooseRenewalMoment(w: RenewalWindow, unit: number): number {
  if (!(unit >= 0 && unit < 1)) throw new RangeError(`random unit ${unit} outside [0, 1)`);
  return w.start + Math.floor(unit * (w.end - w.start));
}

/** RFC 9773 §4.2: a window whose end has passed (a CA moving windows in a revocation), or an expired certificate, means renew at once. */
export function renewNow(w: RenewalWindow | undefined, cert: Lifetime, now: number): boolean {
  return now >= cert.notAfter || (w !== undefined && now >= w.end);
}

/** One poll's outcome (ari-client.ts). A failure carries a sentence and still a next poll time. */
export type RenewalInfoResult =
  | { readonly ok: true; readonly info: RenewalInfo; readonly retryAfterS: number; readonly checkedAt: number }
  | { readonly ok: false; readonly reason: string; readonly status?: number; readonly retryAfterS: number; readonly checkedAt: number };

/**
 * What the service keeps per certificate across restarts (in its state store): the window last
 * received for `certId`, when it was checked, when to check next, and the last failure.
 */
export interface AriState {
  readonly certId: string;
  readonly window?: RenewalWindow;
  readonly explanationUrl?: string;
  /** Epoch ms of the last poll, successful or not. */
  readonly lastCheck: number;
  /** Epoch ms of the next poll (Retry-After, bounded). */
  readonly nextCheck: number;
  /** The last poll's failure sentence; absent after a success. */
  readonly error?: string;
}

/** The state after a poll. A failed poll keeps the last window received for the same certificate. */
export function nextAriState(prev: AriState | undefined, certId: string, r: RenewalInfoResult): AriState {
  const base = { certId, lastCheck: r.checkedAt, nextCheck: r.checkedAt + r.retryAfterS * 1000 };
  if (r.ok) return { ...base, window: r.info.window, ...(r.info.explanationUrl ? { explanationUrl: r.info.explanationUrl } : {}) };
  const kept = prev?.certId === certId && prev.window ? { window: prev.window, ...(prev.explanationUrl ? { explanationUrl: prev.explanationUrl } : {}) } : {};
  return { ...base, ...kept, error: r.reason };
}

/** Poll now: nothing known about this certificate yet (a new one was deployed), its time came, or the clock went back. */
export function ariPollDue(s: AriState | undefined, certId: string, now: number): boolean {
  return s === undefined || s.certId !== certId || now >= s.nextCheck || now < s.lastCheck;
}

/** The window to plan with: only one received for this very certificate. */
export function ariWindowFor(s: AriState | undefined, certId: string): RenewalWindow | undefined {
  return s?.certId === certId ? s.window : undefined;
}

/** Reads a stored AriState back (a state row from an older or damaged database): undefined when unusable. */
export function readAriState(v: unknown): AriState | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  if (typeof o.certId !== 'string' || !num(o.lastCheck) || !num(o.nextCheck)) return undefined;
  const w = o.window as Record<string, unknown> | undefined;
  const window = w && num(w.start) && num(w.end) && w.end > w.start ? { start: w.start, end: w.end } : undefined;
  // A stored next check beyond the bound (a clock set back) is pulled in to the bound.
  const nextCheck = Math.min(o.nextCheck, o.lastCheck + ARI_RETRY_MAX_S * 1000);
  return {
    certId: o.certId, lastCheck: o.lastCheck, nextCheck,
    ...(window ? { window } : {}),
    ...(window && typeof o.explanationUrl === 'string' ? { explanationUrl: o.explanationUrl } : {}),
    ...(typeof o.error === 'string' ? { error: o.error } : {}),
  };
}
