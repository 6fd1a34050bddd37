// The ACME protocol side, on acme-client's manual order flow (never `auto()`, whose self-check
// goes through the system resolver and can hang): createOrder, getAuthorizations, publish the
// answers (HTTP-01 tokens, or a solver's DNS-01 records / TLS-ALPN-01 certificates),
// completeChallenge, poll (our loop: abortable, bounded), finalizeOrder, poll, getCertificate.
// Every failure leaves as an OrderFailure with one clear sentence.
import crypto from 'node:crypto';
import acme from 'acme-client';
import type { AcmeProvider, KeyType } from '../interfaces.js';
import { TransportContext, withTransport } from './transport.js';
import { classify, OrderFailure, oneLine, type Failure } from './reasons.js';
import { TOKEN } from './responder.js';
import { OrderLockLost } from '../../errors.js';

export interface ProviderRef {
  readonly name: AcmeProvider;
  readonly directoryUrl: string;
  /** External account binding, for CAs that need it. */
  readonly eab?: { readonly kid: string; readonly hmacKey: string };
}

export interface AccountRef {
  readonly keyPem: string;
  readonly url?: string;
}

/** One authorization's answer: its identifier and what acme-client derives from the challenge. */
export interface ChallengeAnswer {
  /** As the CA names it: `*.x.example` for a wildcard's authorization is `x.example` with `wildcard`. */
  readonly identifier: string;
  readonly wildcard: boolean;
  /** DNS-01: the TXT value (base64url SHA-256 of the key authorization); TLS-ALPN-01: the key authorization. */
  readonly keyAuthorization: string;
}

/**
 * Publishes the answers of one order for a challenge type other than HTTP-01. `present` resolves
 * once the CA may check (records visible everywhere), or throws OrderFailure; `cleanup` withdraws
 * exactly what was published, after success, failure and a partial `present`, and never throws.
 */
export interface ChallengeSolver {
  readonly type: 'dns-01' | 'tls-alpn-01';
  present(answers: readonly ChallengeAnswer[], signal: AbortSignal): Promise<void>;
  cleanup(): Promise<void>;
}

export interface OrderRequest {
  readonly csrPem: string;
  readonly names: readonly string[];
  /** Certificate profile (draft-ietf-acme-profiles), checked against the directory by the caller; omitted: the CA's default. */
  readonly profile?: string;
  /** ARI certificate ID of the certificate this order renews (RFC 9773 `replaces`). */
  readonly replaces?: string;
  readonly signal: AbortSignal;
  readonly progress: (step: string) => void;
  /** Serves the order's tokens until `close()`; the caller also closes it when the order ends. */
  readonly challenges: {
    /** May resolve later: in a cluster, once every peer answers them too. */
    open(tokens: ReadonlyMap<string, string>): void | Promise<void>;
    close(): void;
    /** Resolves the next time the CA fetches one of this order's tokens (polling wakes up then). */
    fetched?(): Promise<void>;
  };
  /** Answers DNS-01 or TLS-ALPN-01 instead of `challenges` (HTTP-01) when given. */
  readonly solver?: ChallengeSolver;
}

/**
 * Talks to one CA. Every method rejects with OrderFailure (never hangs past the signal), and
 * makes no request outside the transport bound to the appliance's trust store.
 */
export interface CertificateIssuer {
  /** The terms of service URL from the directory ('' when it names none); creates nothing. */
  termsOfService(p: ProviderRef, signal: AbortSignal): Promise<string>;
  register(p: ProviderRef, keyPem: string, email: string, signal: AbortSignal): Promise<{ accountUrl: string; termsUrl: string }>;
  /** Resolves with the certificate chain (leaf first, PEM). */
  order(p: ProviderRef, account: AccountRef, req: OrderRequest): Promise<string>;
  /** Resolves with the CA's answer ("200 OK"). */
  revoke(p: ProviderRef, account: AccountRef, certPem: string, reasonCode: number, signal: AbortSignal): Promise<string>;
}

export interface IssuerLimits {
  /** Each HTTP request to the CA. */
  readonly requestTimeoutMs: number;
  /** Longest Retry-After acme-client may sleep (seconds). */
  readonly retryAfterCapS: number;
  /** Longest wait for authorizations, then for the order, to become valid. */
  readonly pollMaxMs: number;
  readonly pollIntervalMaxMs: number;
}

