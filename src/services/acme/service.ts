// The ACME certificate service: accounts per provider, one order at a time per target (the server
// certificate or a hosted SNI domain), the staged (pending) certificate, deploy through the
// listener's live swap, revocation, automated renewal and its alarms, and the status subtree.
// Decisions live in scheduler.ts and status.ts (pure); this file applies them.
import crypto from 'node:crypto';
import type {
  AcmeDeployResult, AcmePendingCertificate, AcmeProvider, AcmeRevokeResult, AcmeService, AcmeSignResult,
  Actor, AlarmService, CertificateInfo, CertificateService, ConfigService, EventSink, RevocationReason, StateStore,
  StatusService, StatusTree, TrustStore, UploadArea,
} from '../interfaces.js';
import { KEY_TYPES } from '../../../schema/sets.js';
import { CommandError, DomainNotHosted, ParameterError, diskFailure } from '../../errors.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import { AcmeFiles, ARCHIVE_PREFIX } from './files.js';
import { AcmeClientIssuer, Deadline, DEFAULT_ISSUER_LIMITS, generateKey, makeCsr, raceAbort, type CertificateIssuer, type ProviderRef } from './issuer.js';
import { failureError, OrderFailure, type Failure } from './reasons.js';
import { ChallengeResponder, type ChallengeHost } from './responder.js';
import { backoff, plan, type Plan } from './scheduler.js';
import { lifetimeOf, splitChain, stagedLifetime } from './chain.js';
import { DEFAULT_LIMITS, REVOCATION_CODES, type AcmeLimits } from './settings.js';
import { RenewalJob, alarmId, label } from './renewal.js';
import { AcmeAccounts, type AccountRecords } from './accounts.js';
import { certificateFromFile, checkRevocation } from './revoke.js';
import { acmeOwner } from './owner.js';
export { DIRECTORIES, REVOCATION_CODES, DEFAULT_LIMITS, type AcmeLimits } from './settings.js';
import { acmeTree, iso, NO_DEPLOY, NO_SIGN, type AccountStatus, type DeployStatus, type Outcome, type SignStatus, type TargetView } from './status.js';

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
  /** A fresh TLS handshake with the HTTPS listener: the serial it presents for `servername`. */
  readonly probe?: (servername: string | undefined) => Promise<string>;
  /** <data>/acme */
  readonly dir: string;
  readonly clock: Clock;
  /** Random source in [0, 1): the scheduler seed and retry jitter come from it. */
  readonly random: () => number;
  readonly logger: Logger;
  readonly issuer?: CertificateIssuer;
  readonly limits?: Partial<AcmeLimits>;
}


interface TargetRecord {
  lastSign: Outcome<SignStatus>;
  lastDeploy: Outcome<DeployStatus>;
  latest?: 'sign' | 'deploy';
  signNotBefore?: number;
  deployNotBefore?: number;
}

interface Persisted {
  seed: string;
  accounts: AccountRecords;
  targets: Record<string, TargetRecord>;
}

interface Running {
  readonly abort: AbortController;
  done?: Promise<AcmeSignResult>;
  progress: string;
}

const STATE_KEY = 'acme';
const SERVER = 'server';
const MAX_CERT_FILE = 64 * 1024;

const targetKey = (domain: string | undefined) => (domain === undefined ? SERVER : `domain:${domain}`);

export class AcmeClientService implements AcmeService {
  private readonly files: AcmeFiles;
  private readonly limits: AcmeLimits;
  private readonly issuer: CertificateIssuer;
  private readonly responder: ChallengeResponder;
  private readonly running = new Map<string, Running>();
  private readonly deploying = new Set<string>();
  private data: Persisted;
  private readonly job: RenewalJob;
  private readonly accounts: AcmeAccounts;
  private unsubscribe?: () => void;

