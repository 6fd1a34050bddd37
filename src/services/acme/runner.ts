// The order loop: one order at a time per target, each attempt bounded by the order timeout and
// cancellable, retried with backoff while the failure says a retry can help; the CA's answer is
// checked against the key and staged. Every run resolves (never rejects) with the outcome, which
// is also recorded, announced and, for automated renewal, alarmed.
import crypto from 'node:crypto';
import { KEY_TYPES } from '../../../schema/sets.js';
import type { AcmeSignResult, AlarmService, CertificateInfo, CertificateService } from '../interfaces.js';
import { CommandError, ParameterError, diskFailure } from '../../errors.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import type { Lock } from '../../stores/storage.js';
import { Deadline, generateKey, makeCsr, raceAbort, type CertificateIssuer, type ProviderRef } from './issuer.js';
import { OrderFailure, type Failure } from './reasons.js';
import type { ChallengeResponder } from './responder.js';
import type { ChallengeSolvers } from './solvers.js';
import { backoff } from './scheduler.js';
import { splitChain } from './chain.js';
import type { AcmeLimits } from './settings.js';
import type { AcmeAccounts } from './accounts.js';
import type { PendingRepository, TargetRecord } from './pending.js';
import { iso } from './status.js';
import { alarmId, domainOrderNames, type Target } from './target.js';

export interface OrderRunnerDeps {
  readonly issuer: CertificateIssuer;
  readonly responder: ChallengeResponder;
  /** DNS-01 and TLS-ALPN-01 answers (HTTP-01 stays with the responder). */
  readonly solvers: Pick<ChallengeSolvers, 'solverFor'>;
  readonly repo: PendingRepository;
  readonly accounts: Pick<AcmeAccounts, 'note'>;
  readonly certificates: Pick<CertificateService, 'active' | 'csr' | 'csrKeyPem'>;
  /** One order per target, across everything sharing the storage. */
  readonly tryLock: (name: string) => Lock | undefined;
  readonly limits: AcmeLimits;
  readonly clock: Clock;
  readonly random: () => number;
  readonly alarms: AlarmService;
  readonly logger: Logger;
  /** Scheduler Mode is On: a failed order raises the renewal alarm. */
  readonly automated: () => boolean;
  /** An AcmeProgress event (and a status change). */
  readonly event: (t: Target, status: string, detail: string) => void;
  /** A run ended (status and the renewal plan may have changed). */
  readonly finished: () => void;
}

interface Running {
  readonly abort: AbortController;
  readonly lock: Lock;
  done?: Promise<AcmeSignResult>;
  progress: string;
  /** What the order publishes and where, while it does ('' otherwise). */
  published: string;
}

export type AccountRef = { keyPem: string; url: string };

/** What an order asks for besides the names: a certificate profile, and the certificate it renews (ARI). */
export interface OrderInputs {
  readonly profile?: string;
  readonly replaces?: string;
}

/**
 * The record after a failed order: one more consecutive failure, and automated signing held back
 * exponentially (base·2^(n-1), ±25 % from `unit`, capped) or until a rate limit ends.
 * A cancelled order (stop, restart) says nothing about the CA and is not counted.
 */
export function failedRecord(prev: TargetRecord, f: Failure, now: number, limits: AcmeLimits, unit: number): Partial<TargetRecord> {
  const failures = f.kind === 'cancelled' ? (prev.failures ?? 0) : (prev.failures ?? 0) + 1;
  const wait = failures === 0 ? 1 : backoff(failures - 1, limits.failureBackoffBaseMs, limits.failureBackoffCapMs, unit);
  return {
    latest: 'sign',
    lastSign: { status: 'Failed', time: iso(now), reason: f.reason },
    signNotBefore: Math.max(f.notBefore ?? 0, now + wait),
    failures,
  };
}

export class OrderRunner {
  private readonly running = new Map<string, Running>();
  /** Dry runs: they hold the target's order lock but are no order as far as status goes. */
  private readonly dry = new Map<string, Running>();

  constructor(private readonly deps: OrderRunnerDeps) {}

