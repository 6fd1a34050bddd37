// Asking the CA: its directory (for `renewalInfo` and `meta.profiles`) and the renewal
// information of one certificate (RFC 9773: an unauthenticated GET of renewalInfo/<certID>).
// HTTPS only, trusting exactly the CAs given (the trust store's), bounded in time and size, no
// redirects. The answer is read by ari.ts; a failure comes back as a sentence plus when to ask
// again, so the caller always has a next poll time and keeps its lifetime-based plan meanwhile.
import https from 'node:https';
import { Unavailable } from '../../errors.js';
import { secureContextFor } from './transport.js';
import { oneLine } from './reasons.js';
import { ARI_RETRY_MIN_S, boundedRetryAfter, parseRenewalInfo, type RenewalInfoResult } from './ari.js';

export type { RenewalInfoResult } from './ari.js';

export interface CaFetchOptions {
  /** PEM certificates to trust (the trust store's); nothing else is trusted. */
  readonly caPems: readonly string[];
  /** Whole request, connect to last byte. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Epoch ms; for Retry-After given as an HTTP date and for `checkedAt`. */
  readonly now: () => number;
}

const MAX_BODY = 64 * 1024;
const CERT_ID = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

interface Answer {
  readonly status: number;
  readonly retryAfter?: string;
  readonly json?: unknown;
}

/** GET `url` as JSON; rejects with Unavailable (one sentence naming the host) on any transport failure. */
function getJson(url: string, o: CaFetchOptions): Promise<Answer> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.reject(new Unavailable(`The CA's URL is not valid: ${oneLine(url, 200)}`));
  }
  if (u.protocol !== 'https:') return Promise.reject(new Unavailable(`The CA's URL must use https: ${oneLine(url, 200)}`));
  // One agent per request: nothing kept alive between polls hours apart.
  const agent = new https.Agent({ secureContext: secureContextFor(o.caPems), keepAlive: false });
  return new Promise<Answer>((resolve, reject) => {
    const req = https.get(u, { agent, timeout: o.timeoutMs, signal: o.signal, headers: { accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) req.destroy(new Error(`answer larger than ${MAX_BODY} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        let json: unknown;
        try { json = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { /* not JSON: status says enough */ }
        const ra = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, retryAfter: Array.isArray(ra) ? ra[0] : ra, json });
      });
      res.on('error', fail);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${Math.round(o.timeoutMs / 1000)} s`)), o.timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('timeout', () => req.destroy(new Error(`no answer within ${Math.round(o.timeoutMs / 1000)} s`)));
    req.on('error', fail);
    function fail(e: NodeJS.ErrnoException) {
      clearTimeout(timer);
      reject(new Unavailable(`CA unreachable: ${u.host} (${oneLine(e.code ?? e.message, 120)})`));
    }
  }).finally(() => agent.destroy());
}

/** The CA's directory object. Unavailable when it cannot be fetched or is not a JSON object. */
export async function fetchDirectory(url: string, o: CaFetchOptions): Promise<Record<string, unknown>> {
  const a = await getJson(url, o);
  if (a.status !== 200 || typeof a.json !== 'object' || a.json === null || Array.isArray(a.json)) {
    throw new Unavailable(`The CA's directory at ${new URL(url).host} is not usable (HTTP ${a.status})`);
  }
  return a.json as Record<string, unknown>;
}

/** The directory's renewalInfo URL, or undefined when the CA offers no ARI. */
export function renewalInfoUrl(directory: Record<string, unknown>): string | undefined {
  const u = directory.renewalInfo;
  return typeof u === 'string' && u.startsWith('https://') ? u : undefined;
}

/**
 * GETs `<renewalInfo>/<certId>`. Never rejects: a failure (network, HTTP status, unreadable
 * answer) is `ok: false` with one sentence. `retryAfterS` is the next poll, bounded to
 * [1 h, 24 h]: the CA's Retry-After on success (6 h when absent), at least 1 h after a failure.
 */
export async function fetchRenewalInfo(renewalInfo: string, certId: string, o: CaFetchOptions): Promise<RenewalInfoResult> {
  const checkedAt = o.now();
  const failed = (reason: string, retryAfter?: string, status?: number): RenewalInfoResult => ({
    ok: false, reason, checkedAt, ...(status !== undefined ? { status } : {}),
    retryAfterS: retryAfter === undefined ? ARI_RETRY_MIN_S : boundedRetryAfter(retryAfter, checkedAt),
  });
  if (!CERT_ID.test(certId)) return failed(`Not an ARI certificate ID: ${oneLine(certId, 100)}`);
  let a: Answer;
  try {
    a = await getJson(`${renewalInfo.replace(/\/+$/, '')}/${certId}`, o);
  } catch (e) {
    return failed((e as Error).message);
  }
  if (a.status !== 200) {
    const detail = typeof (a.json as { detail?: unknown })?.detail === 'string' ? `: ${oneLine((a.json as { detail: string }).detail, 200)}` : '';
    return failed(`The CA answered HTTP ${a.status} for the renewal information of ${certId}${detail}`, a.retryAfter, a.status);
  }
  try {
    return { ok: true, info: parseRenewalInfo(a.json, certId), retryAfterS: boundedRetryAfter(a.retryAfter, checkedAt), checkedAt };
  } catch (e) {
    return failed((e as Error).message, a.retryAfter, a.status);
  }
}