export const DEFAULT_ISSUER_LIMITS: IssuerLimits = {
  requestTimeoutMs: 15_000,
  retryAfterCapS: 5,
  pollMaxMs: 90_000,
  pollIntervalMaxMs: 2_000,
};

function fail(kind: Failure['kind'], reason: string, retryable = false): OrderFailure {
  return new OrderFailure({ kind, reason, retryable });
}

/** Resolves after `ms`, or rejects at once when the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(signal.reason); };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** An abort reason that marks the order deadline, so the sentence says "no answer within". */
export class Deadline extends Error {
  constructor(readonly seconds: number) {
    super(`deadline of ${seconds} s reached`);
    this.name = 'Deadline';
  }
}

/** Rejects with a clear OrderFailure as soon as `signal` aborts, whatever `work` does. */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal, directoryUrl: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      const r = signal.reason;
      let origin = directoryUrl;
      try { origin = new URL(directoryUrl).host; } catch { /* keep it */ }
      reject(new OrderFailure(r instanceof Deadline
        ? { kind: 'timeout', retryable: true, reason: `No answer from the CA at ${origin} within ${r.seconds} s` }
        : { kind: 'cancelled', retryable: false, reason: r instanceof OrderLockLost ? r.message : 'The order was cancelled' }));
    };
    if (signal.aborted) {
      // The work's own failure is moot now, but must not surface as an unhandled rejection.
      work.catch(() => {});
      return onAbort();
    }
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** An authorization as the CA sends it (RFC 8555 section 7.1.4), the fields we read. */
export interface Authz {
  url: string;
  status: string;
  identifier: { type: string; value: string };
  /** RFC 8555 7.1.4: the identifier is the base domain of a `*.` name. */
  wildcard?: boolean;
  challenges: { type: string; url: string; token: string; status: string; error?: { type?: string; detail?: string } }[];
}

/** The challenge types of RFC 8555 section 8 and RFC 8737. */
export type ChallengeType = 'http-01' | 'dns-01' | 'tls-alpn-01';

const CHALLENGE_LABEL: Readonly<Record<ChallengeType, string>> = { 'http-01': 'HTTP-01', 'dns-01': 'DNS-01', 'tls-alpn-01': 'TLS-ALPN-01' };

/**
 * The challenge of `type` in a pending authorization, its token checked (every type's key
 * authorization starts with it); an OrderFailure naming the identifier when the CA offers none
 * (e.g. no TLS-ALPN-01 for a wildcard) or sent a malformed token.
 */
export function pickChallenge(a: Authz, type: ChallengeType): Authz['challenges'][number] {
  const name = a.identifier?.value ?? '?';
  const ch = a.challenges.find((c) => c.type === type);
  if (!ch) throw fail('challenge', `Challenge failed for ${name}: the CA offers no ${CHALLENGE_LABEL[type]} challenge`);
  if (typeof ch.token !== 'string' || !TOKEN.test(ch.token)) throw fail('challenge', `Challenge failed for ${name}: the CA sent a malformed token`);
  return ch;
}

export class AcmeClientIssuer implements CertificateIssuer {
  constructor(
    private readonly caPems: () => readonly string[],
    private readonly limits: IssuerLimits = DEFAULT_ISSUER_LIMITS,
    /** Random source in [0, 1), for acme-client's backoffMin jitter (50–100 ms). */
    private readonly random: () => number = Math.random,
  ) {}

  private client(p: ProviderRef, account: AccountRef): acme.Client {
    return new acme.Client({
      directoryUrl: p.directoryUrl,
      accountKey: account.keyPem,
      ...(account.url ? { accountUrl: account.url } : {}),
      ...(p.eab ? { externalAccountBinding: { kid: p.eab.kid, hmacKey: p.eab.hmacKey } } : {}),
      backoffAttempts: 8,
      backoffMin: 50 + Math.floor(this.random() * 50),
      backoffMax: this.limits.pollIntervalMaxMs,
    });
  }