  isRunning(t: Target): boolean {
    return this.running.has(t.key);
  }

  /** The running order's last step, or ''. */
  progress(t: Target): string {
    return this.running.get(t.key)?.progress ?? '';
  }

  /** What the running order publishes and where, or ''. */
  published(t: Target): string {
    return this.running.get(t.key)?.published ?? '';
  }

  /** The names an order for the target asks for: the CSR's (server), or the domain's. */
  names(t: Target): string[] {
    if (t.domain !== undefined) return domainOrderNames(t.domain, this.deps.repo.record(t).includeBase === true);
    const csr = this.deps.certificates.csr();
    if (!csr) throw new CommandError('No CSR is in progress').needs('CreateCsr');
    return [...new Set([csr.commonName, ...csr.alternativeNames].filter((n) => n !== '').map((n) => n.toLowerCase()))];
  }

  /** What to order: the saved CSR (server) or the domain's own key and a CSR for its name. */
  async request(t: Target): Promise<{ csrPem: string; keyPem: string; names: string[] }> {
    const { certificates, repo } = this.deps;
    if (t.domain === undefined) {
      const csr = certificates.csr();
      const keyPem = certificates.csrKeyPem();
      if (!csr || !keyPem) throw new CommandError('No CSR is in progress').needs('CreateCsr');
      return { csrPem: csr.pem, keyPem, names: this.names(t) };
    }
    let keyPem = repo.files.domainKey(t.domain);
    if (!keyPem) {
      const type = certificates.csr()?.keyType ?? certificates.active().info.keyType;
      keyPem = await generateKey(KEY_TYPES.find((k) => k === type) ?? 'ECDSA-P256');
      repo.files.writeDomainKey(t.domain, keyPem);
    }
    const names = this.names(t);
    return { csrPem: await makeCsr(keyPem, names), keyPem, names };
  }

  /** Runs the order in the background; the promise always resolves. */
  start(t: Target, p: ProviderRef, account: AccountRef, inputs: OrderInputs = {}): Promise<AcmeSignResult> {
    const lock = this.deps.tryLock(`acme-order:${t.key}`);
    if (!lock) throw new CommandError(`An ACME order for ${t.label} is already running`);
    this.deps.repo.update(t, { latest: 'sign', lastSign: { status: 'InProgress', time: this.nowIso(), reason: '' } });
    const run: Running = { abort: new AbortController(), lock, progress: 'Starting', published: '' };
    this.running.set(t.key, run);
    this.step(t, 'Starting');
    const done = this.order(t, p, account, inputs, run).finally(() => {
      this.running.delete(t.key);
      lock.release();
      this.deps.finished();
    });
    run.done = done;
    return done;
  }

  /** Stops the target's running order or dry run (its answers stop at once) for `reason`. */
  cancel(t: Target, reason: Error): void {
    this.running.get(t.key)?.abort.abort(reason);
    this.dry.get(t.key)?.abort.abort(reason);
  }

  /** Cancels every running order (their answers stop at once) and waits for them to end. */
  async stop(): Promise<void> {
    const all = [...this.running.values(), ...this.dry.values()];
    for (const r of all) r.abort.abort(new Error('service stopped'));
    await Promise.all(all.map((r) => r.done));
  }

