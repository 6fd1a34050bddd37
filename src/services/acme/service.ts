// The ACME certificate service, as the commands see it. It wires the parts and reads at once:
//   accounts.ts   one account per provider          runner.ts    the order loop (sign, retry, stage)
//   pending.ts    what is persisted, per target     deployer.ts  deploy, check the handshake, roll back
//   views.ts      the renewal plan and status view  renewal.ts   the automated job and its alarms
//   revoker.ts    revocation (rules in revoke.ts)   target.ts    the server certificate or a domain
//   ari-watch.ts  the CA's directory (profiles) and renewal windows (ARI), polled and kept
//   solvers.ts    DNS-01 / TLS-ALPN-01 answers      responder.ts HTTP-01 answers
//   board.ts      the cluster's shared answers (every peer serves every order's challenges)
// Decisions live in scheduler.ts and status.ts (pure).
import type {
  AcmeDeployResult, AcmePendingCertificate, AcmeProvider, AcmeRevokeResult, AcmeService, AcmeSignResult,
  Actor, AlarmService, CertificateInfo, CertificateService, ConfigService, EventSink, RevocationReason, StateStore,
  StatusService, StatusTree, TlsService, TrustStore, UploadArea,
} from '../interfaces.js';
import type { ChallengeTypeWord } from '../../../schema/sets.js';
import { ChallengeSolvers, wildcardProblem } from './solvers.js';
import { isWildcard } from '../certs/domain-name.js';
import type { ProbeReport } from './dns/index.js';
import { CommandError, DomainNotHosted, NameLocked, OrderLockLost, ParameterError } from '../../errors.js';
import { acmeOwner } from './owner.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import { AcmeStore } from '../../stores/acme.js';
import type { Storage } from '../../stores/storage.js';
import { AcmeClientIssuer, DEFAULT_ISSUER_LIMITS, type CertificateIssuer, type ProviderRef } from './issuer.js';
import { ChallengeResponder, type ChallengeHost } from './responder.js';
import type { ChallengeBoard } from './board.js';
import { splitChain } from './chain.js';
import { DEFAULT_LIMITS, type AcmeLimits } from './settings.js';
import { RenewalJob } from './renewal.js';
import { AcmeAccounts, type AcceptTermsResult } from './accounts.js';
import { Revoker } from './revoker.js';
import { PendingRepository } from './pending.js';
import { OrderRunner, failedRecord, type AccountRef, type OrderInputs } from './runner.js';
import { AriWatch } from './ari-watch.js';
import { HttpsCaDirectory, type CaDirectory } from './ca-directory.js';
import type { CaSnapshot } from './pending.js';
import { orderProfile } from './profiles.js';
import { Deployer, deployedOf } from './deployer.js';
import { planFor, targetView, type ViewSources } from './views.js';
import { ALARM_KINDS, SERVER_TARGET, alarmId, domainOrderNames, domainTarget, type Target } from './target.js';
import { NO_DRY_RUN, acmeTree, iso, type DryRunStatus, type Outcome } from './status.js';
import { LOCAL_ORDER_LOCK, type OrderLock } from './order-lock.js';
import type { RenewalSlot } from './scheduler.js';
export { DIRECTORIES, REVOCATION_CODES, DEFAULT_LIMITS, type AcmeLimits } from './settings.js';

