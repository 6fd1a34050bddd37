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
import { CommandError, ParameterError, Unavailable } from '../../errors.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import { parsePem } from '../certs/pem.js';
import { decodeCertificate } from '../certs/x509.js';
import { AcmeFiles, ARCHIVE_PREFIX } from './files.js';
import { AcmeClientIssuer, Deadline, DEFAULT_ISSUER_LIMITS, generateKey, makeCsr, type CertificateIssuer, type ProviderRef } from './issuer.js';
import { OrderFailure, type Failure } from './reasons.js';
import { ChallengeResponder, type ChallengeHost } from './responder.js';
import { backoff, DAY_MS, plan, renewalOverdue, type Lifetime, type Plan } from './scheduler.js';
import { acmeTree, iso, NO_DEPLOY, NO_SIGN, type AccountStatus, type DeployStatus, type Outcome, type SignStatus, type TargetView } from './status.js';

export const DIRECTORIES: Record<Exclude<AcmeProvider, 'Custom'>, string> = {
  LetsEncrypt: 'https://acme-v02.api.letsencrypt.org/directory',
  LetsEncryptStaging: 'https://acme-staging-v02.api.letsencrypt.org/directory',
};

export const REVOCATION_CODES: Record<RevocationReason, number> = {
  Unspecified: 0, KeyCompromise: 1, AffiliationChanged: 3, Superseded: 4, CessationOfOperation: 5,
};

export interface AcmeLimits {
  /** One order attempt, start to certificate. */
  readonly orderTimeoutMs: number;
  /** Order attempts when the failure may pass (CA unreachable, 5xx, nonce storms). */
  readonly orderAttempts: number;
  readonly retryBaseMs: number;
  readonly retryCapMs: number;
  /** Longest `Wait: True` blocks the shell; the order goes on afterwards. */
  readonly waitMaxMs: number;
  /** Two random sign moments per period (a day in production). */
  readonly signPeriodMs: number;
  /** The scheduler looks again at least this often. */
  readonly tickMaxMs: number;
  /** The overdue-alarm watchdog runs this often, whatever the scheduler does. */
  readonly alarmCheckMs: number;
  readonly requestTimeoutMs: number;
}

export const DEFAULT_LIMITS: AcmeLimits = {
  orderTimeoutMs: 120_000,
  orderAttempts: 3,
  retryBaseMs: 2_000,
  retryCapMs: 30_000,
  waitMaxMs: 150_000,
  signPeriodMs: DAY_MS,
  tickMaxMs: 3600_000,
  alarmCheckMs: 600_000,
  requestTimeoutMs: DEFAULT_ISSUER_LIMITS.requestTimeoutMs,
};