  /** Runs `fn` inside a transport for `p`; any error becomes an OrderFailure. */
  private async run<T>(p: ProviderRef, signal: AbortSignal, fn: (ctx: TransportContext) => Promise<T>): Promise<T> {
    const ctx = new TransportContext(this.caPems(), signal, this.limits.requestTimeoutMs, this.limits.retryAfterCapS);
    try {
      return await withTransport(ctx, () => fn(ctx));
    } catch (e) {
      if (e instanceof OrderFailure) throw e;
      const reason = signal.reason;
      let origin = p.directoryUrl;
      try { origin = new URL(p.directoryUrl).host; } catch { /* keep the URL */ }
      throw new OrderFailure(classify(e, {
        lastProblem: ctx.lastProblem,
        lastNetError: ctx.lastNetError,
        timedOut: signal.aborted && reason instanceof Deadline,
        cancelled: signal.aborted && !(reason instanceof Deadline),
        origin,
        timeoutS: reason instanceof Deadline ? reason.seconds : Math.round(this.limits.requestTimeoutMs / 1000),
      }, Date.now()));
    } finally {
      ctx.close();
    }
  }

  /** Retries one protocol step when the CA rejected its nonce more times than acme-client retries. */
  private async step<T>(ctx: TransportContext, fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      const before = ctx.lastProblem;
      try {
        return await fn();
      } catch (e) {
        const p = ctx.lastProblem;
        const nonce = p !== undefined && p !== before && p.type.endsWith(':badNonce');
        if (!nonce || i >= 3) throw e;
      }
    }
  }

  async termsOfService(p: ProviderRef, signal: AbortSignal): Promise<string> {
    return this.run(p, signal, async (ctx) => {
      // Reading the directory needs no account: a throwaway key, never sent in a signed request.
      const client = this.client(p, { keyPem: await generateKey('ECDSA-P256') });
      return (await this.step(ctx, () => client.getTermsOfServiceUrl())) ?? '';
    });
  }

  async register(p: ProviderRef, keyPem: string, email: string, signal: AbortSignal): Promise<{ accountUrl: string; termsUrl: string }> {
    return this.run(p, signal, async (ctx) => {
      const client = this.client(p, { keyPem });
      const termsUrl = (await this.step(ctx, () => client.getTermsOfServiceUrl())) ?? '';
      await this.step(ctx, () => client.createAccount({ termsOfServiceAgreed: true, ...(email ? { contact: [`mailto:${email}`] } : {}) }));
      return { accountUrl: client.getAccountUrl(), termsUrl };
    });
  }

  async order(p: ProviderRef, account: AccountRef, req: OrderRequest): Promise<string> {
    return this.run(p, req.signal, async (ctx) => {
      const client = this.client(p, account);
      req.progress('Creating order');
      // acme-client posts the object as the payload: the extension fields go through as given.
      const payload = {
        identifiers: req.names.map((value) => ({ type: 'dns', value })),
        ...(req.profile ? { profile: req.profile } : {}),
        ...(req.replaces ? { replaces: req.replaces } : {}),
      };
      const order = await this.step(ctx, () => client.createOrder(payload));
      const authzs = (await this.step(ctx, () => client.getAuthorizations(order))) as unknown as Authz[];

      const solver = req.solver;
      const tokens = new Map<string, string>();
      const answers: ChallengeAnswer[] = [];
      const todo: Authz['challenges'][number][] = [];
      for (const a of authzs) {
        const name = (a.wildcard ? '*.' : '') + (a.identifier?.value ?? '?');
        if (a.status === 'valid') continue;
        if (a.status !== 'pending') throw fail('challenge', `Challenge failed for ${name}: the authorization is ${a.status}`);
        const type = solver?.type ?? 'http-01';
        if (a.wildcard && type !== 'dns-01') {
          throw fail('challenge', `Challenge failed for ${name}: a wildcard name can only be validated with a DNS-01 challenge`);
        }
        const ch = pickChallenge(a, type);
        const keyAuthorization = await client.getChallengeKeyAuthorization(ch as never);
        tokens.set(ch.token, keyAuthorization);
        answers.push({ identifier: name, wildcard: a.wildcard === true, keyAuthorization });
        todo.push(ch);
      }

      if (todo.length) {
        if (solver) req.progress(`Publishing ${solver.type} answers for ${req.names.join(', ')}`);
        try {
          if (solver) await solver.present(answers, req.signal);
          else await req.challenges.open(tokens);
          req.progress(`Validating ${req.names.join(', ')}`);
          for (const ch of todo) await this.step(ctx, () => client.completeChallenge(ch as never));
          await this.poll(req.signal, 'authorizations', solver ? undefined : req.challenges.fetched?.bind(req.challenges), async () => {
            const now = (await this.step(ctx, () => client.getAuthorizations(order))) as unknown as Authz[];
            for (const a of now) {
              if (a.status === 'invalid') {
                const err = a.challenges.find((c) => c.error)?.error;
                const detail = oneLine(err?.detail ?? err?.type ?? 'the CA could not validate it');
                throw fail('challenge', `Challenge failed for ${a.identifier.value}: ${detail}`);
              }
            }
            return now.every((a) => a.status === 'valid');
          });
        } finally {
          if (solver) await solver.cleanup();
          else req.challenges.close();
        }
      }

      req.progress('Finalizing');
      let final = await this.step(ctx, () => client.finalizeOrder(order, req.csrPem));
      let first = true;
      await this.poll(req.signal, 'the order', undefined, async () => {
        // The finalize answer itself may already say valid.
        if (!first || final.status !== 'valid') final = await this.step(ctx, () => client.getOrder(final));
        first = false;
        if (final.status === 'invalid') {
          const e = (final as { error?: { detail?: string } }).error;
          throw fail('refused', `The CA refused to issue the certificate: ${oneLine(e?.detail ?? 'order invalid')}`);
        }
        return final.status === 'valid';
      });
      req.progress('Downloading certificate');
      const pem = await this.step(ctx, () => client.getCertificate(final));
      if (!/-----BEGIN CERTIFICATE-----/.test(pem)) throw fail('refused', 'The CA returned no certificate');
      return pem;
    });
  }

  /**
   * Polls `check` until true, bounded in time and count: 50–100 ms doubling up to the cap, and
   * woken early (once, shortly after) when the CA fetches a token, which is when it decides.
   */
  private async poll(signal: AbortSignal, what: string, fetched: (() => Promise<void>) | undefined, check: () => Promise<boolean>): Promise<void> {
    const start = performance.now();
    let interval = 50 + Math.floor(this.random() * 50);
    let wake = fetched?.();
    for (let i = 0; i < 200; i++) {
      if (await check()) return;
      if (performance.now() - start > this.limits.pollMaxMs) break;
      if (wake) {
        const woke = await Promise.race([wake.then(() => true), sleep(interval, signal).then(() => false)]);
        if (woke) {
          wake = undefined;
          await sleep(5, signal);
          continue;
        }
      } else {
        await sleep(interval, signal);
      }
      interval = Math.min(this.limits.pollIntervalMaxMs, interval * 2);
    }
    throw fail('timeout', `The CA did not finish validating ${what} within ${Math.round(this.limits.pollMaxMs / 1000)} s`, true);
  }

  async revoke(p: ProviderRef, account: AccountRef, certPem: string, reasonCode: number, signal: AbortSignal): Promise<string> {
    return this.run(p, signal, async (ctx) => {
      const client = this.client(p, account);
      await this.step(ctx, () => client.revokeCertificate(certPem, { reason: reasonCode }));
      const statuses = [...ctx.lastStatus.values()];
      const status = statuses[statuses.length - 1] ?? 200;
      return `${status} OK`;
    });
  }
}

/** A new private key (PKCS#8 PEM) of the given type, generated off the event loop. */
export async function generateKey(type: KeyType): Promise<string> {
  const gen = (alg: 'ec' | 'rsa', opts: object) => new Promise<string>((resolve, reject) => {
    crypto.generateKeyPair(alg as 'ec', { ...opts, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } } as never,
      (err: Error | null, _pub: string, key: string) => (err ? reject(err) : resolve(key)));
  });
  switch (type) {
    case 'ECDSA-P256': return gen('ec', { namedCurve: 'P-256' });
    case 'ECDSA-P384': return gen('ec', { namedCurve: 'P-384' });
    case 'RSA-2048': return gen('rsa', { modulusLength: 2048 });
    case 'RSA-3072': return gen('rsa', { modulusLength: 3072 });
    case 'RSA-4096': return gen('rsa', { modulusLength: 4096 });
  }
}

/** A CSR for `names` (the first is the common name) signed by `keyPem`. */
export async function makeCsr(keyPem: string, names: readonly string[]): Promise<string> {
  const [, csr] = await acme.crypto.createCsr({ commonName: names[0], altNames: [...names] }, keyPem);
  return csr.toString();
}
