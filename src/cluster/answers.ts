// ACME challenge answers shared by the peers of a cluster: the CA's validator may reach any peer,
// so every peer serves every running order's answers. Layout under `acme/`:
//   acme/order/<id>         {"peer": n, "lease": id, "http": {token: keyAuthorization}, "alpn": {name: {certPem, keyPem}}}
//                           one key per order attempt, under a lease the ordering peer keeps alive
//   acme/seen/<id>/<peer>   written under the same lease by each peer once it serves that order
//   acme/fetched/<id>/<peer> the same, once the CA fetched one of its HTTP-01 tokens from that peer
//                           (the ordering peer then checks the CA's verdict at once, as when the CA
//                           fetches from itself)
// Contract:
// - publish() grants the order's lease (TTL ttlSeconds, kept alive by this client), writes the
//   order's key, and resolves once every live peer (heartbeat present) has confirmed it serves it,
//   or after confirmMs (a peer that does not confirm in time is logged, not waited for). It throws
//   ClusterUnavailable when the cluster does not take the answers.
// - withdraw() revokes the lease: the keys vanish cluster-wide and every peer stops answering. It
//   never throws; a revoke that fails leaves the keys to the TTL. An ordering peer that dies stops
//   keeping the lease alive, and the answers vanish TTL seconds later.
// - Lookups (httpAnswer, the TLS-ALPN-01 follower) answer from a local copy (replica.ts): a peer
//   serves exactly what etcd holds, as soon as its watch delivers it.
import type { ClusterClient, HeldLease } from './client.js';
import { ReplicatedPrefix } from './replica.js';
import type { Logger } from '../platform/log.js';

export const ANSWERS_PREFIX = 'acme/';
const ORDER = /^acme\/order\/([A-Za-z0-9-]{1,64})$/;
const MARK = /^acme\/(seen|fetched)\/([A-Za-z0-9-]{1,64})\/([1-9][0-9]?)$/;

export interface AnswerPem {
  readonly certPem: string;
  readonly keyPem: string;
}

/** What one order publishes: HTTP-01 tokens and/or TLS-ALPN-01 challenge certificates by name. */
export interface OrderAnswers {
  readonly http?: ReadonlyMap<string, string>;
  readonly alpn?: ReadonlyMap<string, AnswerPem>;
}

interface StoredOrder {
  readonly peer: number;
  readonly lease: string;
  readonly http: ReadonlyMap<string, string>;
  readonly alpn: ReadonlyMap<string, AnswerPem>;
}

export const orderKey = (id: string): string => `${ANSWERS_PREFIX}order/${id}`;
export const seenKey = (id: string, peer: number): string => `${ANSWERS_PREFIX}seen/${id}/${peer}`;
export const fetchedKey = (id: string, peer: number): string => `${ANSWERS_PREFIX}fetched/${id}/${peer}`;

/** The value of an order's key. Pure. */
export function encodeOrder(peer: number, lease: string, a: OrderAnswers): string {
  return JSON.stringify({ peer, lease, http: Object.fromEntries(a.http ?? []), alpn: Object.fromEntries(a.alpn ?? []) });
}

function decodeOrder(raw: string): StoredOrder | undefined {
  try {
    const v = JSON.parse(raw) as { peer?: unknown; lease?: unknown; http?: unknown; alpn?: unknown };
    if (typeof v.peer !== 'number' || typeof v.lease !== 'string' || typeof v.http !== 'object' || v.http === null || typeof v.alpn !== 'object' || v.alpn === null) return undefined;
    const http = new Map(Object.entries(v.http).filter((e): e is [string, string] => typeof e[1] === 'string'));
    const alpn = new Map<string, AnswerPem>();
    for (const [name, p] of Object.entries(v.alpn)) {
      const pem = p as Partial<AnswerPem> | null;
      if (typeof pem?.certPem === 'string' && typeof pem.keyPem === 'string') alpn.set(name.toLowerCase(), { certPem: pem.certPem, keyPem: pem.keyPem });
    }
    return { peer: v.peer, lease: v.lease, http, alpn };
  } catch {
    return undefined;
  }
}

/** A TLS-ALPN-01 answer to install (pair) or remove (undefined) on this peer's HTTPS listener. */
export interface AlpnChange {
  readonly name: string;
  readonly pair: AnswerPem | undefined;
}

/**
 * The answers as this peer knows them, from the keys under `acme/`. Pure: it is told every put
 * and delete and says which TLS-ALPN-01 certificates of other peers' orders change with each.
 * This peer's own orders are served by its own solvers, so they never show up as changes here.
 */
export class AnswerTable {
  private readonly orders = new Map<string, StoredOrder>();
  private readonly marks = { seen: new Map<string, Set<number>>(), fetched: new Map<string, Set<number>>() };

  constructor(private readonly self: number) {}