  /**
   * A dry run (`Sign DryRun: True`): the whole order for the names the real one would ask for,
   * with a throwaway key, without `replaces` (it would mark the certificate in use as renewed at
   * the CA). It stores nothing: no key, no staged certificate, no record, no back-off, no alarm,
   * no account change; the outcome is only returned. One dry run per target at a time; the
   * automated job waits for it (`busy`) rather than count a lock refusal as a failure.
   */
  dryRun(t: Target, p: ProviderRef, account: AccountRef, inputs: Pick<OrderInputs, 'profile'> = {}): Promise<AcmeSignResult> {
    if (this.running.has(t.key)) throw new CommandError(`An ACME order for ${t.label} is already running`);
    const lock = this.deps.tryLock(`acme-order:${t.key}`);
    if (!lock) throw new CommandError(`An ACME order for ${t.label} is already running`);
    const run: Running = { abort: new AbortController(), lock, progress: 'Starting', published: '' };
    this.dry.set(t.key, run);
    const step = (s: string) => { run.progress = s; this.deps.logger.log({ event: 'acme.dry-run-step', target: t.name, step: s }); };
    const done = this.attempts(t, p, account, inputs, run, step, () => this.throwaway(t), (pem, keyPem) => this.check(pem, keyPem))
      .then((r): AcmeSignResult => {
        if ('info' in r) {
          this.deps.logger.log({ event: 'acme.dry-run-succeeded', target: t.name, serial: r.info.serial, provider: p.name });
          return { status: 'Succeeded', reason: '' };
        }
        this.deps.logger.log({ event: 'acme.dry-run-failed', level: 'warn', target: t.name, reason: r.failure.reason });
        return { status: 'Failed', reason: r.failure.reason };
      })
      .finally(() => {
        this.dry.delete(t.key);
        lock.release();
      });
    run.done = done;
    return done;
  }

  /** A real order or a dry run holds the target. */
  busy(t: Target): boolean {
    return this.running.has(t.key) || this.dry.has(t.key);
  }

  private async order(t: Target, p: ProviderRef, account: AccountRef, inputs: OrderInputs, run: Running): Promise<AcmeSignResult> {
    const { limits, clock, logger } = this.deps;
    const r = await this.attempts(t, p, account, inputs, run, (s) => this.step(t, s), () => this.request(t), (pem, keyPem) => this.stage(t, p.name, pem, keyPem));
    if ('info' in r) {
      const pending = r.info;
      this.deps.alarms.lower(alarmId('failing', t));
      this.deps.event(t, 'Succeeded', `Signed ${pending.serial}`);
      logger.log({ event: 'acme.signed', target: t.name, serial: pending.serial, provider: p.name });
      return { status: 'Succeeded', reason: '', pending };
    }
    const f = r.failure;
    this.deps.accounts.note(p, f);
    // Automated attempts resume after the back-off (or a rate limit), at the next drawn moment.
    this.deps.repo.update(t, failedRecord(this.deps.repo.record(t), f, clock.now().getTime(), limits, this.deps.random()));
    // A cancelled order (stop, restart) says nothing about the CA: no alarm for it.
    if (this.deps.automated() && f.kind !== 'cancelled') {
      this.deps.alarms.raise(alarmId('failing', t), `ACME renewal of ${t.label} is failing: ${f.reason}`, 'Error');
    }
    this.deps.event(t, 'Failed', f.reason);
    logger.log({ event: 'acme.sign-failed', level: 'warn', target: t.name, reason: f.reason });
    return { status: 'Failed', reason: f.reason };
  }

