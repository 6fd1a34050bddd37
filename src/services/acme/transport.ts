// How acme-client talks to the CA. Its axios instance is global to the library, so per-operation
// settings ride on an AsyncLocalStorage context that one request interceptor applies to every
// request made inside `withTransport`: the https.Agent trusting only the appliance's trust store,
// a per-request timeout, the operation's abort signal, no proxy, bounded sizes. The same hook
// watches responses (problem documents, Retry-After, status) and socket errors, because after its
// retries acme-client turns a network failure into a meaningless TypeError; we keep the real cause.
import { AsyncLocalStorage } from 'node:async_hooks';
import https from 'node:https';
import tls from 'node:tls';
import type net from 'node:net';
import acme from 'acme-client';

/** What the CA answered last with an RFC 7807 problem document. */
export interface Problem {
  readonly status: number;
  readonly type: string;
  readonly detail: string;
  readonly url: string;
  /** Retry-After as sent (seconds from `at`), before we capped it. */
  readonly retryAfterS?: number;
  /** Epoch ms when it arrived. */
  readonly at: number;
}

export interface NetFailure {
  readonly code: string;
  readonly message: string;
  readonly host: string;
}

const contexts = new WeakMap<readonly string[], tls.SecureContext>();

/**
 * One TLS context per trust-store generation (the store hands out a new array on change):
 * parsing ~150 root certificates for every connection would cost more than the whole order.
 * An empty list trusts nothing (Node adds its bundled roots only when `ca` is absent).
 */
export function secureContextFor(caPems: readonly string[]): tls.SecureContext {
  let c = contexts.get(caPems);
  if (!c) {
    c = tls.createSecureContext({ ca: [...caPems], minVersion: 'TLSv1.2' });
    contexts.set(caPems, c);
  }
  return c;
}

/** One operation's transport: trust, limits, cancellation, and what went wrong. */
export class TransportContext {
  readonly agent: TrackingAgent;
  lastProblem?: Problem;
  lastNetError?: NetFailure;
  /** Status of the last response per URL (the CA's answer to revocation, for instance). */
  readonly lastStatus = new Map<string, number>();
  requests = 0;

  constructor(
    caPems: readonly string[],
    readonly signal: AbortSignal,
    readonly requestTimeoutMs: number,
    /** acme-client sleeps for Retry-After with no upper bound; we shorten the header to this. */
    readonly retryAfterCapS: number,
    readonly now: () => number = Date.now,
  ) {
    this.agent = new TrackingAgent({ secureContext: secureContextFor(caPems), keepAlive: true, maxSockets: 4, timeout: requestTimeoutMs });
    this.agent.onSocketError = (e, host) => {
      this.lastNetError = { code: e.code ?? 'ERROR', message: e.message, host };
    };
  }

  /** Frees sockets kept alive for this operation. */
  close(): void {
    this.agent.destroy();
  }
}

/** An https.Agent that reports socket errors (refused, reset, TLS verification) to its owner. */
export class TrackingAgent extends https.Agent {
  onSocketError?: (e: NodeJS.ErrnoException, host: string) => void;

  override createConnection(options: https.RequestOptions, callback?: (err: Error | null, socket: net.Socket) => void): net.Socket {
    // @types/node declares createConnection on http.Agent only loosely; the https.Agent method is tls.connect.
    const create = (https.Agent.prototype as unknown as { createConnection: (o: unknown, cb?: unknown) => net.Socket }).createConnection;
    const socket = create.call(this, options, callback);
    const host = `${options.host ?? options.hostname ?? ''}:${options.port ?? 443}`;
    socket.on('error', (e: NodeJS.ErrnoException) => this.onSocketError?.(e, host));
    return socket;
  }
}

const als = new AsyncLocalStorage<TransportContext>();

/** Thrown by the interceptor when the operation was cancelled or runs outside a context. */
export class TransportClosed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransportClosed';
  }
}

export function parseRetryAfter(value: unknown, nowMs: number): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  if (/^\d{1,10}$/.test(value.trim())) return Number(value.trim());
  const d = Date.parse(value);
  if (Number.isNaN(d)) return undefined;
  return Math.max(0, Math.ceil((d - nowMs) / 1000));
}

interface AxiosLikeConfig {
  url?: string;
  httpsAgent?: unknown;
  timeout?: number;
  signal?: unknown;
  proxy?: unknown;
  maxRedirects?: number;
  maxContentLength?: number;
  maxBodyLength?: number;
  transformResponse?: unknown;
}

interface HeaderBag {
  get?(name: string): unknown;
  set?(name: string, value: string): unknown;
  [k: string]: unknown;
}

let installed = false;

/**
 * Configures acme-client's global axios once: its own network retries bounded (two, 100 ms
 * apart, instead of five 5–25 s sleeps) and every request bound to the current operation.
 * A request made outside `withTransport` is refused, so nothing ever reaches a CA with
 * the default trust or no timeout.
 */
export function installAcmeTransport(): void {
  if (installed) return;
  installed = true;
  const ax = acme.axios;
  const settings = (ax.defaults as unknown as { acmeSettings: { retryMaxAttempts: number; retryDefaultDelay: number } }).acmeSettings;
  settings.retryMaxAttempts = 2;
  settings.retryDefaultDelay = 0.1;

  ax.interceptors.request.use((config) => {
    const ctx = als.getStore();
    if (!ctx) throw new TransportClosed('ACME request outside an operation');
    if (ctx.signal.aborted) throw new TransportClosed('ACME operation cancelled');
    const c = config as unknown as AxiosLikeConfig;
    c.httpsAgent = ctx.agent;
    c.timeout = ctx.requestTimeoutMs;
    c.signal = ctx.signal;
    c.proxy = false;
    c.maxRedirects = 0;
    c.maxContentLength = 1024 * 1024;
    c.maxBodyLength = 256 * 1024;
    const url = c.url ?? '';
    const previous = c.transformResponse;
    // A retried request comes back through here with the same config: drop our earlier hook.
    const chain = (Array.isArray(previous) ? previous : previous ? [previous] : []).filter((f) => !(f as { xwayObserve?: boolean }).xwayObserve);
    const observe = function observe(this: unknown, data: unknown, headers: HeaderBag, status?: number) {
      if (typeof status === 'number') ctx.lastStatus.set(url, status);
      const raw = typeof headers?.get === 'function' ? headers.get('retry-after') : headers?.['retry-after'];
      const retryAfterS = parseRetryAfter(raw, ctx.now());
      if (retryAfterS !== undefined && retryAfterS > ctx.retryAfterCapS && typeof headers?.set === 'function') {
        // acme-client reads this very header object next and would sleep that long.
        headers.set('retry-after', String(ctx.retryAfterCapS));
      }
      if (typeof status === 'number' && status >= 400 && data && typeof data === 'object') {
        const d = data as { type?: unknown; detail?: unknown };
        if (typeof d.type === 'string') {
          ctx.lastProblem = {
            status, type: d.type, detail: typeof d.detail === 'string' ? d.detail : '', url, retryAfterS, at: ctx.now(),
          };
        }
      }
      return data;
    };
    (observe as { xwayObserve?: boolean }).xwayObserve = true;
    c.transformResponse = [...chain, observe];
    ctx.requests++;
    return config;
  });
}

/** Runs `fn` with every acme-client request bound to `ctx`. */
export function withTransport<T>(ctx: TransportContext, fn: () => Promise<T>): Promise<T> {
  installAcmeTransport();
  return als.run(ctx, fn);
}