export interface AcmeServiceDeps {
  readonly config: Pick<ConfigService, 'get' | 'onChange'>;
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

interface AccountRecord {
  readonly directoryUrl: string;
  readonly url: string;
  readonly termsUrl: string;
  readonly status: 'Valid' | 'Deactivated';
  readonly created: string;
}

interface TargetRecord {
  lastSign: Outcome<SignStatus>;
  lastDeploy: Outcome<DeployStatus>;
  signNotBefore?: number;
  deployNotBefore?: number;
}

interface Persisted {
  seed: string;
  accounts: Partial<Record<AcmeProvider, AccountRecord>>;
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
const label = (domain: string | undefined) => (domain === undefined ? 'the server certificate' : `the certificate of ${domain}`);

function lifetimeOf(info: CertificateInfo): Lifetime {
  return { notBefore: Date.parse(info.notBefore), notAfter: Date.parse(info.notAfter) };
}

/** Leaf first; every block must be a certificate. */
function splitChain(pem: string): { leaf: string; chain: string[]; info: CertificateInfo } {
  const blocks = parsePem(pem, 'certificate chain');
  const decoded = blocks.map((b, i) => decodeCertificate(b, `Certificate ${i + 1} from the CA`));
  return { leaf: decoded[0]!.pem, chain: decoded.slice(1).map((d) => d.pem), info: decoded[0]!.info };
}

function stagedLifetime(pem: string): Lifetime {
  try {
    return lifetimeOf(splitChain(pem).info);
  } catch {
    return { notBefore: 0, notAfter: 0 };
  }
}

function namesOf(info: CertificateInfo): string[] {
  const names = info.subjectAltNames.filter((n) => !n.includes(':'));
  if (info.commonName && !info.commonName.includes(' ')) names.push(info.commonName);
  return [...new Set(names.map((n) => n.toLowerCase()))];
}

/** Rejects with a clear OrderFailure as soon as `signal` aborts, whatever `work` does. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal, directoryUrl: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      const r = signal.reason;
      let origin = directoryUrl;
      try { origin = new URL(directoryUrl).host; } catch { /* keep it */ }
      reject(new OrderFailure(r instanceof Deadline
        ? { kind: 'timeout', retryable: true, reason: `No answer from the CA at ${origin} within ${r.seconds} s` }
        : { kind: 'cancelled', retryable: false, reason: 'The order was cancelled' }));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export class AcmeClientService implements AcmeService {
  private readonly files: AcmeFiles;
  private readonly limits: AcmeLimits;
  private readonly issuer: CertificateIssuer;
  private readonly responder: ChallengeResponder;
  private readonly running = new Map<string, Running>();
  private readonly deploying = new Set<string>();
  private data: Persisted;
  private tickTimer?: { cancel(): void };
  private watchdogTimer?: { cancel(): void };
  private unsubscribe?: () => void;
  private stopped = false;
  private ticking?: Promise<void>;

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
  }

  /** Starts the scheduler and the alarm watchdog. */
  start(): void {
    this.stopped = false;
    this.unsubscribe = this.deps.config.onChange((changes) => {
      if (changes.some((c) => c.key.startsWith('Security Acme'))) {
        this.changed();
        this.schedule(0);
      }
    });
    this.watchdog();
    this.schedule(0);
  }