export interface AcmeServiceDeps {
  readonly config: Pick<ConfigService, 'value' | 'own'>;
  readonly state: StateStore;
  readonly status: Pick<StatusService, 'changed'>;
  readonly alarms: AlarmService;
  readonly events: EventSink;
  readonly uploads: UploadArea;
  readonly trust: Pick<TrustStore, 'caPems'>;
  readonly certificates: Pick<CertificateService, 'active' | 'csr' | 'csrKeyPem' | 'deploy' | 'rollback' | 'domains' | 'deployDomain'>;
  /** The HTTP listener (TlsService). */
  readonly challengeHost: ChallengeHost;
  /** The HTTPS listener, for TLS-ALPN-01 challenge certificates. */
  readonly alpnHost?: Pick<TlsService, 'setAlpnChallenge'>;
  /** A fresh TLS handshake with the HTTPS listener: the serial it presents for `servername`. */
  readonly probe?: (servername: string | undefined) => Promise<string>;
  /** Account keys, staged certificates, the archive (acme/ in the storage), and the order locks. */
  readonly storage: Storage;
  readonly clock: Clock;
  /** Random source in [0, 1): the scheduler seed and retry jitter come from it. */
  readonly random: () => number;
  readonly logger: Logger;
  readonly issuer?: CertificateIssuer;
  /** The CA's directory and renewal information (default: HTTPS, trusting the trust store). */
  readonly caDirectory?: CaDirectory;
  readonly limits?: Partial<AcmeLimits>;
  /** Per-name locks shared with the other cluster peers (default: standalone, none). */
  readonly orderLock?: OrderLock;
  /** This peer's place among the cluster's peers, spreading their renewals (standalone: undefined). */
  readonly renewalSlot?: () => RenewalSlot | undefined;
}

/** An automated order refused because another peer orders the same name waits this long, then its next moment. */
const LOCKED_RETRY_MS = 600_000;

export class AcmeClientService implements AcmeService {
  private readonly limits: AcmeLimits;
  private readonly issuer: CertificateIssuer;
  private readonly responder: ChallengeResponder;
  private readonly repo: PendingRepository;
  private readonly accounts: AcmeAccounts;
  private readonly runner: OrderRunner;
  private readonly solvers: ChallengeSolvers;
  private readonly deployer: Deployer;
  private readonly revoker: Revoker;
  private readonly views: ViewSources;
  private readonly job: RenewalJob;
  private readonly ari: AriWatch;
  private readonly ca: CaDirectory;
  private readonly orderLock: OrderLock;
  /** The latest dry run per target: in memory only, since a dry run stores nothing. */
  private readonly dryRuns = new Map<string, Outcome<DryRunStatus>>();
  private unsubscribe?: () => void;
  /** The cluster's board while this peer is in a cluster. */
  private board: ChallengeBoard | undefined;