  /** The attempts of one order, each bounded and retried while a retry can help; `finish` takes the CA's answer. */
  private async attempts(
    t: Target, p: ProviderRef, account: AccountRef, inputs: OrderInputs, run: Running, step: (s: string) => void,
    request: () => Promise<{ csrPem: string; keyPem: string; names: string[] }>, finish: (pem: string, keyPem: string) => CertificateInfo,
  ): Promise<{ info: CertificateInfo } | { failure: Failure }> {
    const { limits, clock, logger } = this.deps;
    let failure: Failure | undefined;
    let replaces = inputs.replaces;
    for (let attempt = 0; attempt < limits.orderAttempts; attempt++) {
      const orderId = crypto.randomUUID();
      const attemptAbort = new AbortController();
      const onOuter = () => attemptAbort.abort(run.abort.signal.reason);
      run.abort.signal.addEventListener('abort', onOuter, { once: true });
      const timer = clock.setTimeout(() => attemptAbort.abort(new Deadline(Math.round(limits.orderTimeoutMs / 1000))), limits.orderTimeoutMs);
      try {
        const req = await request();
        const solver = this.deps.solvers.solverFor(t, req.names, (what) => { run.published = what; });
        // The issuer honours the signal; the race makes sure a stuck one cannot hold the target.
        const pem = await raceAbort(this.deps.issuer.order(p, account, {
          csrPem: req.csrPem,
          names: req.names,
          ...(inputs.profile !== undefined ? { profile: inputs.profile } : {}),
          ...(replaces !== undefined ? { replaces } : {}),
          signal: attemptAbort.signal,
          progress: step,
          challenges: {
            open: (tokens) => this.deps.responder.open(orderId, tokens),
            close: () => this.deps.responder.close(orderId),
            fetched: () => this.deps.responder.fetched(orderId),
          },
          ...(solver ? { solver } : {}),
        }), attemptAbort.signal, p.directoryUrl);
        return { info: finish(pem, req.keyPem) };
      } catch (e) {
        failure = e instanceof OrderFailure ? e.failure
          : e instanceof CommandError || e instanceof ParameterError ? { kind: 'local', reason: e.message, retryable: false }
            : { kind: 'local', reason: diskFailure(e)?.message ?? 'Internal error while signing; see the log', retryable: false };
        if (!(e instanceof OrderFailure)) logger.log({ event: 'acme.sign-error', level: 'error', error: String(e) });
        // RFC 9773: the certificate was renewed already (another client, a lost answer): the
        // same order without `replaces` is allowed, at once, and costs no attempt.
        if (failure.kind === 'alreadyReplaced' && replaces !== undefined && !run.abort.signal.aborted) {
          logger.log({ event: 'acme.already-replaced', target: t.name, replaces });
          replaces = undefined;
          step('Ordering again without replaces');
          attempt--;
          continue;
        }
        const more = failure.retryable && attempt + 1 < limits.orderAttempts && !run.abort.signal.aborted;
        if (!more) break;
        const wait = backoff(attempt, limits.retryBaseMs, limits.retryCapMs, this.deps.random());
        step(`Retrying in ${Math.ceil(wait / 1000)} s: ${failure.reason}`);
        await this.sleep(wait, run.abort.signal);
      } finally {
        timer.cancel();
        run.abort.signal.removeEventListener('abort', onOuter);
        // Whatever happened, this order's tokens are no longer answered.
        this.deps.responder.close(orderId);
      }
    }
    return { failure: failure ?? { kind: 'local', reason: 'The order did not run', retryable: false } };
  }

  /** A fresh key and CSR for the names the real order would ask for (nothing written). */
  private async throwaway(t: Target): Promise<{ csrPem: string; keyPem: string; names: string[] }> {
    const { certificates } = this.deps;
    const names = this.names(t);
    const type = certificates.csr()?.keyType ?? certificates.active().info.keyType;
    const keyPem = await generateKey(KEY_TYPES.find((k) => k === type) ?? 'ECDSA-P256');
    return { csrPem: await makeCsr(keyPem, names), keyPem, names };
  }

  /** Checks what the CA sent against the key: the leaf, chain and their details. */
  private check(pem: string, keyPem: string): CertificateInfo {
    return this.checked(pem, keyPem).info;
  }

  private checked(pem: string, keyPem: string): ReturnType<typeof splitChain> {
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
    return parts;
  }

  /** Checks what the CA sent against the key, then stages it and records the success. */
  private stage(t: Target, provider: ProviderRef['name'], pem: string, keyPem: string): CertificateInfo {
    const parts = this.checked(pem, keyPem);
    const now = this.nowIso();
    this.deps.repo.stage(t, { pem: parts.leaf + parts.chain.join(''), keyPem, provider, signed: now }, parts.info.serial, {
      latest: 'sign', lastSign: { status: 'Succeeded', time: now, reason: '' }, signNotBefore: undefined, failures: 0,
    });
    return parts.info;
  }

  private step(t: Target, step: string): void {
    const run = this.running.get(t.key);
    if (run) run.progress = step;
    this.deps.event(t, 'InProgress', step);
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const t = this.deps.clock.setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
      const onAbort = () => { t.cancel(); resolve(); };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private nowIso(): string {
    return iso(this.deps.clock.now().getTime());
  }
}
