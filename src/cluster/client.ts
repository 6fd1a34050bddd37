// The appliance's etcd client: npm `etcd3` with every voter's endpoint, a deadline on every unary
// call, fast circuit breakers, and the few primitives the cluster is built from. Contract:
// - Every call that needs the cluster either answers within `callTimeoutMs` (default 3 s) or
//   throws ClusterUnavailable (an Unavailable: one sentence, the shell shows it as is). A write that
//   timed out was not confirmed; it may still have been applied, never half.
// - Each call gets two attempts of half that time each, the second on another member (per-member
//   breakers open after 3 failures for 1 s): a write caught in flight when the leader dies is
//   retried after the election (1-2 s) instead of failing; no quorum still fails in one callTimeoutMs.
//   Retried writes are idempotent (put, delete, lease put); a compare-and-set whose first attempt
//   landed unconfirmed reports success when it finds its own value.
// - Watches reconnect by themselves (50 ms doubling to 1 s) and resume from the last revision seen.
// - close() revokes the leases this client holds (challenge answers, heartbeats, locks) before
//   closing, so nothing it held outlives it; etcd3's own close() would leave keep-alives running.
//   A holder that dies without close() loses its keys when its lease's TTL runs out.
import crypto from 'node:crypto';
import tls from 'node:tls';
import { Etcd3, EtcdLockFailedError, GRPCDeadlineExceededError, isRecoverableError, type Lease, type Lock, type IKeyValue, type Watcher } from 'etcd3';
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { Unavailable } from '../errors.js';
import type { Logger } from '../platform/log.js';

export interface ClientTls {
  /** PEM roots the members' certificates must chain to: the trust store (Enforce), plus pinned peer certificates (Permissive). */
  readonly caPem: string;
  /** This peer's own certificate and key, presented to members that ask (Enforce). */
  readonly certPem?: string;
  readonly keyPem?: string;
}

export interface ClusterClientOptions {
  /** Every voter's client URL (the plan's `endpoints`). */
  readonly endpoints: readonly string[];
  readonly tls: ClientTls;
  /** Deadline of each unary call (default 3000 ms: a leader election fits, a lost quorum fails). */
  readonly callTimeoutMs?: number;
  readonly logger?: Logger;
}

/** The cluster could not confirm an operation in time: no quorum, or no member reachable. */
export class ClusterUnavailable extends Unavailable {}

export type ClusterState = 'Active' | 'Degraded' | 'NoQuorum';

export interface MemberHealth {
  readonly endpoint: string;
  readonly reachable: boolean;
  /** The member's name, when reachable. */
  readonly name?: string;
  /** The member's view of the leader's name ('' when it knows none). */
  readonly leader?: string;
  readonly error?: string;
}

export interface ClusterHealth {
  /** Active: every voter reachable with a leader; Degraded: a quorum is; NoQuorum otherwise. */
  readonly state: ClusterState;
  readonly voters: number;
  readonly reachable: number;
  readonly members: readonly MemberHealth[];
}

export interface MemberInfo {
  readonly id: string;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly learner: boolean;
}

/** A lease this client keeps alive until revoke() or close(); its keys vanish with it. */
export interface HeldLease {
  readonly ttlSeconds: number;
  /** etcd's lease ID (decimal): other holders may put keys under it (putUnderLease). */
  readonly id: string;
  put(key: string, value: string): Promise<void>;
  /**
   * Writes every entry under the lease in one transaction, only if none of the keys exists: ok, or
   * the first key found taken and its value. A retried write that finds its own value succeeded.
   */
  claim(entries: ReadonlyMap<string, string>): Promise<{ ok: true } | { ok: false; key: string; current: string }>;
  /** Deletes every key under the lease, cluster-wide. */
  revoke(): Promise<void>;
  /** Called once when keep-alive fails for good (the keys are gone or about to be). */
  onLost(fn: (err: Error) => void): void;
}

/** A held per-name lock; expires with its holder after its TTL. */
export interface HeldLock {
  readonly name: string;
  release(): Promise<void>;
}