  constructor(private readonly deps: AcmeServiceDeps) {
    const { clock, logger, alarms, certificates, storage } = deps;
    this.limits = { ...DEFAULT_LIMITS, ...deps.limits };
    this.orderLock = deps.orderLock ?? LOCAL_ORDER_LOCK;
    this.issuer = deps.issuer ?? new AcmeClientIssuer(() => deps.trust.caPems(), { ...DEFAULT_ISSUER_LIMITS, requestTimeoutMs: this.limits.requestTimeoutMs }, deps.random);
    this.responder = new ChallengeResponder(deps.challengeHost);
    const files = new AcmeStore(storage);
    this.repo = new PendingRepository(deps.state, files, deps.random);
    const tryLock = (name: string) => storage.tryLock(name);
    this.ca = deps.caDirectory ?? new HttpsCaDirectory(() => deps.trust.caPems(), this.limits.requestTimeoutMs, clock);
    this.ari = new AriWatch({ ca: this.ca, repo: this.repo, clock, logger });
    this.accounts = new AcmeAccounts({
      config: deps.config, files, issuer: this.issuer, clock, timeoutMs: this.limits.orderTimeoutMs,
      records: this.repo.accounts, save: () => { this.repo.save(); this.changed(); }, audit: (...a) => this.audit(...a),
    });
    const event = (t: Target, status: string, detail: string) => this.event(t, status, detail);
    const repo = this.repo;
    this.solvers = new ChallengeSolvers({
      config: deps.config, clock, logger, alpnHost: deps.alpnHost, board: () => this.board,
      override: (t) => repo.record(t).challenge,
      ledger: {
        published: (t) => repo.record(t).published ?? [],
        setPublished: (t, values) => repo.update(t, { published: values.length ? [...values] : undefined }),
        leftovers: () => repo.leftovers(),
      },
    });
    this.runner = new OrderRunner({
      issuer: this.issuer, responder: this.responder, solvers: this.solvers, repo: this.repo, accounts: this.accounts, certificates, tryLock,
      limits: this.limits, clock, random: deps.random, alarms, logger, event,
      automated: () => this.cfg('Scheduler Mode') === 'On',
      finished: () => { this.changed(); this.job.reschedule(); },
    });
    this.deployer = new Deployer({
      certificates, repo: this.repo, probe: deps.probe, tryLock, clock, logger, event,
      audit: (...a) => this.audit(...a),
      deployed: () => this.job.checkAlarms(),
      finished: () => { this.changed(); this.job.reschedule(0); },
    });
    this.revoker = new Revoker({
      issuer: this.issuer, repo: this.repo, uploads: deps.uploads, accounts: this.accounts, certificates,
      provider: () => deps.config.value('Security Acme Provider'), clock, limits: this.limits, audit: (...a) => this.audit(...a),
    });
    this.views = {
      cfg: (k) => this.cfg(k), challengeType: (t) => this.solvers.typeOf(t), accountStatus: () => this.accounts.status().status, repo: this.repo, runner: this.runner,
      certificates, clock, limits: this.limits, ari: this.ari, dryRun: (t) => this.dryRuns.get(t.key) ?? NO_DRY_RUN,
      slot: () => deps.renewalSlot?.(),
    };
    this.job = new RenewalJob({
      targets: () => [SERVER_TARGET, ...certificates.domains().map((d) => domainTarget(d.name))],
      plan: (t) => planFor(this.views, t),
      deployed: (t) => deployedOf(certificates, t),
      automated: () => this.cfg('Scheduler Mode') === 'On',
      // A dry run holds the target's order lock: the job waits for it rather than fail to start.
      signing: (t) => this.runner.busy(t),
      sign: (t) => this.automatedSign(t),
      deploy: (t) => this.deployer.deploy(t, SCHEDULER).catch(() => undefined),
      changed: () => this.changed(),
      refresh: () => this.refreshAri(),
      // Only a poll that refresh() will make: a time it would skip would wake the job in a loop.
      nextCheck: (t) => {
        const d = deployedOf(certificates, t);
        return d?.acme && this.accounts.status().status === 'Valid' ? this.ari.nextCheck(t, d.pem) : undefined;
      },
      sweep: () => this.sweep(),
    }, { clock, alarms, logger, tickMaxMs: this.limits.tickMaxMs, alarmCheckMs: this.limits.alarmCheckMs, maxOrders: this.limits.maxOrders });
    // The service owns `Security Acme` from the start, so its rules hold for every commit.
    this.unsubscribe = deps.config.own(acmeOwner(this));
  }

  /**
   * Starts the renewal job and the alarm watchdog, and deletes DNS-01 records a crash mid-order
   * left behind (resolves when that is done; failures are logged and kept for the next start).
   */
  start(): Promise<void> {
    this.job.start();
    return this.solvers.cleanLeftovers().catch((e) => this.deps.logger.log({ event: 'acme.dns-leftovers', level: 'error', error: String(e) }));
  }

  /** The challenge type of a target: its own (Domain Add Challenge:), or the configured one. */
  challengeType(domain: string | undefined): ChallengeTypeWord {
    return this.solvers.typeOf(this.target(domain));
  }

  /** Sets a hosted domain's order options (Domain Add Challenge:, IncludeBase:); an absent challenge follows the configuration. */
  setDomainOrder(domain: string, options: { challenge?: ChallengeTypeWord; includeBase: boolean }): void {
    const t = this.target(domain);
    const r = this.repo.record(t);
    const includeBase = options.includeBase ? true : undefined;
    if (r.challenge !== options.challenge || r.includeBase !== includeBase) this.repo.update(t, { challenge: options.challenge, includeBase });
    this.changed();
  }

  /** Refuses wildcard names that `type` (default: the configured type) cannot prove (CSR Create). */
  checkNames(names: readonly string[], type?: ChallengeTypeWord): void {
    const wild = wildcardProblem(names.map((n) => n.toLowerCase()), type ?? this.deps.config.value('Security Acme Challenge Type'));
    if (wild) throw new ParameterError(wild);
  }

