// Login limits, modelled on OpenSSH's sshd: LoginGraceTime (a connection must authenticate in
// time), a shorter deadline for the client's identification line (a silent socket gives its slot
// back soon), MaxAuthTries (failed attempts per connection), MaxStartups (random early drop of
// connections not yet authenticated between a start and a full value) with PerSourceMaxStartups,
// and PerSourcePenalties (a source that keeps failing is answered ever more slowly, and after many
// failures is refused for a while).
//
// Penalties are per source address, never per account: an attacker elsewhere cannot lock the
// admin out, and a correct login is never delayed (only failures are). A successful login from a
// source clears its penalty. Pure bookkeeping with an injected clock; the server applies it.

export interface LoginPolicy {
  /** Time allowed from connect to successful authentication (ms). */
  readonly graceMs: number;
  /** Time allowed from connect to the client's SSH identification line (ms). */
  readonly identMs: number;
  /** Failed authentication attempts per connection before it is closed. */
  readonly maxAuthTries: number;
  /**
   * Connections not yet authenticated, as OpenSSH's MaxStartups begin:rate:full. Below `begin`
   * all are admitted; from `begin` on, a new connection is refused with a probability rising
   * linearly from `rate` % to 100 % at `full`; at `full` all are refused.
   */
  readonly maxStartups: { readonly begin: number; readonly rate: number; readonly full: number };
  /** Connections not yet authenticated, per source address (OpenSSH's PerSourceMaxStartups). */
  readonly maxUnauthenticatedPerSource: number;
  /** Delay before answering the first failure from a source; it doubles with each further one. */
  readonly penaltyBaseMs: number;
  /** Largest delay before answering a failure. */
  readonly penaltyMaxMs: number;
  /** Failures from a source within `forgetMs` of each other accumulate; a quiet source is forgiven. */
  readonly forgetMs: number;
  /** After this many accumulated failures a source's new connections are refused... */
  readonly lockoutFailures: number;
  /** ...until it has been quiet for this long. */
  readonly lockoutMs: number;
  /** Sources remembered at most (the oldest are dropped first). */
  readonly maxSources: number;
}

export const DEFAULT_POLICY: LoginPolicy = {
  graceMs: 30_000,
  identMs: 10_000,
  maxAuthTries: 6,
  maxStartups: { begin: 10, rate: 30, full: 60 },
  maxUnauthenticatedPerSource: 10,
  penaltyBaseMs: 500,
  penaltyMaxMs: 8_000,
  forgetMs: 10 * 60_000,
  lockoutFailures: 30,
  lockoutMs: 5 * 60_000,
  maxSources: 10_000,
};

interface SourceState {
  failures: number;
  last: number;
  unauthenticated: number;
}

export type Admission = { ok: true } | { ok: false; reason: string };

export class LoginLimits {
  readonly policy: LoginPolicy;
  private readonly sources = new Map<string, SourceState>();
  private unauthenticated = 0;

  /** `random` returns a number in [0, 1) (tests inject their own draws). */
  constructor(
    policy: Partial<LoginPolicy> = {},
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.policy = { ...DEFAULT_POLICY, ...policy };
  }

  private state(source: string): SourceState {
    let s = this.sources.get(source);
    const t = this.now();
    if (s && s.failures > 0 && t - s.last > this.policy.forgetMs) s.failures = 0;
    if (!s) {
      if (this.sources.size >= this.policy.maxSources) this.evict();
      s = { failures: 0, last: t, unauthenticated: 0 };
      this.sources.set(source, s);
    } else {
      // Keep insertion order as "least recently seen first" for eviction.
      this.sources.delete(source);
      this.sources.set(source, s);
    }
    return s;
  }

  private evict(): void {
    for (const [k, v] of this.sources) {
      if (v.unauthenticated === 0) {
        this.sources.delete(k);
        return;
      }
    }
  }

  /** A new connection from `source`: admitted (and counted as unauthenticated) or refused. */
  admit(source: string): Admission {
    const s = this.state(source);
    if (s.failures >= this.policy.lockoutFailures && this.now() - s.last < this.policy.lockoutMs) {
      return { ok: false, reason: 'source locked out after repeated login failures' };
    }
    const { begin, rate, full } = this.policy.maxStartups;
    const n = this.unauthenticated;
    if (n >= full) return { ok: false, reason: 'too many unauthenticated connections' };
    if (s.unauthenticated >= this.policy.maxUnauthenticatedPerSource) {
      return { ok: false, reason: 'too many unauthenticated connections from this source' };
    }
    // A source's first pending connection is never dropped early, only at `full`: the admin
    // arriving from an address of its own still gets in while a few addresses hold their
    // per-source share. Spread over many addresses, an attacker reaches `full` either way.
    if (n >= begin && s.unauthenticated > 0) {
      const dropPercent = rate + ((100 - rate) * (n - begin)) / Math.max(1, full - begin);
      if (this.random() * 100 < dropPercent) return { ok: false, reason: 'too many unauthenticated connections (random early drop)' };
    }
    s.unauthenticated++;
    this.unauthenticated++;
    return { ok: true };
  }

  /** An admitted connection authenticated (or closed before it did): it no longer counts. */
  release(source: string, authenticated: boolean): void {
    const s = this.state(source);
    if (s.unauthenticated > 0) {
      s.unauthenticated--;
      this.unauthenticated--;
    }
    if (authenticated) s.failures = 0;
  }

  /** Records a failed attempt; returns how long to wait before answering it (ms). */
  failure(source: string): number {
    const s = this.state(source);
    s.failures++;
    s.last = this.now();
    return this.delayFor(s.failures);
  }

  /** The delay for the n-th accumulated failure. */
  delayFor(failures: number): number {
    if (failures <= 0) return 0;
    return Math.min(this.policy.penaltyMaxMs, this.policy.penaltyBaseMs * 2 ** Math.min(failures - 1, 30));
  }

  failuresOf(source: string): number {
    return this.state(source).failures;
  }

  get pending(): number {
    return this.unauthenticated;
  }
}