  /** One put (value) or delete (undefined); returns the TLS-ALPN-01 changes it makes. */
  apply(key: string, value: string | undefined): AlpnChange[] {
    const before = this.alpnView();
    this.set(key, value);
    return diff(before, this.alpnView());
  }

  /** A fresh snapshot replaces everything; returns the TLS-ALPN-01 changes it makes. */
  reset(entries: ReadonlyMap<string, string>): AlpnChange[] {
    const before = this.alpnView();
    this.orders.clear();
    this.marks.seen.clear();
    this.marks.fetched.clear();
    for (const [k, v] of entries) this.set(k, v);
    return diff(before, this.alpnView());
  }

  private set(key: string, value: string | undefined): void {
    const o = ORDER.exec(key);
    if (o) {
      const stored = value === undefined ? undefined : decodeOrder(value);
      if (stored) this.orders.set(o[1]!, stored);
      else this.orders.delete(o[1]!);
      return;
    }
    const m = MARK.exec(key);
    if (!m) return;
    const marks = this.marks[m[1] as 'seen' | 'fetched'];
    const peers = marks.get(m[2]!) ?? new Set<number>();
    if (value === undefined) peers.delete(Number(m[3]));
    else peers.add(Number(m[3]));
    if (peers.size) marks.set(m[2]!, peers);
    else marks.delete(m[2]!);
  }

  /** The key authorization of `token` in any order present. */
  http(token: string): string | undefined {
    for (const o of this.orders.values()) {
      const v = o.http.get(token);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** The other peer's order `token` belongs to, with its lease (undefined for this peer's own or none). */
  foreignOwner(token: string): { id: string; lease: string } | undefined {
    for (const [id, o] of this.orders) if (o.peer !== this.self && o.http.has(token)) return { id, lease: o.lease };
    return undefined;
  }

  /** Orders of other peers present now, with their leases. */
  foreignOrders(): { id: string; lease: string }[] {
    return [...this.orders].filter(([, o]) => o.peer !== this.self).map(([id, o]) => ({ id, lease: o.lease }));
  }

  has(id: string): boolean {
    return this.orders.has(id);
  }

  /** The peers that confirmed serving order `id`. */
  seenBy(id: string): ReadonlySet<number> {
    return this.marks.seen.get(id) ?? new Set();
  }

  /** The peers the CA fetched one of order `id`'s tokens from. */
  fetchedFrom(id: string): ReadonlySet<number> {
    return this.marks.fetched.get(id) ?? new Set();
  }

  /** name → certificate of the other peers' orders (a later order wins a name). */
  alpnView(): Map<string, AnswerPem> {
    const view = new Map<string, AnswerPem>();
    for (const o of this.orders.values()) if (o.peer !== this.self) for (const [n, p] of o.alpn) view.set(n, p);
    return view;
  }
}

function diff(before: ReadonlyMap<string, AnswerPem>, after: ReadonlyMap<string, AnswerPem>): AlpnChange[] {
  const out: AlpnChange[] = [];
  for (const n of before.keys()) if (!after.has(n)) out.push({ name: n, pair: undefined });
  for (const [n, p] of after) {
    const b = before.get(n);
    if (b?.certPem !== p.certPem || b.keyPem !== p.keyPem) out.push({ name: n, pair: p });
  }
  return out;
}

export interface SharedAnswersDeps {
  readonly client: ClusterClient;
  /** This peer's number. */
  readonly self: number;
  /** The other peers whose heartbeat is present: publish() waits for their confirmation. */
  readonly alive: () => readonly number[];
  readonly logger: Logger;
  /** The orders' lease TTL (default 10 s): how long answers outlive an ordering peer that died. */
  readonly ttlSeconds?: number;
  /** How long publish() waits for the live peers to confirm (default 3000 ms). */
  readonly confirmMs?: number;
}

export class SharedAnswers {
  private readonly table: AnswerTable;
  private readonly leases = new Map<string, Promise<HeldLease | undefined>>();
  /** Orders of other peers this peer confirmed (one confirmation each). */
  private readonly confirmed = new Set<string>();
  /** Orders of other peers whose token the CA fetched here (said once each). */
  private readonly fetchedHere = new Set<string>();
  private readonly waiters = new Set<() => void>();
  private follower: ((name: string, pair: AnswerPem | undefined) => void) | undefined;
  private replica: ReplicatedPrefix | undefined;
  private closed = false;

  private constructor(private readonly deps: SharedAnswersDeps) {
    this.table = new AnswerTable(deps.self);
  }

  /** Loads what is in etcd now and follows it; throws ClusterUnavailable without a quorum. */
  static async open(deps: SharedAnswersDeps): Promise<SharedAnswers> {
    const s = new SharedAnswers(deps);
    const replica = await ReplicatedPrefix.open(deps.client, ANSWERS_PREFIX, deps.logger);
    s.replica = replica;
    s.changed(s.table.reset(replica.entries()));
    replica.on('change', (key: string, value: string | undefined) => s.changed(s.table.apply(key, value)));
    replica.on('reset', (entries: ReadonlyMap<string, string>) => s.changed(s.table.reset(entries)));
    return s;
  }