  /** Refuses a wildcard domain whose challenge type (`type`, or the configured one) is not DNS-01 (Domain Add). */
  checkDomainChallenge(domain: string, type?: ChallengeTypeWord): void {
    const used = type ?? this.deps.config.value('Security Acme Challenge Type');
    if (isWildcard(domain) && used !== 'Dns01') {
      throw new ParameterError(`The wildcard domain ${domain.toLowerCase()} needs the DNS-01 challenge, not ${used}`).needs('WildcardDns01');
    }
  }

  /** xCommand Security Acme Dns Test: a probe record added, seen, deleted. */
  dnsTest(domain: string | undefined): Promise<ProbeReport> {
    return this.solvers.test(domain);
  }

  /** A committed `Security Acme` change: status and the renewal plan follow it. */
  configured(): void {
    this.changed();
    this.job.reschedule(0);
  }

  /** Stops timers and cancels running orders (their answers stop at once). */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const job = this.job.stop();
    await this.runner.stop();
    await job;
  }

  /** Runs due automated work now (tests drive the simulated clock through this). */
  tick(): Promise<void> {
    return this.job.tick();
  }

  /** Raises or lowers the renewal alarms now. */
  checkAlarms(): void {
    this.job.checkAlarms();
  }

  /**
   * In a cluster (the cluster service calls this when it forms and, with undefined, when it stops):
   * this peer's orders publish their HTTP-01 and TLS-ALPN-01 answers on the board, and its
   * listeners serve every other peer's answers present there, only while they are.
   */
  shareChallenges(board: ChallengeBoard | undefined): void {
    this.board?.followAlpn(undefined);
    this.board = board;
    this.responder.share(board);
    board?.followAlpn((name, pair) => this.deps.alpnHost?.setAlpnChallenge(name, pair));
  }

  /** True while the HTTP listener answers some order's challenges (for tests and diagnostics). */
  challengesActive(): boolean {
    return this.responder.active;
  }

  async acceptTerms(actor: Actor, agree: boolean): Promise<AcceptTermsResult> {
    const r = await this.accounts.acceptTerms(actor, agree);
    // The directory comes with the account: xStatus lists its profiles from now on.
    if (r.agreed) {
      await this.ari.directory(this.accounts.provider(), true).then(() => this.changed(), (e: Error) => {
        this.deps.logger.log({ event: 'acme.directory-failed', level: 'warn', error: e.message });
      });
    }
    return r;
  }

  async sign(domain: string | undefined, wait: boolean, actor: Actor): Promise<AcmeSignResult> {
    const t = this.target(domain);
    // A dry run holds the order lock too: refused here, before the audit says an order started.
    if (this.runner.busy(t)) throw new CommandError(`An ACME order for ${t.label} is already running`);
    const p = this.accounts.provider();
    const account = this.accounts.require(p);
    if (t.domain === undefined) await this.runner.request(t); // refuse now when there is no CSR
    const { done } = await this.locked(t, async () => {
      const inputs = await this.orderInputs(t, p);
      this.audit(actor, 'Security Acme Sign', 'started', { target: t.name, provider: p.name, ...inputs });
      return { done: this.runner.start(t, p, account, inputs) };
    });
    return this.outcome(done, wait, 'Still signing', 'LastSign');
  }

  /**
   * `Sign DryRun: True`, as `certbot renew --dry-run`: the whole order against the configured CA
   * (LetsEncrypt: its staging directory), with a throwaway key, storing nothing (runner.dryRun).
   * It needs an account with that provider already (AcceptTerms); the configured profile is
   * checked against that CA's directory, fetched without touching the cached one. Only
   * `LastDryRun` changes, and only when the run ends.
   */
  async dryRun(domain: string | undefined, wait: boolean, actor: Actor): Promise<AcmeSignResult> {
    const t = this.target(domain);
    if (this.runner.busy(t)) throw new CommandError(`An ACME order for ${t.label} is already running`);
    const configured = this.accounts.provider();
    const p = configured.name === 'LetsEncrypt' ? this.accounts.provider('LetsEncryptStaging') : configured;
    const account = this.accounts.require(p);
    if (t.domain === undefined && !this.deps.certificates.csr()) throw new CommandError('No CSR is in progress').needs('CreateCsr');
    const profile = this.deps.config.value('Security Acme Profile');
    const ended = (r: AcmeSignResult): AcmeSignResult => {
      this.dryRuns.set(t.key, { status: r.status === 'Succeeded' ? 'Succeeded' : 'Failed', time: iso(this.deps.clock.now().getTime()), reason: r.reason });
      this.audit(actor, 'Security Acme Sign DryRun', r.status, { target: t.name, provider: p.name, ...(r.reason ? { reason: r.reason } : {}) });
      this.changed();
      return r;
    };
    const { done } = await this.locked(t, async () => {
      this.audit(actor, 'Security Acme Sign DryRun', 'started', { target: t.name, provider: p.name });
      return { done: this.dryRunOrder(t, p, account, profile).then(ended) };
    });
    return this.outcome(done, wait, 'Still running', 'LastDryRun');
  }

  /** The run's result when it ends within waitMaxMs (and the caller waits); InProgress otherwise. */
  private async outcome(done: Promise<AcmeSignResult>, wait: boolean, still: string, shown: 'LastSign' | 'LastDryRun'): Promise<AcmeSignResult> {
    if (!wait) return { status: 'InProgress', reason: '' };
    let timer: { cancel(): void } | undefined;
    const waited = await Promise.race([
      done,
      new Promise<undefined>((resolve) => { timer = this.deps.clock.setTimeout(() => resolve(undefined), this.limits.waitMaxMs); }),
    ]);
    timer?.cancel();
    return waited ?? { status: 'InProgress', reason: `${still} after ${Math.round(this.limits.waitMaxMs / 1000)} s: see xStatus Security Acme ${shown}` };
  }

  /** The dry run's order with the configured profile checked first; always resolves. */
  private dryRunOrder(t: Target, p: ProviderRef, account: AccountRef, profile: string): Promise<AcmeSignResult> {
    return (async (): Promise<AcmeSignResult> => {
      let inputs: { profile?: string } = {};
      if (profile !== '') {
        try {
          const chosen = orderProfile(profile, await this.ca.directory(p.directoryUrl));
          inputs = chosen !== undefined ? { profile: chosen } : {};
        } catch (e) {
          return { status: 'Failed', reason: (e as Error).message };
        }
      }
      return this.runner.dryRun(t, p, account, inputs);
    })().catch((e: Error): AcmeSignResult => ({ status: 'Failed', reason: e.message }));
  }

  /**
   * Starts an order holding the cluster's locks on the target's names (standalone: none), released
   * when it ends. Refused with NameLocked while another peer orders one of them: nothing started.
   */
  private async locked<T>(t: Target, start: () => Promise<{ done: Promise<T> }>): Promise<{ done: Promise<T> }> {
    const names = this.runner.names(t);
    const held = await this.orderLock.acquire(names);
    try {
      const started = await start();
      // A lock lost mid-order (this peer cut off from the cluster past the lease): another peer
      // may order the same names now, so this order stops.
      // Only while this very order runs: the next one for the target holds a lock of its own.
      let ended = false;
      held.onLost?.(() => { if (!ended) this.runner.cancel(t, new OrderLockLost(names)); });
      void started.done.finally(() => { ended = true; return held.release(); });
      return started;
    } catch (e) {
      await held.release();
      throw e;
    }
  }

  pending(domain: string | undefined): AcmePendingCertificate | undefined {
    const staged = this.repo.staged(this.target(domain));
    if (!staged) return undefined;
    const { info } = splitChain(staged.pem);
    return { info, pem: staged.pem, provider: staged.provider, signed: staged.signed };
  }

  discardPending(domain: string | undefined, actor: Actor): CertificateInfo {
    const t = this.target(domain);
    const p = this.pending(t.domain);
    if (!p) throw new CommandError(`There is no pending ACME certificate for ${t.label}`);
    this.repo.discard(t);
    this.audit(actor, 'Security Acme Pending Discard', 'discarded', { target: t.name, serial: p.info.serial });
    this.changed();
    this.job.reschedule(0);
    return p.info;
  }

  deploy(domain: string | undefined, actor: Actor): Promise<AcmeDeployResult> {
    return this.deployer.deploy(this.target(domain), actor);
  }

  forgetDomain(domain: string, actor: Actor): void {
    const t = domainTarget(domain.toLowerCase().replace(/\.$/, ''));
    if (this.runner.isRunning(t)) throw new CommandError(`An ACME order for ${t.label} is running: wait for it to end, then delete the domain`);
    const had = this.repo.staged(t) !== undefined || this.repo.files.domainKey(t.name) !== undefined;
    this.repo.forgetDomain({ ...t, domain: t.name });
    for (const kind of ['failing', 'overdue'] as const) this.deps.alarms.lower(alarmId(kind, t));
    if (had) this.audit(actor, 'Security Certificates Domain Delete', 'ACME key and pending certificate deleted', { target: t.name });
    this.changed();
  }

  async revoke(certPath: string, provider: AcmeProvider | undefined, reason: RevocationReason, actor: Actor): Promise<AcmeRevokeResult> {
    const r = await this.revoker.revoke(certPath, provider, reason, actor);
    // Should the revoked certificate be in use by now, its renewal cannot wait for the next tick.
    this.changed();
    this.job.reschedule(0);
    return r;
  }

  revokedSerials(): readonly string[] {
    return this.repo.revoked;
  }

  status(): StatusTree {
    try {
      const acct = this.accounts.status();
      const domains = this.deps.certificates.domains().map((d) => domainTarget(d.name)).map((t) => ({
        name: t.name,
        // A wildcard says what its orders name, the base included or not; a plain domain names itself.
        ...(isWildcard(t.name) ? { names: domainOrderNames(t.name, this.repo.record(t).includeBase === true).join(', ') } : {}),
        ...targetView(this.views, t, acct.status),
      }));
      let profiles: string[] = [];
      try {
        profiles = Object.keys(this.ari.cached(this.accounts.provider().directoryUrl)?.profiles ?? {});
      } catch { /* no usable provider: no directory either */ }
      return acmeTree(acct.provider, acct.status, acct.record?.termsUrl ?? '', profiles, targetView(this.views, SERVER_TARGET, acct.status), domains);
    } catch (e) {
      this.deps.logger.log({ event: 'acme.status-error', level: 'error', error: String(e) });
      return { Status: 'Failed' };
    }
  }

  /** An automated order; what stops it from starting is recorded like a failed order. */
  private async automatedSign(t: Target): Promise<unknown> {
    try {
      const p = this.accounts.provider();
      const account = this.accounts.require(p);
      if (t.domain === undefined) await this.runner.request(t);
      const { done } = await this.locked(t, async () => ({ done: this.runner.start(t, p, account, await this.orderInputs(t, p)) }));
      return await done;
    } catch (e) {
      // Another peer renews the same name now: no failure of this peer's, it tries again later.
      if (e instanceof NameLocked) {
        this.repo.update(t, { signNotBefore: this.deps.clock.now().getTime() + LOCKED_RETRY_MS });
        this.deps.logger.log({ event: 'acme.order-locked', target: t.name, reason: e.message });
        this.changed();
        return undefined;
      }
      const reason = (e as Error).message;
      this.repo.update(t, failedRecord(this.repo.record(t), { kind: 'local', reason, retryable: false }, this.deps.clock.now().getTime(), this.limits, this.deps.random()));
      this.deps.alarms.raise(alarmId('failing', t), `ACME renewal of ${t.label} is failing: ${reason}`, 'Error');
      this.changed();
      return undefined;
    }
  }

  /**
   * What the order asks for, from the CA's directory fetched now: the configured profile (a
   * CommandError naming the offered ones when the CA does not offer it), and, when the CA offers
   * ARI, `replaces` with the ID of the ACME certificate in use.
   */
  private async orderInputs(t: Target, p: ReturnType<AcmeAccounts['provider']>): Promise<OrderInputs> {
    const configured = this.deps.config.value('Security Acme Profile');
    let snap: CaSnapshot | undefined;
    try {
      snap = await this.ari.directory(p, true);
    } catch (e) {
      // Without a profile to check, the order itself says what is wrong with the CA.
      if (configured !== '') throw e;
      snap = this.ari.cached(p.directoryUrl);
    }
    const profile = orderProfile(configured, { meta: { profiles: snap?.profiles ?? {} } });
    const deployed = deployedOf(this.deps.certificates, t);
    const replaces = deployed?.acme ? this.ari.replaces(snap, deployed.pem) : undefined;
    return { ...(profile !== undefined ? { profile } : {}), ...(replaces !== undefined ? { replaces } : {}) };
  }

  /** Polls the CA's renewal information that is due for every certificate ACME manages. */
  private async refreshAri(): Promise<void> {
    try {
      if (this.accounts.status().status !== 'Valid') return;
      const p = this.accounts.provider();
      for (const t of this.job.host.targets()) {
        const d = deployedOf(this.deps.certificates, t);
        if (d?.acme) await this.ari.poll(t, p, d.pem);
      }
    } catch (e) {
      this.deps.logger.log({ event: 'acme.ari-error', level: 'error', error: String(e) });
    }
  }

  /** A domain no longer hosted stops renewing: its record, staged certificate, key and alarms go. */
  private sweep(): void {
    const hosted = new Set(this.deps.certificates.domains().map((d) => d.name.toLowerCase()));
    const gone = new Set<string>();
    for (const k of this.repo.keys()) if (k.startsWith('domain:') && !hosted.has(k.slice('domain:'.length))) gone.add(k.slice('domain:'.length));
    for (const n of this.repo.files.domainKeyNames()) if (!hosted.has(n)) gone.add(n);
    for (const a of this.deps.alarms.list()) {
      const m = /^acme\.renewal-(?:failing|overdue|urgent)\.(.+)$/.exec(a.id);
      if (m && !hosted.has(m[1]!)) gone.add(m[1]!);
    }
    for (const n of gone) {
      const t = domainTarget(n);
      if (this.runner.isRunning(t)) continue;
      for (const kind of ALARM_KINDS) this.deps.alarms.lower(alarmId(kind, t));
      this.repo.forget(t);
      this.deps.logger.log({ event: 'acme.forgotten', target: t.name });
    }
  }

  /** The target of a command's Domain parameter: the server certificate, or a hosted domain. */
  private target(domain: string | undefined): Target {
    if (domain === undefined || domain === '') return SERVER_TARGET;
    const n = domain.toLowerCase().replace(/\.$/, '');
    if (!this.deps.certificates.domains().some((d) => d.name.toLowerCase() === n)) {
      throw new DomainNotHosted(n).needs('AddDomain');
    }
    return domainTarget(n);
  }

  private cfg(key: 'Scheduler Mode' | 'Scheduler Days' | 'Scheduler Time'): string {
    return this.deps.config.value(`Security Acme ${key}`);
  }

  private event(t: Target, status: string, detail: string): void {
    this.deps.events.emit('AcmeProgress', { Target: t.event, Status: status, Detail: detail });
    this.changed();
  }

  private changed(): void {
    this.deps.status.changed(['Security', 'Acme']);
  }

  private audit(actor: Actor, what: string, result: string, extra: Record<string, unknown> = {}): void {
    this.deps.logger.audit({ who: actor.user, from: actor.remote, session: actor.session, what, result, ...extra });
  }
}

/** The actor for automated work, in audit lines. */
export const SCHEDULER: Actor = { user: 'scheduler', role: 'Admin', remote: 'local', session: 'acme-scheduler' };
