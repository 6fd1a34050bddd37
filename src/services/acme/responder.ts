// The HTTP-01 responder. It exists only while an order runs: the order opens it with its own
// tokens, and when the order ends (success or not) its tokens are dropped and, with the last
// order, the handler is removed from the HTTP listener, which goes back to its configured 404 or
// redirect. Answers come from memory; only GET/HEAD of the exact path of a live token is served.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChallengeHandler } from '../interfaces.js';

export const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';
/** RFC 8555 section 8.3: base64url, at least 128 bits; we accept 16..256 characters. */
export const TOKEN = /^[A-Za-z0-9_-]{16,256}$/;

/** Where the responder plugs in: the HTTP listener on port 80. */
export interface ChallengeHost {
  setChallengeHandler(handler: ChallengeHandler | undefined): void;
}

export type Answer =
  | { readonly status: 200; readonly body: string }
  | { readonly status: 400 | 404 | 405 };

/**
 * Pure decision for one request while orders are open. `undefined`: not a challenge path, the
 * listener's configured behaviour applies. The URL must be exactly the prefix and a live token:
 * no query, no percent-encoding, no dot segments, no trailing slash.
 */
export function answer(method: string | undefined, url: string | undefined, hasBody: boolean, lookup: (token: string) => string | undefined): Answer | undefined {
  if (typeof url !== 'string' || !url.startsWith(CHALLENGE_PREFIX)) return undefined;
  if (method !== 'GET' && method !== 'HEAD') return { status: 405 };
  if (hasBody) return { status: 400 };
  const token = url.slice(CHALLENGE_PREFIX.length);
  if (!TOKEN.test(token)) return { status: 404 };
  const keyAuth = lookup(token);
  return keyAuth === undefined ? { status: 404 } : { status: 200, body: keyAuth };
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

export class ChallengeResponder {
  /** token → key authorization, per order. */
  private readonly orders = new Map<string, Map<string, string>>();
  private installed = false;
  /** Requests answered with 200, for tests and logs. */
  served = 0;
  private waiters = new Map<string, (() => void)[]>();

  constructor(private readonly host: ChallengeHost, private readonly socketTimeoutMs = 10_000) {}

  /** Starts answering `tokens` for `orderId` (adding to any other open order). */
  open(orderId: string, tokens: ReadonlyMap<string, string>): void {
    for (const t of tokens.keys()) if (!TOKEN.test(t)) throw new Error(`invalid challenge token ${JSON.stringify(t.slice(0, 40))}`);
    this.orders.set(orderId, new Map(tokens));
    if (!this.installed) {
      this.host.setChallengeHandler(this.handler);
      this.installed = true;
    }
  }

  /** Resolves the next time one of this order's tokens is served (or when the order closes). */
  fetched(orderId: string): Promise<void> {
    return new Promise((resolve) => {
      if (!this.orders.has(orderId)) return resolve();
      const list = this.waiters.get(orderId) ?? [];
      list.push(resolve);
      this.waiters.set(orderId, list);
    });
  }

  private wake(orderId: string): void {
    const list = this.waiters.get(orderId);
    this.waiters.delete(orderId);
    for (const w of list ?? []) w();
  }

  /** Stops answering this order's tokens; with the last order, leaves the listener. Idempotent. */
  close(orderId: string): void {
    this.orders.delete(orderId);
    this.wake(orderId);
    if (this.orders.size === 0 && this.installed) {
      this.host.setChallengeHandler(undefined);
      this.installed = false;
    }
  }

  /** True while any order's tokens are answered. */
  get active(): boolean {
    return this.installed;
  }

  tokenCount(): number {
    let n = 0;
    for (const m of this.orders.values()) n += m.size;
    return n;
  }

  private lookup = (token: string): string | undefined => {
    for (const [id, m] of this.orders) {
      const v = m.get(token);
      if (v !== undefined) {
        // The CA is fetching: wake the order's poll once the answer is out.
        setImmediate(() => this.wake(id));
        return v;
      }
    }
    return undefined;
  };

  /** Plugged into the HTTP listener; answers challenge paths, leaves everything else to it. */
  readonly handler: ChallengeHandler = (req: IncomingMessage, res: ServerResponse): boolean => {
    // A handler left behind by a stale reference answers nothing.
    if (this.orders.size === 0) return false;
    const a = answer(req.method, req.url, hasBody(req), this.lookup);
    if (a === undefined) return false;
    req.socket.setTimeout(this.socketTimeoutMs, () => req.socket.destroy());
    const headers: Record<string, string | number> = {
      'Content-Type': 'text/plain; charset=us-ascii',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      Connection: 'close',
    };
    if (a.status === 200) {
      this.served++;
      const body = Buffer.from(a.body, 'ascii');
      res.writeHead(200, { ...headers, 'Content-Length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    } else {
      if (a.status === 405) headers.Allow = 'GET, HEAD';
      res.writeHead(a.status, { ...headers, 'Content-Length': 0 });
      res.end();
    }
    // Never read a body: a request that sends one is answered and the connection closed.
    req.resume();
    return true;
  };
}
