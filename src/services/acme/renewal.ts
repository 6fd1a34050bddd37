// Automated renewal as a job: a timer armed at the earliest planned sign or deploy (or after
// `tickMaxMs`), and, on a timer of its own, the overdue-alarm watchdog, which looks only at the
// certificates in use and the clock, so a stuck renewal job cannot keep it quiet.
// At most `maxOrders` automated orders run at once: in a mass revocation every window moves into
// the past together, and starting all orders at once (up to 101) overloads the appliance and the
// CA (challenge validations time out, each failure then backs off for minutes); the others wait
// for a free slot, earliest planned first.
// What to do and when comes from the host (the service), which applies scheduler.ts.
import type { AlarmService, CertificateInfo } from '../interfaces.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import { renewalOverdue, type Plan, type Urgency } from './scheduler.js';
import { lifetimeOf } from './chain.js';
import { alarmId, type Target } from './target.js';

/** What the renewal job needs from the service. */
export interface RenewalHost {
  /** The server certificate and every hosted domain. */
  targets(): Target[];
  plan(t: Target): Plan;
  /** The certificate in use for the target, and whether ACME deployed it. */
  deployed(t: Target): { info: CertificateInfo; acme: boolean } | undefined;
  automated(): boolean;
  signing(t: Target): boolean;
  /** Starts an automated order; resolves when it has ended (never rejects). */
  sign(t: Target): Promise<unknown>;
  /** Deploys the staged certificate; resolves when done (never rejects). */
  deploy(t: Target): Promise<unknown>;
  /** Something shown in xStatus may have changed (NextSign, NextDeploy). */
  changed(): void;
  /** Asks the CA for the renewal windows that are due (ARI); resolves when done, never rejects. */
  refresh(): Promise<void>;
  /** When the next renewal-information poll for `t` is due, if any. */
  nextCheck(t: Target): number | undefined;
  /** Forgets targets no longer configured (a deleted domain): their record, alarms and key. */
  sweep(): void;
}

/** Why the urgent alarm says the renewal cannot wait. */
const WHY: Readonly<Record<Urgency, string>> = {
  expired: 'the certificate in use has expired',
  revoked: 'the certificate in use is revoked',
  'window-passed': "the CA's renewal window has ended (see xStatus Security Acme Renewal ExplanationUrl)",
  overdue: 'five sixths of its lifetime have passed',
};

export class RenewalJob {
  private tickTimer?: { cancel(): void };
  private watchdogTimer?: { cancel(): void };
  private running = false;
  private ticking?: Promise<void>;
  /** Targets (keys) of the automated orders this job started and that have not ended. */
  private readonly orders = new Set<string>();
  /**
   * The latest renewal-information poll. Polls run one after the other: a tick overlapping another
   * asks only about what is still due once that one has ended, so no certificate is asked about twice.
   */
  private polled: Promise<void> = Promise.resolve();

  constructor(
    readonly host: RenewalHost,
    private readonly deps: { clock: Clock; alarms: AlarmService; logger: Logger; tickMaxMs: number; alarmCheckMs: number; maxOrders: number },
  ) {}

  start(): void {
    this.running = true;
    this.watchdog();
    this.reschedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.tickTimer?.cancel();
    this.watchdogTimer?.cancel();
    await this.ticking;
  }