  /** Stops timers and cancels running orders (their answers stop at once). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.tickTimer?.cancel();
    this.watchdogTimer?.cancel();
    const pending = [...this.running.values()];
    for (const r of pending) r.abort.abort(new Error('service stopped'));
    await Promise.all(pending.map((r) => r.done));
    await this.ticking;
  }

  // ---- configuration ----

  private cfg(key: string): string {
    return String(this.deps.config.get(`Security Acme ${key}`));
  }

  private provider(name?: AcmeProvider): ProviderRef {
    const n = name ?? (this.cfg('Provider') as AcmeProvider);
    const keyId = this.cfg('ExternalAccount KeyId');
    const hmacKey = this.cfg('ExternalAccount HmacKey');
    if ((keyId === '') !== (hmacKey === '')) {
      throw new CommandError('Set both Security Acme ExternalAccount KeyId and HmacKey, or neither');
    }
    const eab = keyId ? { kid: keyId, hmacKey } : undefined;
    if (n === 'Custom') {
      const url = this.cfg('DirectoryUrl');
      if (!url) throw new CommandError('Security Acme DirectoryUrl is empty: set it for the Custom provider');
      return { name: n, directoryUrl: url, eab };
    }
    return { name: n, directoryUrl: DIRECTORIES[n], eab };
  }

  private accountStatus(): { status: AccountStatus; record?: AccountRecord; provider: AcmeProvider } {
    const provider = this.cfg('Provider') as AcmeProvider;
    const record = this.data.accounts[provider];
    let url = '';
    try {
      url = this.provider(provider).directoryUrl;
    } catch {
      return { status: 'None', provider };
    }
    if (!record || record.directoryUrl !== url) return { status: 'None', provider };
    return { status: record.status, record, provider };
  }

  // ---- account ----

  async acceptTerms(actor: Actor): Promise<{ termsUrl: string; accountUrl: string; provider: AcmeProvider }> {
    const p = this.provider();
    let key = this.files.accountKey(p.name);
    // A deactivated account cannot come back: a new key makes a new account.
    if (!key || this.data.accounts[p.name]?.status === 'Deactivated') {
      key = await generateKey(this.cfg('KeyType'));
      this.files.writeAccountKey(p.name, key);
    }
    const abort = new AbortController();
    const timer = this.deps.clock.setTimeout(() => abort.abort(new Deadline(Math.round(this.limits.orderTimeoutMs / 1000))), this.limits.orderTimeoutMs);
    try {
      const r = await this.issuer.register(p, key, this.cfg('AdminEmail'), abort.signal);
      this.data.accounts[p.name] = { directoryUrl: p.directoryUrl, url: r.accountUrl, termsUrl: r.termsUrl, status: 'Valid', created: this.nowIso() };
      this.save();
      this.audit(actor, 'Security Acme AcceptTerms', 'account created', { provider: p.name });
      this.changed();
      return { termsUrl: r.termsUrl, accountUrl: r.accountUrl, provider: p.name };
    } catch (e) {
      if (e instanceof OrderFailure) {
        this.noteAccount(p, e.failure);
        this.audit(actor, 'Security Acme AcceptTerms', 'failed', { provider: p.name, reason: e.message });
        throw e.failure.kind === 'unreachable' || e.failure.kind === 'untrusted' || e.failure.kind === 'timeout'
          ? new Unavailable(e.message) : new CommandError(e.message);
      }
      throw e;
    } finally {
      timer.cancel();
    }
  }

  /** What a refusal says about the account: gone (None) or deactivated. */
  private noteAccount(p: ProviderRef, f: Failure): void {
    const record = this.data.accounts[p.name];
    if (!record) return;
    if (f.kind === 'accountUnknown') delete this.data.accounts[p.name];
    else if (f.kind === 'account' && /deactivated/i.test(f.reason)) this.data.accounts[p.name] = { ...record, status: 'Deactivated' };
    else return;
    this.save();
    this.changed();
  }

  private requireAccount(p: ProviderRef): { keyPem: string; url: string } {
    const record = this.data.accounts[p.name];
    const keyPem = this.files.accountKey(p.name);
    if (!record || record.directoryUrl !== p.directoryUrl || !keyPem) {
      throw new CommandError(`No ACME account with ${p.name}: run xCommand Security Acme AcceptTerms first`);
    }
    if (record.status !== 'Valid') throw new CommandError(`The ACME account with ${p.name} is deactivated: run xCommand Security Acme AcceptTerms`);
    return { keyPem, url: record.url };
  }

  // ---- targets ----

  private checkDomain(domain: string | undefined): string | undefined {
    if (domain === undefined || domain === '') return undefined;
    const n = domain.toLowerCase().replace(/\.$/, '');
    if (!this.deps.certificates.domains().some((d) => d.name.toLowerCase() === n)) {
      throw new ParameterError(`No hosted domain is named ${n}: add it with xCommand Security Certificates Domain Add`);
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
      if (!csr || !keyPem) throw new CommandError('No CSR is in progress: create one with xCommand Security Certificates CSR Create');
      const names = [...new Set([csr.commonName, ...csr.alternativeNames].filter((n) => n !== '').map((n) => n.toLowerCase()))];
      return { csrPem: csr.pem, keyPem, names };
    }
    let keyPem = this.files.domainKey(domain);
    if (!keyPem) {
      const type = this.deps.certificates.csr()?.keyType ?? this.deps.certificates.active().info.keyType;
      keyPem = await generateKey(['RSA-2048', 'RSA-3072', 'RSA-4096', 'ECDSA-P256', 'ECDSA-P384'].includes(type) ? type : 'ECDSA-P256');
      this.files.writeDomainKey(domain, keyPem);
    }
    return { csrPem: await makeCsr(keyPem, [domain]), keyPem, names: [domain] };
  }

