// Turning whatever an ACME operation threw into one clear sentence for `LastSign Reason`, and
// deciding whether trying again soon can help, and the error class a command shows for it. Pure:
// the error, what the transport saw, the time.
import type { Problem, NetFailure } from './transport.js';
import { CommandError, Unavailable } from '../../errors.js';

export type FailureKind =
  | 'unreachable' | 'untrusted' | 'timeout' | 'rateLimited' | 'badNonce' | 'server'
  | 'challenge' | 'eab' | 'account' | 'accountUnknown' | 'refused' | 'local' | 'cancelled'
  | 'alreadyReplaced' | 'profile';

export interface Failure {
  readonly kind: FailureKind;
  readonly reason: string;
  /** Trying the whole order again shortly may succeed. */
  readonly retryable: boolean;
  /** Not before this time (rate limits), epoch ms. */
  readonly notBefore?: number;
}

/** A failure we raise ourselves with its sentence already written (a challenge that failed, a bad token). */
export class OrderFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.reason);
    this.name = 'OrderFailure';
  }
}

/**
 * The one mapping from an ACME failure to the error a command shows: Unavailable when the CA
 * could not be reached or trusted in time, CommandError when it answered and refused.
 */
export function failureError(e: OrderFailure): CommandError | Unavailable {
  const k = e.failure.kind;
  return k === 'unreachable' || k === 'untrusted' || k === 'timeout' ? new Unavailable(e.message) : new CommandError(e.message);
}

const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID', 'CERT_SIGNATURE_FAILURE', 'CERT_REVOKED',
]);

/** Removes anything that could break a one-line status value, and bounds its length. */
export function oneLine(text: string, max = 300): string {
  // eslint-disable-next-line no-control-regex
  const s = text.replace(/[\x00-\x1f\x7f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

const short = (type: string) => type.replace(/^urn:ietf:params:acme:error:/, '');

function fromProblem(p: Problem, nowMs: number): Failure {
  const t = short(p.type);
  const detail = oneLine(p.detail || `HTTP ${p.status}`);
  switch (t) {
    case 'rateLimited': {
      const until = p.at + (p.retryAfterS ?? 3600) * 1000;
      return {
        kind: 'rateLimited', retryable: false, notBefore: until,
        reason: `Rate limited by the CA until ${new Date(Math.max(until, nowMs)).toISOString().replace(/\.\d{3}Z$/, 'Z')}: ${detail}`,
      };
    }
    case 'badNonce':
      return { kind: 'badNonce', retryable: true, reason: `The CA kept rejecting request nonces: ${detail}` };
    case 'externalAccountRequired':
      return {
        kind: 'eab', retryable: false,
        reason: 'The CA requires external account binding: set Security Acme ExternalAccount KeyId and HmacKey, then AcceptTerms',
      };
    case 'accountDoesNotExist':
      return { kind: 'accountUnknown', retryable: false, reason: `The CA does not know the account (run xCommand Security Acme AcceptTerms): ${detail}` };
    case 'unauthorized':
      return { kind: 'account', retryable: false, reason: `The CA refused the account: ${detail}` };
    case 'alreadyReplaced':
      // RFC 9773: the named certificate was renewed already; the order may be placed again without `replaces`.
      return { kind: 'alreadyReplaced', retryable: true, reason: `The CA says the certificate was already replaced: ${detail}` };
    case 'invalidProfile':
      return { kind: 'profile', retryable: false, reason: `The CA refused the certificate profile: ${detail}` };
    case 'serverInternal':
      return { kind: 'server', retryable: true, reason: `The CA failed (HTTP ${p.status}): ${detail}` };
    default:
      if (p.status >= 500) return { kind: 'server', retryable: true, reason: `The CA failed (HTTP ${p.status}): ${detail}` };
      return { kind: 'refused', retryable: false, reason: `The CA refused the request (${t}): ${detail}` };
  }
}

function fromNet(n: NetFailure): Failure {
  if (TLS_TRUST_CODES.has(n.code)) {
    return {
      kind: 'untrusted', retryable: false,
      reason: `Untrusted CA certificate: the TLS certificate of ${n.host} is not signed by a CA in the trust store (${n.code}); append the CA's root with xCommand Security Certificates CA Add`,
    };
  }
  if (n.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return { kind: 'untrusted', retryable: false, reason: `Untrusted CA certificate: the TLS certificate of ${n.host} does not name that host` };
  }
  return { kind: 'unreachable', retryable: true, reason: `CA unreachable: ${n.host} (${n.code})` };
}

export interface Observed {
  readonly lastProblem?: Problem;
  readonly lastNetError?: NetFailure;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  readonly origin: string;
  readonly timeoutS: number;
}

/** What went wrong, from the thrown error and what the transport observed. */
export function classify(err: unknown, seen: Observed, nowMs: number): Failure {
  if (err instanceof OrderFailure) return err.failure;
  if (seen.timedOut) return { kind: 'timeout', retryable: true, reason: `No answer from the CA at ${seen.origin} within ${seen.timeoutS} s` };
  if (seen.cancelled) return { kind: 'cancelled', retryable: false, reason: 'The order was cancelled' };
  const message = err instanceof Error ? err.message : String(err);
  const p = seen.lastProblem;
  // acme-client throws the problem's detail as its message (newlines removed), or for the
  // directory "returned error <status>"; a rate limit anywhere in the operation is the cause.
  if (p && (message === p.detail.replace(/\n/g, '') || (p.detail && message.includes(p.detail.slice(0, 60)))
    || message.includes(`error ${p.status}`) || p.type.endsWith(':rateLimited'))) {
    return fromProblem(p, nowMs);
  }
  const code = (err as { code?: unknown })?.code;
  if (seen.lastNetError && (err instanceof TypeError || typeof code === 'string' || /socket|network|ECONN|certificate/i.test(message))) {
    return fromNet(seen.lastNetError);
  }
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
      return { kind: 'timeout', retryable: true, reason: `No answer from the CA at ${seen.origin} within ${seen.timeoutS} s` };
    }
    return { kind: 'unreachable', retryable: true, reason: `CA unreachable: ${seen.origin} (${code})` };
  }
  if (p && p.status >= 500) return fromProblem(p, nowMs);
  if (/directory/i.test(message)) return { kind: 'refused', retryable: false, reason: `The CA's directory at ${seen.origin} is not usable: ${oneLine(message)}` };
  return { kind: 'refused', retryable: false, reason: `The CA refused the request: ${oneLine(message)}` };
}