  /** Does what is due now; resolves when the automated work it started has ended. */
  async tick(): Promise<void> {
    if (this.host.automated()) {
      const poll = this.polled.then(() => this.host.refresh());
      // A poll that failed anyway fails this tick (logged), not every later one.
      this.polled = poll.catch(() => undefined);
      await poll;
    }
    // What the CA said may have made a renewal urgent: the alarm says so before the work starts.
    this.checkAlarms();
    const now = this.deps.clock.now().getTime();
    const work: Promise<unknown>[] = [];
    const due: { target: Target; at: number }[] = [];
    for (const target of this.host.targets()) {
      const pl = this.host.plan(target);
      if (pl.nextDeploy !== undefined && pl.nextDeploy <= now) work.push(this.host.deploy(target));
      else if (pl.nextSign !== undefined && pl.nextSign <= now && !this.ordering(target)) due.push({ target, at: pl.nextSign });
    }
    // Ties keep the targets' order (the server certificate first).
    due.sort((a, b) => a.at - b.at);
    for (const { target } of due.slice(0, Math.max(0, this.deps.maxOrders - this.orders.size))) {
      this.orders.add(target.key);
      // A slot freed: the next waiting target starts (the runner's own reschedule may come first).
      work.push(this.host.sign(target).finally(() => { this.orders.delete(target.key); this.reschedule(); }));
    }
    await Promise.all(work);
    this.checkAlarms();
  }

  /** Arms the next tick: after `delayMs`, or at the earliest planned time (bounded by tickMaxMs). */
  reschedule(delayMs?: number): void {
    if (!this.running) return;
    this.tickTimer?.cancel();
    const now = this.deps.clock.now().getTime();
    let next = now + this.deps.tickMaxMs;
    if (delayMs === undefined) {
      // With every slot taken, a sign that is due waits for an order to end (which reschedules).
      const full = this.orders.size >= this.deps.maxOrders;
      for (const d of this.host.targets()) {
        const pl = this.host.plan(d);
        const check = this.host.automated() ? this.host.nextCheck(d) : undefined;
        const sign = full || this.ordering(d) ? undefined : pl.nextSign;
        for (const t of [sign, pl.nextDeploy, check]) if (t !== undefined) next = Math.min(next, Math.max(t, now));
      }
    } else {
      next = now + delayMs;
    }
    this.tickTimer = this.deps.clock.setTimeout(() => {
      this.ticking = this.tick().catch((e) => this.deps.logger.log({ event: 'acme.tick-error', level: 'error', error: String(e) }))
        .finally(() => this.reschedule());
    }, Math.max(0, next - now));
    this.host.changed();
  }

  /** An order for the target runs, or this job is starting one. */
  private ordering(t: Target): boolean {
    return this.orders.has(t.key) || this.host.signing(t);
  }

  /** Raises/lowers the overdue alarms from the certificates in use and the time alone. */
  checkAlarms(): void {
    this.host.sweep();
    const now = this.deps.clock.now().getTime();
    for (const target of this.host.targets()) {
      // Sign now and deploy when signed, outside the deploy days: the admin is told why.
      const urgent = this.host.plan(target).urgent;
      if (urgent) {
        this.deps.alarms.raise(alarmId('urgent', target), `ACME renewal of ${target.label} cannot wait: ${WHY[urgent]}; it is signed now and deployed when signed, outside the deploy days`, 'Warning');
      } else {
        this.deps.alarms.lower(alarmId('urgent', target));
      }
      const d = this.host.deployed(target);
      const id = alarmId('overdue', target);
      if (d?.acme && renewalOverdue(lifetimeOf(d.info), now)) {
        const expired = now >= Date.parse(d.info.notAfter);
        this.deps.alarms.raise(id, `ACME renewal of ${target.label} is overdue: it expire${expired ? 'd' : 's'} ${d.info.notAfter}`, expired ? 'Critical' : 'Warning');
      } else {
        this.deps.alarms.lower(id);
      }
    }
    if (!this.host.automated()) for (const target of this.host.targets()) this.deps.alarms.lower(alarmId('failing', target));
  }

  private watchdog(): void {
    if (!this.running) return;
    try {
      this.checkAlarms();
    } catch (e) {
      this.deps.logger.log({ event: 'acme.watchdog-error', level: 'error', error: String(e) });
    }
    this.watchdogTimer = this.deps.clock.setTimeout(() => this.watchdog(), this.deps.alarmCheckMs);
  }
}