  // ---- sign ----

  async sign(domainIn: string | undefined, wait: boolean, actor: Actor): Promise<AcmeSignResult> {
    const domain = this.checkDomain(domainIn);
    const k = targetKey(domain);
    if (this.running.has(k)) throw new CommandError(`An ACME order for ${label(domain)} is already running`);
    const p = this.provider();
    const account = this.requireAccount(p);
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
    rec.lastSign = { status: 'InProgress', time: this.nowIso(), reason: '' };
    this.save();
    const abort = new AbortController();
    const run: Running = { abort, progress: 'Starting' };
    this.running.set(k, run);
    this.progress(domain, 'Starting');
    const done = this.order(domain, p, account, run).finally(() => {
      this.running.delete(k);
      this.changed();
      this.schedule();
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
        rec.lastSign = { status: 'Succeeded', time: this.nowIso(), reason: '' };
        rec.signNotBefore = undefined;
        this.save();
        this.deps.alarms.lower(this.alarmId('failing', domain));
        this.event(domain, 'Succeeded', `Signed ${pending.serial}`);
        this.deps.logger.log({ event: 'acme.signed', target: domain ?? 'server', serial: pending.serial, provider: p.name });
        return { status: 'Succeeded', reason: '', pending };
      } catch (e) {
        failure = e instanceof OrderFailure ? e.failure
          : e instanceof CommandError || e instanceof ParameterError ? { kind: 'local', reason: e.message, retryable: false }
            : { kind: 'local', reason: 'Internal error while signing; see the log', retryable: false };
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
    this.noteAccount(p, f);
    rec.lastSign = { status: 'Failed', time: this.nowIso(), reason: f.reason };
    // Automated attempts resume at the next drawn moment after now (or after a rate limit ends).
    rec.signNotBefore = Math.max(f.notBefore ?? 0, this.deps.clock.now().getTime() + 1);
    this.save();
    if (this.cfg('Scheduler Mode') === 'On') {
      this.deps.alarms.raise(this.alarmId('failing', domain), `ACME renewal of ${label(domain)} is failing: ${f.reason}`, 'Error');
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
    this.schedule(0);
    return p.info;
  }

  // ---- deploy ----

  async deploy(domainIn: string | undefined, actor: Actor): Promise<AcmeDeployResult> {
    const domain = this.checkDomain(domainIn);
    const staged = this.files.readPending(domain);
    if (!staged) throw new CommandError(`There is no pending ACME certificate for ${label(domain)}: sign one with xCommand Security Acme Sign`);
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
      rec.lastDeploy = { status: 'Succeeded', time: this.nowIso(), reason: '' };
      rec.deployNotBefore = undefined;
      this.save();
      this.audit(actor, 'Security Acme Deploy', 'deployed', { target: domain ?? 'server', serial: installed.info.serial });
      this.event(domain, 'Deployed', installed.info.serial);
      this.checkAlarms();
      return { certificate: installed.info, servedSerial: served ?? installed.info.serial, previous };
    } catch (e) {
      const reason = e instanceof Error && 'code' in e ? e.message : 'Internal error while deploying; see the log';
      if (!(e instanceof CommandError || e instanceof ParameterError)) this.deps.logger.log({ event: 'acme.deploy-error', level: 'error', error: String(e) });
      rec.lastDeploy = { status: 'Failed', time: this.nowIso(), reason };
      rec.deployNotBefore = this.deps.clock.now().getTime() + 60_000;
      this.save();
      this.event(domain, 'DeployFailed', reason);
      throw e instanceof CommandError || e instanceof ParameterError ? e : new CommandError(reason);
    } finally {
      this.deploying.delete(k);
      this.changed();
      this.schedule(0);
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
    const raw = certPath.startsWith(ARCHIVE_PREFIX)
      ? this.files.readArchived(certPath, MAX_CERT_FILE)
      : this.deps.uploads.read(certPath, MAX_CERT_FILE);
    let info: CertificateInfo;
    let pem: string;
    try {
      const first = parsePem(raw.toString('utf8'), 'certificate')[0]!;
      const d = decodeCertificate(first, `The file ${certPath}`);
      info = d.info;
      pem = d.pem;
    } catch (e) {
      throw e instanceof ParameterError ? e : new ParameterError(`The file ${certPath} does not hold a PEM certificate`);
    }
    const inUse = [this.deployed(undefined), ...this.deps.certificates.domains().map((d) => (d.certificate ? { info: d.certificate.info } : undefined))];
    if (inUse.some((c) => c && c.info.fingerprint === info.fingerprint)) {
      throw new CommandError(`The certificate ${info.serial} is in use: deploy another certificate before revoking it`);
    }
    const providerName = providerIn ?? (this.cfg('Provider') as AcmeProvider);
    const record = this.data.accounts[providerName];
    const keyPem = this.files.accountKey(providerName);
    if (!record || !keyPem) throw new CommandError(`No ACME account with ${providerName}: run xCommand Security Acme AcceptTerms first`);
    // Proof of control: a pending certificate from the same provider covering every name.
    const wanted = namesOf(info);
    const proofs = [undefined, ...this.deps.certificates.domains().map((d) => d.name.toLowerCase())]
      .map((d) => this.files.readPending(d))
      .filter((s): s is NonNullable<typeof s> => s !== undefined && s.provider === providerName);
    const proof = proofs.find((s) => {
      const have = new Set(namesOf(splitChain(s.pem).info));
      return wanted.every((n) => have.has(n));
    });
    if (proof && splitChain(proof.pem).info.fingerprint === info.fingerprint) {
      throw new CommandError('That is the pending certificate, which proves control of its names: discard it instead');
    }
    if (!proof) {
      throw new CommandError(`No pending certificate from ${providerName} covers ${wanted.join(', ')}: sign a CSR with these names first to prove control`);
    }
    const p: ProviderRef = { name: providerName, directoryUrl: record.directoryUrl, eab: undefined };
    const abort = new AbortController();
    const timer = this.deps.clock.setTimeout(() => abort.abort(new Deadline(Math.round(this.limits.orderTimeoutMs / 1000))), this.limits.orderTimeoutMs);
    try {
      const answer = await this.issuer.revoke(p, { keyPem, url: record.url }, pem, REVOCATION_CODES[reason], abort.signal);
      this.audit(actor, 'Acmerevoke', 'revoked', { serial: info.serial, provider: providerName, reason });
      return { serial: info.serial, reason, answer };
    } catch (e) {
      if (e instanceof OrderFailure) {
        this.audit(actor, 'Acmerevoke', 'failed', { serial: info.serial, provider: providerName, reason: e.message });
        throw e.failure.kind === 'unreachable' || e.failure.kind === 'untrusted' || e.failure.kind === 'timeout'
          ? new Unavailable(e.message) : new CommandError(e.message);
      }
      throw e;
    } finally {
      timer.cancel();
    }
  }

  // ---- automated mode ----

  private targets(): (string | undefined)[] {
    return [undefined, ...this.deps.certificates.domains().map((d) => d.name.toLowerCase())];
  }

  private planFor(domain: string | undefined): Plan {
    const automated = this.cfg('Scheduler Mode') === 'On' && this.accountStatus().status === 'Valid';
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
      schedule: { days: this.cfg('Scheduler Days'), time: this.cfg('Scheduler Time') },
      periodMs: this.limits.signPeriodMs,
      seed: this.data.seed,
    });
  }

  /** Does what is due now; resolves when the automated work it started has ended. */
  async tick(): Promise<void> {
    const now = this.deps.clock.now().getTime();
    const work: Promise<unknown>[] = [];
    for (const domain of this.targets()) {
      const pl = this.planFor(domain);
      if (pl.nextDeploy !== undefined && pl.nextDeploy <= now) {
        work.push(this.deploy(domain, SCHEDULER).catch(() => undefined));
      } else if (pl.nextSign !== undefined && pl.nextSign <= now && !this.running.has(targetKey(domain))) {
        try {
          const p = this.provider();
          const account = this.requireAccount(p);
          if (domain === undefined) await this.request(undefined);
          work.push(this.startOrder(domain, p, account));
        } catch (e) {
          const rec = this.record(domain);
          rec.lastSign = { status: 'Failed', time: this.nowIso(), reason: (e as Error).message };
          rec.signNotBefore = now + this.limits.tickMaxMs;
          this.save();
          this.deps.alarms.raise(this.alarmId('failing', domain), `ACME renewal of ${label(domain)} is failing: ${(e as Error).message}`, 'Error');
        }
      }
    }
    await Promise.all(work);
    this.checkAlarms();
  }

  /** Arms the next tick at the earliest planned time (bounded by tickMaxMs). */
  private schedule(delayMs?: number): void {
    if (this.stopped || !this.unsubscribe) return;
    this.tickTimer?.cancel();
    const now = this.deps.clock.now().getTime();
    let next = now + this.limits.tickMaxMs;
    if (delayMs === undefined) {
      for (const d of this.targets()) {
        const pl = this.planFor(d);
        for (const t of [pl.nextSign, pl.nextDeploy]) if (t !== undefined) next = Math.min(next, Math.max(t, now));
      }
    } else {
      next = now + delayMs;
    }
    this.tickTimer = this.deps.clock.setTimeout(() => {
      this.ticking = this.tick().catch((e) => this.deps.logger.log({ event: 'acme.tick-error', level: 'error', error: String(e) }))
        .finally(() => this.schedule());
    }, Math.max(0, next - now));
    this.changed();
  }

  /** Raises/lowers the overdue alarm from the certificates and the time alone (not the job). */
  checkAlarms(): void {
    const now = this.deps.clock.now().getTime();
    for (const domain of this.targets()) {
      const d = this.deployed(domain);
      const id = this.alarmId('overdue', domain);
      if (d?.acme && renewalOverdue(lifetimeOf(d.info), now)) {
        this.deps.alarms.raise(id, `ACME renewal of ${label(domain)} is overdue: it expires ${d.info.notAfter}`, now >= Date.parse(d.info.notAfter) ? 'Critical' : 'Warning');
      } else {
        this.deps.alarms.lower(id);
      }
    }
    if (this.cfg('Scheduler Mode') !== 'On') for (const domain of this.targets()) this.deps.alarms.lower(this.alarmId('failing', domain));
  }

  private watchdog(): void {
    if (this.stopped) return;
    this.checkAlarms();
    this.watchdogTimer = this.deps.clock.setTimeout(() => this.watchdog(), this.limits.alarmCheckMs);
  }

  private alarmId(kind: 'failing' | 'overdue', domain: string | undefined): string {
    return `acme.renewal-${kind}${domain === undefined ? '' : `.${domain}`}`;
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
      automated: this.cfg('Scheduler Mode') === 'On',
      signing: run !== undefined,
      progress: run?.progress ?? '',
      lastSign: rec.lastSign,
      lastDeploy: rec.lastDeploy,
      pending,
      deployedByAcme: this.deployed(domain)?.acme ?? false,
      nextSign: pl.nextSign === undefined ? undefined : Math.max(pl.nextSign, this.deps.clock.now().getTime()),
      nextDeploy: pl.nextDeploy === undefined ? undefined : Math.max(pl.nextDeploy, this.deps.clock.now().getTime()),
    };
  }

  status(): StatusTree {
    try {
      const acct = this.accountStatus();
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
