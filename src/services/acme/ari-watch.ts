// Keeping up with what the CA says about each certificate in use: its directory (cached, so
// xStatus can list the profiles and the renewal job knows whether ARI is offered) and, when the
// directory offers `renewalInfo`, each managed certificate's renewal window, asked for again at
// the CA's Retry-After (bounded to [1 h, 24 h]) and kept in the persisted record so a restart
// neither forgets the window nor asks early. Decisions stay in ari.ts and scheduler.ts.
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import { ariCertId, ariPollDue, ariWindowFor, nextAriState, ARI_RETRY_MIN_S, type AriState, type RenewalWindow } from './ari.js';
import { renewalInfoUrl } from './ari-client.js';
import type { CaDirectory } from './ca-directory.js';
import type { ProviderRef } from './issuer.js';
import type { PendingRepository, CaSnapshot } from './pending.js';
import { profilesOf } from './profiles.js';
import type { Target } from './target.js';
import { memoByPem } from './chain.js';

/** The directory is fetched again after a day, like the slowest ARI poll. */
const DIRECTORY_MAX_AGE_MS = 86_400_000;

export interface AriWatchDeps {
  readonly ca: CaDirectory;
  readonly repo: PendingRepository;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The ARI certificate ID of a PEM, or undefined when the CA cannot be asked about it (no AKI). */
export const certIdOf = memoByPem((pem: string): string | undefined => {
  try {
    return ariCertId(pem);
  } catch {
    return undefined;
  }
});

export class AriWatch {
  constructor(private readonly deps: AriWatchDeps) {}

  /**
   * The directory of `p`: the cached one while younger than a day (unless `fresh`), else fetched
   * and cached. Rejects with Unavailable when it cannot be fetched.
   */
  async directory(p: ProviderRef, fresh = false): Promise<CaSnapshot> {
    const { repo, clock } = this.deps;
    const now = clock.now().getTime();
    const cached = repo.ca;
    if (!fresh && cached?.directoryUrl === p.directoryUrl && now - cached.fetched < DIRECTORY_MAX_AGE_MS && now >= cached.fetched) return cached;
    const dir = await this.deps.ca.directory(p.directoryUrl);
    const ri = renewalInfoUrl(dir);
    const snap: CaSnapshot = { directoryUrl: p.directoryUrl, profiles: profilesOf(dir), fetched: now, ...(ri ? { renewalInfo: ri } : {}) };
    repo.ca = snap;
    return snap;
  }

  /** The cached directory when it is the one of `directoryUrl`. */
  cached(directoryUrl: string): CaSnapshot | undefined {
    const c = this.deps.repo.ca;
    return c?.directoryUrl === directoryUrl ? c : undefined;
  }

  /**
   * Asks the CA about the certificate in use for `t` when its poll is due; resolves when done
   * (never rejects). A directory that cannot be fetched counts as a failed poll (retried in an hour).
   */
  async poll(t: Target, p: ProviderRef, pem: string): Promise<void> {
    const { repo, clock, logger } = this.deps;
    const certId = certIdOf(pem);
    if (certId === undefined) return;
    const prev = repo.record(t).ari;
    const now = clock.now().getTime();
    if (!ariPollDue(prev, certId, now)) return;
    let snap: CaSnapshot;
    try {
      snap = await this.directory(p);
    } catch (e) {
      this.save(t, nextAriState(prev, certId, { ok: false, reason: (e as Error).message, retryAfterS: ARI_RETRY_MIN_S, checkedAt: now }));
      return;
    }
    // No ARI at this CA: nothing to keep; the lifetime rule plans the renewal.
    if (snap.renewalInfo === undefined) {
      if (prev !== undefined) this.save(t, undefined);
      return;
    }
    const r = await this.deps.ca.renewalInfo(snap.renewalInfo, certId);
    if (!r.ok) logger.log({ event: 'acme.ari-failed', level: 'warn', target: t.name, reason: r.reason });
    this.save(t, nextAriState(prev, certId, r));
  }

  /** The CA's window for this very certificate, when one was received. */
  window(t: Target, pem: string): RenewalWindow | undefined {
    const id = certIdOf(pem);
    return id === undefined ? undefined : ariWindowFor(this.deps.repo.record(t).ari, id);
  }

  /**
   * When the next poll about the certificate in use (`pem`) is due, if ARI is followed for it.
   * A certificate not asked about yet, at a CA whose directory offers ARI, is due now: a deploy's
   * own wake-up may be overtaken by the renewal job's next arming, and the first window of a new
   * certificate must not wait for the hourly tick. That cannot wake the job in a loop: `poll`
   * keeps a state for this certificate whatever the answer (or forgets ARI when the CA dropped it).
   */
  nextCheck(t: Target, pem: string): number | undefined {
    const id = certIdOf(pem);
    if (id === undefined) return undefined;
    const s = this.deps.repo.record(t).ari;
    if (s !== undefined && s.certId === id) return s.nextCheck;
    return this.deps.repo.ca?.renewalInfo !== undefined ? this.deps.clock.now().getTime() : undefined;
  }

  /** RFC 9773 `replaces` for an order renewing `pem`: only when the CA offers ARI. */
  replaces(snap: CaSnapshot | undefined, pem: string | undefined): string | undefined {
    return snap?.renewalInfo !== undefined && pem !== undefined ? certIdOf(pem) : undefined;
  }

  private save(t: Target, ari: AriState | undefined): void {
    this.deps.repo.update(t, { ari });
  }
}