  constructor(private readonly deps: AcmeServiceDeps) {
    this.files = new AcmeFiles(deps.dir);
    this.limits = { ...DEFAULT_LIMITS, ...deps.limits };
    this.issuer = deps.issuer ?? new AcmeClientIssuer(() => deps.trust.caPems(), { ...DEFAULT_ISSUER_LIMITS, requestTimeoutMs: this.limits.requestTimeoutMs }, deps.random);
    this.responder = new ChallengeResponder(deps.challengeHost);
    const loaded = deps.state.read<Persisted>(STATE_KEY);
    this.data = {
      seed: loaded?.seed ?? crypto.createHash('sha256').update(String(deps.random()) + String(deps.random())).digest('hex'),
      accounts: loaded?.accounts ?? {},
      targets: loaded?.targets ?? {},
    };
    // An order cut short by a restart is over; say so rather than show InProgress forever.
    for (const t of Object.values(this.data.targets)) {
      if (t.lastSign.status === 'InProgress') t.lastSign = { status: 'Failed', time: t.lastSign.time, reason: 'Interrupted by a restart' };
    }
    this.save();
    this.accounts = new AcmeAccounts({
      config: deps.config, files: this.files, issuer: this.issuer, clock: deps.clock, timeoutMs: this.limits.orderTimeoutMs,
      records: this.data.accounts, save: () => { this.save(); this.changed(); }, audit: (...a) => this.audit(...a),
    });
    this.job = new RenewalJob({
      targets: () => [undefined, ...this.deps.certificates.domains().map((d) => d.name.toLowerCase())],
      plan: (d) => this.planFor(d),
      deployed: (d) => this.deployed(d),
      automated: () => this.deps.config.value('Security Acme Scheduler Mode') === 'On',
      signing: (d) => this.running.has(targetKey(d)),
      sign: (d) => this.automatedSign(d),
      deploy: (d) => this.deploy(d, SCHEDULER).catch(() => undefined),
      changed: () => this.changed(),
    }, { clock: deps.clock, alarms: deps.alarms, logger: deps.logger, tickMaxMs: this.limits.tickMaxMs, alarmCheckMs: this.limits.alarmCheckMs });
    // The service owns `Security Acme` from the start, so its rules hold for every commit.
    this.unsubscribe = deps.config.own(acmeOwner(this));
  }

