// The HTTP-01 responder. It exists only while an order runs: the order opens it with its own
// tokens, and when the order ends (success or not) its tokens are dropped and, with the last
// order, the handler is removed from the HTTP listener, which goes back to its configured 404 or
// redirect. Answers come from memory; only GET/HEAD of the exact path of a live token is served.
// In a cluster (a board is shared), the order's tokens are also published on the board and the
// handler stays installed for as long as the board is: it serves every peer's live tokens too,
// by the same rules (`answer()`).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChallengeHandler } from '../interfaces.js';
import { publishOn, type ChallengeBoard } from './board.js';

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
  private board: ChallengeBoard | undefined;
  /** Orders whose tokens went to the board (withdrawn at close). */
  private readonly published = new Set<string>();
  /** Requests answered with 200, for tests and logs. */
  served = 0;
  private waiters = new Map<string, (() => void)[]>();

  constructor(private readonly host: ChallengeHost, private readonly socketTimeoutMs = 10_000) {}

  /**
   * Starts answering `tokens` for `orderId` (adding to any other open order) at once here; with a
   * board, resolves once the other peers answer them too (OrderFailure when the cluster does not
   * take them). An invalid token throws before anything is answered.
   */
  open(orderId: string, tokens: ReadonlyMap<string, string>): Promise<void> {
    for (const t of tokens.keys()) if (!TOKEN.test(t)) throw new Error(`invalid challenge token ${JSON.stringify(t.slice(0, 40))}`);
    this.orders.set(orderId, new Map(tokens));
    this.install(true);
    if (!this.board) return Promise.resolve();
    this.published.add(orderId);
    return publishOn(this.board, orderId, { http: tokens });
  }

  /**
   * Serves the board's tokens (every peer's orders) from now on, or with undefined, only this
   * appliance's own orders again. While a board is shared the handler stays on the listener.
   */
  share(board: ChallengeBoard | undefined): void {
    this.board = board;
    this.install(board !== undefined || this.orders.size > 0);
  }

  private install(on: boolean): void {
    if (on === this.installed) return;
    this.host.setChallengeHandler(on ? this.handler : undefined);
    this.installed = on;
  }

  /** Resolves the next time one of this order's tokens is served, here or by another peer (or when the order closes). */
  fetched(orderId: string): Promise<void> {
    const here = new Promise<void>((resolve) => {
      if (!this.orders.has(orderId)) return resolve();
      const list = this.waiters.get(orderId) ?? [];
      list.push(resolve);
      this.waiters.set(orderId, list);
    });
    return this.board && this.published.has(orderId) ? Promise.race([here, this.board.fetched(orderId)]) : here;
  }

  private wake(orderId: string): void {
    const list = this.waiters.get(orderId);
    this.waiters.delete(orderId);
    for (const w of list ?? []) w();
  }

  /**
   * Stops answering this order's tokens, here and (withdrawn from the board) on every peer; with
   * the last order and no board, leaves the listener. Idempotent.
   */
  close(orderId: string): void {
    this.orders.delete(orderId);
    this.wake(orderId);
    if (this.published.delete(orderId)) void this.board?.withdraw(orderId);
    this.install(this.board !== undefined || this.orders.size > 0);
  }

  /** True while the handler is on the listener (an order's tokens, or a shared board). */
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
    return this.board?.httpAnswer(token);
  };

  /** Plugged into the HTTP listener; answers challenge paths, leaves everything else to it. */
  readonly handler: ChallengeHandler = (req: IncomingMessage, res: ServerResponse): boolean => {
    // A handler left behind by a stale reference answers nothing.
    if (this.orders.size === 0 && !this.board) return false;
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