const text = (b: Buffer | string): string => (typeof b === 'string' ? b : b.toString('utf8'));

export class ClusterClient {
  private readonly etcd: Etcd3;
  private readonly timeoutMs: number;
  private readonly leases = new Set<Lease>();
  private readonly locks = new Set<Lock>();
  private readonly watchers = new Set<Watcher>();
  private readonly probes = new Map<string, Etcd3>();
  private closed = false;
  /** Roots trusted since construction (trustMore): used by the per-member probes made after. */
  private extraCaPem = '';
  readonly logger: Logger | undefined;

  constructor(private readonly opts: ClusterClientOptions) {
    this.logger = opts.logger;
    this.timeoutMs = opts.callTimeoutMs ?? 3000;
    this.etcd = new Etcd3({
      hosts: [...opts.endpoints],
      credentials: this.credentials(),
      dialTimeout: this.timeoutMs,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + Math.ceil(this.timeoutMs / 2) }),
      faultHandling: {
        // A member that refused or vanished is skipped for 1 s, not etcd3's default 5 s.
        host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }),
        // One retry, on another member: two half-deadline attempts make one callTimeoutMs.
        global: retry(handleWhen(isRecoverableError), { maxAttempts: 1 }),
        // etcd3 takes a backoff step (it calls next() on it), not a factory.
        watchBackoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }).next(),
      },
    });
  }

  private credentials() {
    const t = this.opts.tls;
    return {
      rootCertificate: Buffer.from(t.caPem + this.extraCaPem),
      ...(t.certPem && t.keyPem ? { certChain: Buffer.from(t.certPem), privateKey: Buffer.from(t.keyPem) } : {}),
    };
  }

  /** Runs one etcd call, turning transport and deadline failures into one sentence. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new ClusterUnavailable(`The cluster client is closed: ${what} was not done`);
    try {
      return await fn();
    } catch (e) {
      throw this.failure(what, e);
    }
  }

  private failure(what: string, e: unknown): Error {
    if (e instanceof Unavailable) return e;
    const err = e as Error;
    // etcd's own refusals ("etcdserver: unhealthy cluster", "... too many requests") say why.
    const reason = /etcdserver: [^\n]*/.exec(err.message)?.[0];
    const unconfirmed = /timed out|leader changed|no leader/.test(reason ?? '');
    if (reason && !unconfirmed && !(err instanceof GRPCDeadlineExceededError)) return new ClusterUnavailable(`The cluster refused ${what}: ${reason}`);
    if (unconfirmed || isRecoverableError(err) || (err as { isBrokenCircuitError?: boolean }).isBrokenCircuitError) {
      return new ClusterUnavailable(`The cluster did not confirm ${what} within ${this.timeoutMs / 1000} s: no quorum or no member reachable`);
    }
    return err;
  }

  // ---- keys -----------------------------------------------------------------------------------

  async get(key: string): Promise<string | undefined> {
    return this.call(`reading ${key}`, async () => (await this.etcd.get(key).string()) ?? undefined);
  }

  /** Resolves with the revision of the write once a quorum has it. */
  async put(key: string, value: string): Promise<number> {
    return this.call(`writing ${key}`, async () => Number((await this.etcd.put(key).value(value).exec()).header.revision));
  }

  /**
   * Writes every entry in one transaction (watchers see them at one revision), only if `onlyIfAbsent`
   * (when given) does not exist yet; `marker` is then written with them. Returns whether it wrote.
   */
  async putAll(entries: ReadonlyMap<string, string>, onlyIfAbsent?: { key: string; value: string }): Promise<boolean> {
    return this.call(`writing ${entries.size} keys`, async () => {
      const puts = [...entries].map(([k, v]) => this.etcd.put(k).value(v));
      // A comparison that always holds when no condition is asked for: any key's mod revision is > -1.
      const cond = onlyIfAbsent ? this.etcd.if(onlyIfAbsent.key, 'Create', '==', 0) : this.etcd.if('\0', 'Mod', '>', -1);
      const r = await cond.then(...puts, ...(onlyIfAbsent ? [this.etcd.put(onlyIfAbsent.key).value(onlyIfAbsent.value)] : [])).commit();
      return r.succeeded;
    });
  }

  /** Writes `key` under a lease another client holds: it vanishes with that lease. */
  async putUnderLease(key: string, value: string, leaseId: string): Promise<void> {
    await this.call(`writing ${key}`, () => this.etcd.put(key).value(value).lease(leaseId).exec());
  }

  async delete(key: string): Promise<void> {
    await this.call(`deleting ${key}`, () => this.etcd.delete().key(key).exec());
  }

  /**
   * Sets `key` to `value` only if it currently holds `expected` (undefined: only if absent).
   * Returns whether it did, and the value it found when it did not.
   */
  async compareAndSet(key: string, expected: string | undefined, value: string): Promise<{ ok: boolean; current?: string }> {
    return this.call(`changing ${key}`, async () => {
      const cond = expected === undefined ? this.etcd.if(key, 'Create', '==', 0) : this.etcd.if(key, 'Value', '==', expected);
      const r = await cond.then(this.etcd.put(key).value(value)).else(this.etcd.get(key)).commit();
      if (r.succeeded) return { ok: true };
      const kv = r.responses[0]?.response_range?.kvs[0];
      const current = kv ? text(kv.value) : undefined;
      // A first attempt that landed but timed out leaves our own value: the change is made.
      if (current === value) return { ok: true };
      return { ok: false, current };
    });
  }

  /** Every key under `prefix` with the revision the snapshot was taken at. */
  async snapshot(prefix: string): Promise<{ revision: number; entries: Map<string, string> }> {
    return this.call(`reading ${prefix}*`, async () => {
      const r = await this.etcd.getAll().prefix(prefix).exec();
      return { revision: Number(r.header.revision), entries: new Map(r.kvs.map((kv: IKeyValue) => [text(kv.key), text(kv.value)])) };
    });
  }

  /** Watches `prefix` from `fromRevision` (inclusive). Internal: use ReplicatedPrefix. */
  async watchFrom(prefix: string, fromRevision: number): Promise<Watcher> {
    if (this.closed) throw new ClusterUnavailable(`The cluster client is closed: ${prefix}* is not watched`);
    const w = await this.etcd.watch().prefix(prefix).startRevision(String(fromRevision)).create();
    this.watchers.add(w);
    return w;
  }

  /**
   * Cancels a watcher, bounded by callTimeoutMs: cancelling one the server already cancelled (its
   * revision compacted) waits for an answer that never comes.
   */
  async unwatch(w: Watcher): Promise<void> {
    this.watchers.delete(w);
    w.removeAllListeners();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([w.cancel().catch(() => undefined), new Promise<void>((r) => { timer = setTimeout(r, this.timeoutMs); })]);
    clearTimeout(timer);
  }

  // ---- leases and locks -----------------------------------------------------------------------

  /** Grants a lease (TTL in seconds; etcd raises anything below ~2 s) kept alive by this client. */
  async lease(ttlSeconds: number): Promise<HeldLease> {
    const lease = this.etcd.lease(ttlSeconds);
    this.leases.add(lease);
    try {
      await this.call('granting a lease', () => lease.grant());
    } catch (e) {
      this.leases.delete(lease);
      lease.release();
      throw e;
    }
    const id = await lease.grant();
    const lost: ((err: Error) => void)[] = [];
    lease.on('lost', (err) => {
      this.leases.delete(lease);
      this.opts.logger?.log({ event: 'cluster.lease.lost', level: 'warn', reason: err.message });
      for (const fn of lost) fn(err);
    });
    return {
      ttlSeconds,
      id,
      put: async (key, value) => void (await this.call(`writing ${key}`, () => lease.put(key).value(value).exec())),
      claim: (entries) => this.call(`locking ${[...entries.keys()].join(', ')}`, async () => {
        const id = await lease.grant();
        const keys = [...entries.keys()];
        const cond = keys.slice(1).reduce((c, k) => c.and(k, 'Create', '==', 0), this.etcd.if(keys[0]!, 'Create', '==', 0));
        const r = await cond
          .then(...keys.map((k) => this.etcd.put(k).value(entries.get(k)!).lease(id)))
          .else(...keys.map((k) => this.etcd.get(k)))
          .commit();
        if (r.succeeded) return { ok: true as const };
        const found = keys.map((key, i) => ({ key, kv: r.responses[i]?.response_range?.kvs[0] }));
        const taken = found.find((f) => f.kv && text(f.kv.value) !== entries.get(f.key));
        // Only our own values (all of them: one transaction): a first attempt landed unconfirmed.
        if (!taken) return { ok: true as const };
        return { ok: false as const, key: taken.key, current: text(taken.kv!.value) };
      }),
      revoke: async () => {
        this.leases.delete(lease);
        await this.call('revoking a lease', () => lease.revoke());
      },
      onLost: (fn) => void lost.push(fn),
    };
  }

  /**
   * Tries once to take the lock `name` for `ttlSeconds`: the held lock, or undefined while another
   * holder has it. The lock lives as long as this client keeps it alive, or TTL after its holder died.
   */
  async tryLock(name: string, ttlSeconds: number): Promise<HeldLock | undefined> {
    const lock = this.etcd.lock(`locks/${name}`).ttl(ttlSeconds);
    try {
      await this.call(`locking ${name}`, () => lock.acquire());
    } catch (e) {
      if (e instanceof EtcdLockFailedError) return undefined;
      throw e;
    }
    this.locks.add(lock);
    return {
      name,
      release: async () => {
        this.locks.delete(lock);
        await this.call(`unlocking ${name}`, () => lock.release());
      },
    };
  }

  // ---- quorum and membership ------------------------------------------------------------------

  /**
   * Trusts more roots (Permissive: a voter pinned after this client was made). The per-member
   * probes behind health() are made anew with them; the shared connection keeps the roots it was
   * made with and reaches the cluster through the members it trusts (a restart trusts them all).
   */
  trustMore(caPem: string): void {
    this.extraCaPem += caPem;
    for (const p of this.probes.values()) p.close();
    this.probes.clear();
  }

  private probe(endpoint: string): Etcd3 {
    let c = this.probes.get(endpoint);
    if (!c) {
      // One client per member, without retries or breakers: the answer is about that member alone.
      c = new Etcd3({
        hosts: [endpoint],
        credentials: this.credentials(),
        dialTimeout: this.timeoutMs,
        defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + Math.min(this.timeoutMs, 1000) }),
        faultHandling: { host: () => retry(handleWhen(() => false), { maxAttempts: 0 }), global: retry(handleWhen(() => false), { maxAttempts: 0 }) },
      });
      this.probes.set(endpoint, c);
    }
    return c;
  }

  /**
   * Asks every endpoint for its status (each bounded by min(callTimeout, 1 s)) and counts the voters
   * that answer and agree on a leader, against the voters the members list. Never throws.
   */
  async health(): Promise<ClusterHealth> {
    const answers = await Promise.all(this.opts.endpoints.map(async (endpoint): Promise<MemberHealth & { id?: string; leaderId?: string; voters?: number }> => {
      try {
        const c = this.probe(endpoint);
        const [s, list] = await Promise.all([c.maintenance.status(), c.cluster.memberList({})]);
        const byId = new Map(list.members.map((m) => [m.ID, m.name]));
        return {
          endpoint, reachable: true, name: byId.get(s.header.member_id) ?? '', leader: s.leader === '0' ? '' : byId.get(s.leader) ?? '',
          id: s.header.member_id, leaderId: s.leader, voters: list.members.filter((m) => !m.isLearner).length,
        };
      } catch (e) {
        return { endpoint, reachable: false, error: (e as Error).message };
      }
    }));
    // Voters as the members themselves list them: a member missing from `endpoints` counts as unreachable.
    const voters = Math.max(this.opts.endpoints.length, ...answers.map((a) => a.voters ?? 0));
    const withLeader = answers.filter((a) => a.reachable && a.leaderId && a.leaderId !== '0');
    const reachable = answers.filter((a) => a.reachable).length;
    const quorum = Math.floor(voters / 2) + 1;
    // A leader is only trusted when the leader itself, with a quorum behind it, is among the answers.
    const leaderUp = withLeader.some((a) => answers.some((b) => b.reachable && b.id === a.leaderId));
    const state: ClusterState = withLeader.length >= quorum && leaderUp ? (reachable === voters ? 'Active' : 'Degraded') : 'NoQuorum';
    return { state, voters, reachable, members: answers.map(({ id: _i, leaderId: _l, voters: _v, ...m }) => m) };
  }

  async members(): Promise<MemberInfo[]> {
    return this.call('listing the members', async () => (await this.etcd.cluster.memberList({})).members.map((m) => ({
      id: m.ID, name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs, learner: m.isLearner,
    })));
  }

  /**
   * Adds a voting member `name` at `peerUrl` (it must then start with state 'existing' and the
   * returned --initial-cluster). Needs a quorum; etcd refuses when the addition would lose it.
   */
  async addMember(name: string, peerUrl: string): Promise<{ id: string; initialCluster: string }> {
    return this.call(`adding member ${name}`, async () => {
      const r = await this.etcd.cluster.memberAdd({ peerURLs: [peerUrl] });
      const initialCluster = r.members.flatMap((m) => m.peerURLs.map((u) => `${m.ID === r.member.ID ? name : m.name}=${u}`)).join(',');
      return { id: r.member.ID, initialCluster };
    });
  }

  /** Removes the member named `nameOrPeerUrl` (or not yet started at that peer URL); false when there is none. */
  async removeMember(nameOrPeerUrl: string): Promise<boolean> {
    return this.call(`removing member ${nameOrPeerUrl}`, async () => {
      const m = (await this.etcd.cluster.memberList({})).members.find((x) => x.name === nameOrPeerUrl || x.peerURLs.includes(nameOrPeerUrl));
      if (!m) return false;
      await this.etcd.cluster.memberRemove({ ID: m.ID });
      return true;
    });
  }

  /**
   * Revokes held leases and locks and cancels watchers (each bounded by the call deadline), then
   * closes every channel; a watcher left open would retry its stream forever on a closed client.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([
      ...[...this.locks].map((l) => l.release()),
      ...[...this.leases].map((l) => l.revoke()),
      ...[...this.watchers].map((w) => this.unwatch(w)),
    ]);
    this.closed = true;
    for (const l of this.leases) l.release();
    this.etcd.close();
    for (const p of this.probes.values()) p.close();
  }
}

/**
 * Permissive mode: the certificate each endpoint presents, unverified (trust on first use), as PEM
 * roots for ClientTls.caPem. The top of the presented chain is taken, so a self-signed certificate
 * or a chain sent up to its root works; a chain whose root is not sent needs the trust store.
 * An endpoint that does not answer within timeoutMs contributes nothing (it is pinned next time).
 */
export async function presentedCertificates(endpoints: readonly string[], timeoutMs = 3000): Promise<string> {
  return (await presentedByEndpoint(endpoints, timeoutMs)).join('');
}

/** What each of `endpoints` presents (the top of its chain, PEM), in order; '' for one that does not answer. */
export function presentedByEndpoint(endpoints: readonly string[], timeoutMs = 3000): Promise<string[]> {
  return Promise.all(endpoints.map((e) => new Promise<string>((resolve, reject) => {
    const u = new URL(e);
    const sock = tls.connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port), rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
      let c = sock.getPeerCertificate(true);
      const seen = new Set<string>();
      while (c.issuerCertificate && c.issuerCertificate !== c && !seen.has(c.fingerprint256)) {
        seen.add(c.fingerprint256);
        c = c.issuerCertificate;
      }
      sock.destroy();
      resolve(new crypto.X509Certificate(c.raw).toString());
    });
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error(`${e} presented no certificate within ${timeoutMs / 1000} s`)));
    sock.once('error', reject);
  }).catch(() => '')));
}