  /** Starts the renewal job and the alarm watchdog. */
  start(): void {
    this.job.start();
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
    const pending = [...this.running.values()];
    for (const r of pending) r.abort.abort(new Error('service stopped'));
    await Promise.all(pending.map((r) => r.done));
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

  // ---- account ----

  acceptTerms(actor: Actor): Promise<{ termsUrl: string; accountUrl: string; provider: AcmeProvider }> {
    return this.accounts.acceptTerms(actor);
  }

  // ---- targets ----

  private checkDomain(domain: string | undefined): string | undefined {
    if (domain === undefined || domain === '') return undefined;
    const n = domain.toLowerCase().replace(/\.$/, '');
    if (!this.deps.certificates.domains().some((d) => d.name.toLowerCase() === n)) {
      throw new DomainNotHosted(n).needs('AddDomain');
    }
    return n;
  }

  private record(domain: string | undefined): TargetRecord {
    const k = targetKey(domain);
    return (this.data.targets[k] ??= { lastSign: NO_SIGN, lastDeploy: NO_DEPLOY });
  }

  private deployed(domain: string | undefined): { info: CertificateInfo; acme: boolean } | undefined {
    if (domain === undefined) {
      const a = this.deps.certificates.active();
      return { info: a.info, acme: a.source === 'Acme' };
    }
    const d = this.deps.certificates.domains().find((x) => x.name.toLowerCase() === domain);
    return d?.certificate ? { info: d.certificate.info, acme: d.certificate.source === 'Acme' } : undefined;
  }

  /** What to order: the saved CSR (server) or the domain's own key and a CSR for its name. */
  private async request(domain: string | undefined): Promise<{ csrPem: string; keyPem: string; names: string[] }> {
    if (domain === undefined) {
      const csr = this.deps.certificates.csr();
      const keyPem = this.deps.certificates.csrKeyPem();
      if (!csr || !keyPem) throw new CommandError('No CSR is in progress').needs('CreateCsr');
      const names = [...new Set([csr.commonName, ...csr.alternativeNames].filter((n) => n !== '').map((n) => n.toLowerCase()))];
      return { csrPem: csr.pem, keyPem, names };
    }
    let keyPem = this.files.domainKey(domain);
    if (!keyPem) {
      const type = this.deps.certificates.csr()?.keyType ?? this.deps.certificates.active().info.keyType;
      keyPem = await generateKey(KEY_TYPES.find((k) => k === type) ?? 'ECDSA-P256');
      this.files.writeDomainKey(domain, keyPem);
    }
    return { csrPem: await makeCsr(keyPem, [domain]), keyPem, names: [domain] };
  }

  // ---- sign ----

  async sign(domainIn: string | undefined, wait: boolean, actor: Actor): Promise<AcmeSignResult> {
    const domain = this.checkDomain(domainIn);
    const k = targetKey(domain);
    if (this.running.has(k)) throw new CommandError(`An ACME order for ${label(domain)} is already running`);
    const p = this.accounts.provider();
    const account = this.accounts.require(p);
    if (domain === undefined) await this.request(undefined); // refuse now when there is no CSR
    this.audit(actor, 'Security Acme Sign', 'started', { target: domain ?? 'server', provider: p.name });
    const done = this.startOrder(domain, p, account);
    if (!wait) return { status: 'InProgress', reason: '' };
    let timer: { cancel(): void } | undefined;
    const waited = await Promise.race([
      done,
      new Promise<undefined>((resolve) => { timer = this.deps.clock.setTimeout(() => resolve(undefined), this.limits.waitMaxMs); }),
    ]);
    timer?.cancel();
    return waited ?? { status: 'InProgress', reason: `Still signing after ${Math.round(this.limits.waitMaxMs / 1000)} s: see xStatus Security Acme LastSign` };
  }

  /** Runs the order in the background; the promise always resolves. */
  private startOrder(domain: string | undefined, p: ProviderRef, account: { keyPem: string; url: string }): Promise<AcmeSignResult> {
    const k = targetKey(domain);
    const rec = this.record(domain);
    rec.latest = 'sign';
    rec.lastSign = { status: 'InProgress', time: this.nowIso(), reason: '' };
    this.save();
    const abort = new AbortController();
    const run: Running = { abort, progress: 'Starting' };
    this.running.set(k, run);
    this.progress(domain, 'Starting');
    const done = this.order(domain, p, account, run).finally(() => {
      this.running.delete(k);
      this.changed();
      this.job.reschedule();
    });
    run.done = done;
    return done;
  }

  private async order(domain: string | undefined, p: ProviderRef, account: { keyPem: string; url: string }, run: Running): Promise<AcmeSignResult> {
    const rec = this.record(domain);
    let failure: Failure | undefined;
    for (let attempt = 0; attempt < this.limits.orderAttempts; attempt++) {
      const orderId = crypto.randomUUID();
      const attemptAbort = new AbortController();
      const onOuter = () => attemptAbort.abort(run.abort.signal.reason);
      run.abort.signal.addEventListener('abort', onOuter, { once: true });
      const timer = this.deps.clock.setTimeout(() => attemptAbort.abort(new Deadline(Math.round(this.limits.orderTimeoutMs / 1000))), this.limits.orderTimeoutMs);
      try {
        const req = await this.request(domain);
        // The issuer honours the signal; the race makes sure a stuck one cannot hold the target.
        const pem = await raceAbort(this.issuer.order(p, account, {
          csrPem: req.csrPem,
          names: req.names,
          signal: attemptAbort.signal,
          progress: (step) => this.progress(domain, step),
          challenges: {
            open: (tokens) => this.responder.open(orderId, tokens),
            close: () => this.responder.close(orderId),
            fetched: () => this.responder.fetched(orderId),
          },
        }), attemptAbort.signal, p.directoryUrl);
        const pending = this.stage(domain, p.name, pem, req.keyPem);
        rec.latest = 'sign';
        rec.lastSign = { status: 'Succeeded', time: this.nowIso(), reason: '' };
        rec.signNotBefore = undefined;
        this.save();
        this.deps.alarms.lower(alarmId('failing', domain));
        this.event(domain, 'Succeeded', `Signed ${pending.serial}`);
        this.deps.logger.log({ event: 'acme.signed', target: domain ?? 'server', serial: pending.serial, provider: p.name });
        return { status: 'Succeeded', reason: '', pending };
      } catch (e) {
        failure = e instanceof OrderFailure ? e.failure
          : e instanceof CommandError || e instanceof ParameterError ? { kind: 'local', reason: e.message, retryable: false }
            : { kind: 'local', reason: diskFailure(e)?.message ?? 'Internal error while signing; see the log', retryable: false };
        if (!(e instanceof OrderFailure)) this.deps.logger.log({ event: 'acme.sign-error', level: 'error', error: String(e) });
        const more = failure.retryable && attempt + 1 < this.limits.orderAttempts && !run.abort.signal.aborted;
        if (!more) break;
        const wait = backoff(attempt, this.limits.retryBaseMs, this.limits.retryCapMs, this.deps.random());
        this.progress(domain, `Retrying in ${Math.ceil(wait / 1000)} s: ${failure.reason}`);
        await this.sleep(wait, run.abort.signal);
      } finally {
        timer.cancel();
        run.abort.signal.removeEventListener('abort', onOuter);
        // Whatever happened, this order's tokens are no longer answered.
        this.responder.close(orderId);
      }
    }
    const f = failure ?? { kind: 'local', reason: 'The order did not run', retryable: false };
    this.accounts.note(p, f);
    rec.latest = 'sign';
    rec.lastSign = { status: 'Failed', time: this.nowIso(), reason: f.reason };
    // Automated attempts resume at the next drawn moment after now (or after a rate limit ends).
    rec.signNotBefore = Math.max(f.notBefore ?? 0, this.deps.clock.now().getTime() + 1);
    this.save();
    // A cancelled order (stop, restart) says nothing about the CA: no alarm for it.
    if (this.deps.config.value('Security Acme Scheduler Mode') === 'On' && f.kind !== 'cancelled') {
      this.deps.alarms.raise(alarmId('failing', domain), `ACME renewal of ${label(domain)} is failing: ${f.reason}`, 'Error');
    }
    this.event(domain, 'Failed', f.reason);
    this.deps.logger.log({ event: 'acme.sign-failed', level: 'warn', target: domain ?? 'server', reason: f.reason });
    return { status: 'Failed', reason: f.reason };
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const t = this.deps.clock.setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
      const onAbort = () => { t.cancel(); resolve(); };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Checks what the CA sent against the key, then stages it (one file) and archives a copy. */
  private stage(domain: string | undefined, provider: AcmeProvider, pem: string, keyPem: string): CertificateInfo {
    let parts: ReturnType<typeof splitChain>;
    try {
      parts = splitChain(pem);
    } catch (e) {
      throw new OrderFailure({ kind: 'refused', retryable: false, reason: `The CA sent an unreadable certificate: ${(e as Error).message}` });
    }
    const leaf = new crypto.X509Certificate(parts.leaf);
    if (!leaf.checkPrivateKey(crypto.createPrivateKey(keyPem))) {
      throw new OrderFailure({ kind: 'refused', retryable: false, reason: 'The CA sent a certificate that does not match the CSR key' });
    }
    const full = parts.leaf + parts.chain.join('');
    this.files.writePending(domain, { pem: full, keyPem, provider, signed: this.nowIso() });
    this.files.archiveCertificate(parts.info.serial, full);
    return parts.info;
  }

  // ---- pending ----

  pending(domainIn: string | undefined): AcmePendingCertificate | undefined {
    const domain = this.checkDomain(domainIn);
    const staged = this.files.readPending(domain);
    if (!staged) return undefined;
    const { info } = splitChain(staged.pem);
    return { info, pem: staged.pem, provider: staged.provider, signed: staged.signed };
  }

  discardPending(domainIn: string | undefined, actor: Actor): CertificateInfo {
    const domain = this.checkDomain(domainIn);
    const p = this.pending(domain);
    if (!p) throw new CommandError(`There is no pending ACME certificate for ${label(domain)}`);
    this.files.removePending(domain);
    this.audit(actor, 'Security Acme Pending Discard', 'discarded', { target: domain ?? 'server', serial: p.info.serial });
    this.changed();
    this.job.reschedule(0);
    return p.info;
  }

  // ---- deploy ----

  async deploy(domainIn: string | undefined, actor: Actor): Promise<AcmeDeployResult> {
    const domain = this.checkDomain(domainIn);
    const staged = this.files.readPending(domain);
    if (!staged) throw new CommandError(`There is no pending ACME certificate for ${label(domain)}`).needs('Sign');
    const k = targetKey(domain);
    if (this.deploying.has(k)) throw new CommandError(`A deploy of ${label(domain)} is already running`);
    this.deploying.add(k);
    const rec = this.record(domain);
    const parts = splitChain(staged.pem);
    const before = this.deployed(domain);
    const previous = before ? this.files.archiveCertificate(before.info.serial, this.currentPem(domain) ?? '') : '';
    try {
      const installed = domain === undefined
        ? await this.deps.certificates.deploy(parts.leaf, parts.chain, staged.keyPem, 'Acme', actor)
        : await this.deps.certificates.deployDomain(domain, parts.leaf, parts.chain, staged.keyPem, 'Acme', actor);
      const served = await this.served(domain);
      if (served !== undefined && served !== installed.info.serial) {
        if (domain === undefined) await this.deps.certificates.rollback(actor).catch(() => undefined);
        throw new CommandError(`After the swap the listener still presents serial ${served}, not ${installed.info.serial}; the previous certificate is back`);
      }
      this.files.removePending(domain);
      rec.latest = 'deploy';
      rec.lastDeploy = { status: 'Succeeded', time: this.nowIso(), reason: '' };
      rec.deployNotBefore = undefined;
      this.save();
      this.audit(actor, 'Security Acme Deploy', 'deployed', { target: domain ?? 'server', serial: installed.info.serial });
      this.event(domain, 'Deployed', installed.info.serial);
      this.job.checkAlarms();
      return { certificate: installed.info, servedSerial: served ?? installed.info.serial, previous };
    } catch (e) {
      const reason = e instanceof Error && 'code' in e ? (diskFailure(e)?.message ?? e.message) : 'Internal error while deploying; see the log';
      if (!(e instanceof CommandError || e instanceof ParameterError)) this.deps.logger.log({ event: 'acme.deploy-error', level: 'error', error: String(e) });
      rec.latest = 'deploy';
      rec.lastDeploy = { status: 'Failed', time: this.nowIso(), reason };
      rec.deployNotBefore = this.deps.clock.now().getTime() + 60_000;
      this.save();
      this.event(domain, 'DeployFailed', reason);
      throw e instanceof CommandError || e instanceof ParameterError ? e : new CommandError(reason);
    } finally {
      this.deploying.delete(k);
      this.changed();
      this.job.reschedule(0);
    }
  }

  private currentPem(domain: string | undefined): string | undefined {
    if (domain === undefined) return this.deps.certificates.active().certPem;
    return this.deps.certificates.domains().find((d) => d.name.toLowerCase() === domain)?.certificate?.certPem;
  }

  /** The serial a fresh handshake sees, when a probe is wired; undefined otherwise. */
  private async served(domain: string | undefined): Promise<string | undefined> {
    if (!this.deps.probe) return undefined;
    return (await this.deps.probe(domain)).toUpperCase();
  }

  // ---- revoke ----

  async revoke(certPath: string, providerIn: AcmeProvider | undefined, reason: RevocationReason, actor: Actor): Promise<AcmeRevokeResult> {
    // Both places a certificate to revoke may be, named up front (the upload area alone would
    // answer "files must be in /tmp").
    if (certPath.startsWith('/') && !certPath.startsWith('/tmp/') && !certPath.startsWith(ARCHIVE_PREFIX)) {
      throw new ParameterError(`Invalid CertPath ${JSON.stringify(certPath.slice(0, 80))}: expected /tmp/<file> (upload area) or ${ARCHIVE_PREFIX}<serial>.pem`);
    }
    const raw = certPath.startsWith(ARCHIVE_PREFIX)
      ? this.files.readArchived(certPath, MAX_CERT_FILE)
      : this.deps.uploads.read(certPath, MAX_CERT_FILE);
    const { info, pem } = certificateFromFile(raw, certPath);
    const providerName = providerIn ?? this.deps.config.value('Security Acme Provider');
    const { provider: p, account } = this.accounts.forRevocation(providerName);
    const domains = this.deps.certificates.domains();
    checkRevocation({
      target: info,
      provider: providerName,
      inUse: [this.deps.certificates.active().info, ...domains.flatMap((d) => (d.certificate ? [d.certificate.info] : []))],
      pending: [undefined, ...domains.map((d) => d.name.toLowerCase())].flatMap((d) => {
        const staged = this.files.readPending(d);
        return staged ? [{ info: splitChain(staged.pem).info, provider: staged.provider }] : [];
      }),
    });
    const abort = new AbortController();
    const timer = this.deps.clock.setTimeout(() => abort.abort(new Deadline(Math.round(this.limits.orderTimeoutMs / 1000))), this.limits.orderTimeoutMs);
    try {
      const answer = await this.issuer.revoke(p, account, pem, REVOCATION_CODES[reason], abort.signal);
      this.audit(actor, 'Acmerevoke', 'revoked', { serial: info.serial, provider: providerName, reason });
      return { serial: info.serial, reason, answer };
    } catch (e) {
      if (e instanceof OrderFailure) {
        this.audit(actor, 'Acmerevoke', 'failed', { serial: info.serial, provider: providerName, reason: e.message });
        throw failureError(e);
      }
      throw e;
    } finally {
      timer.cancel();
    }
  }

  // ---- automated mode ----

  private planFor(domain: string | undefined): Plan {
    const automated = this.deps.config.value('Security Acme Scheduler Mode') === 'On' && this.accounts.status().status === 'Valid';
    const deployed = this.deployed(domain);
    // Domains join automated renewal once ACME has deployed their certificate.
    if (domain !== undefined && !deployed?.acme) return {};
    const staged = this.files.readPending(domain);
    const rec = this.record(domain);
    return plan({
      now: this.deps.clock.now().getTime(),
      automated,
      deployed: deployed ? { ...lifetimeOf(deployed.info), acme: deployed.acme } : undefined,
      pending: staged ? { ...stagedLifetime(staged.pem), signed: Date.parse(staged.signed) } : undefined,
      signing: this.running.has(targetKey(domain)),
      signNotBefore: rec.signNotBefore,
      deployNotBefore: rec.deployNotBefore,
      schedule: { days: this.deps.config.value('Security Acme Scheduler Days'), time: this.deps.config.value('Security Acme Scheduler Time') },
      periodMs: this.limits.signPeriodMs,
      seed: this.data.seed,
    });
  }

  /** An automated order; what stops it from starting is recorded like a failed order. */
  private async automatedSign(domain: string | undefined): Promise<unknown> {
    try {
      const p = this.accounts.provider();
      const account = this.accounts.require(p);
      if (domain === undefined) await this.request(undefined);
      return await this.startOrder(domain, p, account);
    } catch (e) {
      const rec = this.record(domain);
      const reason = (e as Error).message;
      rec.latest = 'sign';
      rec.lastSign = { status: 'Failed', time: this.nowIso(), reason };
      rec.signNotBefore = this.deps.clock.now().getTime() + this.limits.tickMaxMs;
      this.save();
      this.deps.alarms.raise(alarmId('failing', domain), `ACME renewal of ${label(domain)} is failing: ${reason}`, 'Error');
      this.changed();
      return undefined;
    }
  }

  /** True while the HTTP listener answers some order's challenges (for tests and diagnostics). */
  challengesActive(): boolean {
    return this.responder.active;
  }

  // ---- status ----

  private view(domain: string | undefined, account: AccountStatus): TargetView {
    const rec = this.data.targets[targetKey(domain)] ?? { lastSign: NO_SIGN, lastDeploy: NO_DEPLOY };
    const staged = this.files.readPending(domain);
    let pending: TargetView['pending'];
    if (staged) {
      try {
        const { info } = splitChain(staged.pem);
        pending = { subject: info.subject, serial: info.serial, notAfter: info.notAfter };
      } catch {
        pending = undefined;
      }
    }
    const pl = this.planFor(domain);
    const run = this.running.get(targetKey(domain));
    return {
      account,
      automated: this.deps.config.value('Security Acme Scheduler Mode') === 'On',
      signing: run !== undefined,
      progress: run?.progress ?? '',
      lastSign: rec.lastSign,
      lastDeploy: rec.lastDeploy,
      latest: rec.latest,
      pending,
      deployedByAcme: this.deployed(domain)?.acme ?? false,
      nextSign: pl.nextSign === undefined ? undefined : Math.max(pl.nextSign, this.deps.clock.now().getTime()),
      nextDeploy: pl.nextDeploy === undefined ? undefined : Math.max(pl.nextDeploy, this.deps.clock.now().getTime()),
    };
  }

  status(): StatusTree {
    try {
      const acct = this.accounts.status();
      const domains = this.deps.certificates.domains().map((d) => ({ name: d.name.toLowerCase(), ...this.view(d.name.toLowerCase(), acct.status) }));
      return acmeTree(acct.provider, acct.status, acct.record?.termsUrl ?? '', this.view(undefined, acct.status), domains);
    } catch (e) {
      this.deps.logger.log({ event: 'acme.status-error', level: 'error', error: String(e) });
      return { Status: 'Failed' };
    }
  }

  // ---- helpers ----

  private progress(domain: string | undefined, step: string): void {
    const run = this.running.get(targetKey(domain));
    if (run) run.progress = step;
    this.event(domain, 'InProgress', step);
  }

  private event(domain: string | undefined, status: string, detail: string): void {
    this.deps.events.emit('AcmeProgress', { Target: domain ?? 'Server', Status: status, Detail: detail });
    this.changed();
  }

  private changed(): void {
    this.deps.status.changed(['Security', 'Acme']);
  }

  private save(): void {
    this.deps.state.write(STATE_KEY, this.data);
  }

  private nowIso(): string {
    return iso(this.deps.clock.now().getTime());
  }

  private audit(actor: Actor, what: string, result: string, extra: Record<string, unknown> = {}): void {
    this.deps.logger.audit({ who: actor.user, from: actor.remote, session: actor.session, what, result, ...extra });
  }
}

/** The actor for automated work, in audit lines. */
export const SCHEDULER: Actor = { user: 'scheduler', role: 'Admin', remote: 'local', session: 'acme-scheduler' };