  private changed(alpn: AlpnChange[]): void {
    if (this.closed) return;
    for (const c of alpn) this.follow(c.name, c.pair);
    // Served from now on: say so, once per order, under the order's own lease.
    for (const { id, lease } of this.table.foreignOrders()) {
      if (this.confirmed.has(id)) continue;
      this.confirmed.add(id);
      // An order withdrawn meanwhile took its lease with it: the write fails, nothing is left behind.
      void this.deps.client.putUnderLease(seenKey(id, this.deps.self), '', lease).catch((e: Error) => {
        this.deps.logger.log({ event: 'cluster.answers.confirm-failed', level: 'warn', order: id, error: e.message });
      });
    }
    for (const id of this.confirmed) if (!this.table.has(id)) this.confirmed.delete(id);
    for (const id of this.fetchedHere) if (!this.table.has(id)) this.fetchedHere.delete(id);
    for (const w of [...this.waiters]) w();
  }

  private follow(name: string, pair: AnswerPem | undefined): void {
    try {
      this.follower?.(name, pair);
    } catch (e) {
      this.deps.logger.log({ event: 'cluster.answers.alpn-refused', level: 'warn', name, error: (e as Error).message });
    }
  }

  /**
   * Calls `fn` now for every TLS-ALPN-01 answer of another peer's order, then for every change;
   * with undefined, first tells the previous follower to remove everything it was given.
   */
  followAlpn(fn: ((name: string, pair: AnswerPem | undefined) => void) | undefined): void {
    if (!fn) for (const n of this.table.alpnView().keys()) this.follow(n, undefined);
    this.follower = fn;
    if (fn) for (const [n, p] of this.table.alpnView()) this.follow(n, p);
  }

  /**
   * The key authorization of `token`, published by any peer (this one included). Asked when the
   * token is served: the first time for another peer's order, that peer hears of it (fetched()).
   */
  httpAnswer(token: string): string | undefined {
    const v = this.table.http(token);
    const owner = v === undefined ? undefined : this.table.foreignOwner(token);
    if (owner && !this.fetchedHere.has(owner.id)) {
      this.fetchedHere.add(owner.id);
      void this.deps.client.putUnderLease(fetchedKey(owner.id, this.deps.self), '', owner.lease).catch(() => undefined);
    }
    return v;
  }

  /** Resolves once the CA fetched one of order `id`'s tokens from another peer, or the order is gone. */
  fetched(id: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const check = () => {
        // This peer's order until withdrawn (its own key may not be back from the watch yet).
        if (!this.closed && this.leases.has(id) && this.table.fetchedFrom(id).size === 0) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
      check();
    });
  }

  async publish(id: string, answers: OrderAnswers): Promise<void> {
    if (this.closed) throw new Error('the cluster answers are closed');
    const granted = this.deps.client.lease(this.deps.ttlSeconds ?? 10).then((l) => {
      l.onLost((e) => this.deps.logger.log({ event: 'cluster.answers.lease-lost', level: 'warn', order: id, error: e.message }));
      return l;
    });
    this.leases.set(id, granted.catch(() => undefined));
    const lease = await granted;
    await lease.put(orderKey(id), encodeOrder(this.deps.self, lease.id, answers));
    await this.confirmation(id);
  }

  /** Resolves once every live peer confirmed order `id`, or after confirmMs. */
  private confirmation(id: string): Promise<void> {
    return new Promise<void>((resolve) => {
      // Set by the timer itself: comparing clocks could leave a timer that fired "early" waiting forever.
      let late = false;
      const check = () => {
        const seen = this.table.seenBy(id);
        const missing = this.deps.alive().filter((p) => p !== this.deps.self && !seen.has(p));
        if (missing.length && !late && !this.closed) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        if (missing.length) this.deps.logger.log({ event: 'cluster.answers.unconfirmed', level: 'warn', order: id, peers: missing });
        resolve();
      };
      const timer = setTimeout(() => { late = true; check(); }, this.deps.confirmMs ?? 3000);
      this.waiters.add(check);
      check();
    });
  }

  async withdraw(id: string): Promise<void> {
    const pending = this.leases.get(id);
    this.leases.delete(id);
    for (const w of [...this.waiters]) w();
    const lease = await pending;
    await lease?.revoke().catch((e: Error) => {
      this.deps.logger.log({ event: 'cluster.answers.revoke-failed', level: 'warn', order: id, error: e.message });
    });
  }

  /** Withdraws this peer's orders and stops following; other peers' certificates are removed here. */
  async close(): Promise<void> {
    await Promise.all([...this.leases.keys()].map((id) => this.withdraw(id)));
    this.followAlpn(undefined);
    this.closed = true;
    for (const w of [...this.waiters]) w();
    await this.replica?.close();
  }
}
