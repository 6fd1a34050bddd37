// Automated renewal, as pure functions of (certificate, now, configuration, random seed).
// Every point comes from the certificate's real lifetime (or the CA's ARI window), never from
// an assumed 90 days.
// - Without ARI, renewal is due when two thirds of the deployed certificate's lifetime have passed.
// - Signing happens at one of two random moments per period (a UTC day in production): one in
//   each half, drawn from HMAC(seed, period) so the plan is stable and shown in xStatus. The
//   period shrinks to a twelfth of short lifetimes, so the moment still falls before the deadline.
// - With ARI, signing happens at a moment drawn (from the seed) inside the CA's window.
// - Peers of a cluster renew at different times: each draws only inside its own share (its slot)
//   of every half-period and of the CA's window, so no two peers sign in the same stretch of the
//   day. Standalone, the share is the whole.
// - The window's end passed, the certificate expired, revoked or overdue: sign at once (back-off
//   permitting) and deploy as soon as signed, ignoring the deploy days.
// - A staged certificate is deployed at the next scheduled day/time (UTC), or at the deadline
//   (four fifths of the deployed certificate's lifetime) when the next slot would come later,
//   or when signed if the certificate in use expires before the next slot:
//   a certificate is never left to expire while a renewed one waits.
// - Renewal is overdue (alarm) when five sixths of the lifetime have passed.
import crypto from 'node:crypto';
import { DAYS } from '../../../schema/types.js';
import { chooseRenewalMoment, renewNow, type RenewalWindow } from './ari.js';

export const DAY_MS = 86_400_000;

export interface Lifetime {
  readonly notBefore: number;
  readonly notAfter: number;
}

const at = (c: Lifetime, fraction: number) => c.notBefore + (c.notAfter - c.notBefore) * fraction;

export function renewalTime(c: Lifetime): number {
  return at(c, 2 / 3);
}
export function overdueTime(c: Lifetime): number {
  return at(c, 5 / 6);
}
export function renewalOverdue(c: Lifetime, now: number): boolean {
  return now >= overdueTime(c);
}
export function deployDeadline(c: Lifetime): number {
  return at(c, 4 / 5);
}

/** A number in [0, 1) from the seed and a label: the injected random source, made repeatable. */
export function unitFrom(seed: string, label: string): number {
  const h = crypto.createHmac('sha256', seed).update(label).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * A peer's place in its cluster: `index` 0..count-1, the rank of its peer number among the
 * configured peers. Its renewals are drawn inside the index-th of `count` equal shares.
 */
export interface RenewalSlot {
  readonly index: number;
  readonly count: number;
}

/** A unit in [0, 1) narrowed to the slot's share [index/count, (index+1)/count); unchanged without a slot. */
export function inSlot(unit: number, slot: RenewalSlot | undefined): number {
  if (!slot || slot.count <= 1) return unit;
  return (slot.index + unit) / slot.count;
}

/** The two sign moments of period `index` (periods of `periodMs` from the epoch): one per half. */
export function signMoments(index: number, periodMs: number, seed: string, slot?: RenewalSlot): [number, number] {
  const start = index * periodMs;
  const half = periodMs / 2;
  const a = start + Math.floor(inSlot(unitFrom(seed, `${index}/0`), slot) * half);
  const b = start + half + Math.floor(inSlot(unitFrom(seed, `${index}/1`), slot) * half);
  return [a, b];
}

/** The first sign moment at or after `t`. */
export function nextSignMoment(t: number, periodMs: number, seed: string, slot?: RenewalSlot): number {
  const first = Math.floor(t / periodMs);
  for (let i = first; i < first + 3; i++) {
    for (const m of signMoments(i, periodMs, seed, slot)) if (m >= t) return m;
  }
  // Unreachable: each period holds a moment in its second half.
  return t;
}

export interface Schedule {
  /** "Mon,Thu" (canonical, from schema/types weekdays()); empty means no day. */
  readonly days: string;
  /** "HH:MM", UTC. */
  readonly time: string;
}

/** The first scheduled deploy slot at or after `t` (UTC), or undefined when no day is selected. */
export function nextSlot(t: number, s: Schedule): number | undefined {
  const days = new Set(s.days.split(',').map((d) => d.trim()).filter((d) => d !== ''));
  const m = /^(\d{2}):(\d{2})$/.exec(s.time);
  if (days.size === 0 || !m) return undefined;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  const dayStart = Math.floor(t / DAY_MS) * DAY_MS;
  for (let i = 0; i < 8; i++) {
    const slot = dayStart + i * DAY_MS + minutes * 60_000;
    // getUTCDay: 0 = Sunday; DAYS starts on Monday.
    const name = DAYS[(new Date(slot).getUTCDay() + 6) % 7]!;
    if (slot >= t && days.has(name)) return slot;
  }
  return undefined;
}

/**
 * The period of the drawn sign moments for a certificate: the configured one, shortened to a
 * twelfth of the lifetime (at least a second), so the moment drawn after two thirds comes before
 * three quarters, ahead of the deploy deadline (four fifths): a 6-day certificate renews within
 * 12 hours of day 4, a 300-second one within 25 seconds of second 200.
 */
export function signPeriodFor(c: Lifetime, periodMs: number): number {
  return Math.max(1000, Math.min(periodMs, Math.floor((c.notAfter - c.notBefore) / 12)));
}

/** Where the next renewal of a deployed certificate lies, for xStatus `Renewal Window`. */
export interface Window extends RenewalWindow {
  readonly source: 'ARI' | 'Lifetime';
}

/** The CA's window when it gave one, else [two thirds, two thirds + one sign period). */
export function renewalWindow(c: Lifetime, periodMs: number, ari?: RenewalWindow): Window {
  if (ari) return { start: ari.start, end: ari.end, source: 'ARI' };
  const start = renewalTime(c);
  return { start, end: start + signPeriodFor(c, periodMs), source: 'Lifetime' };
}

/** Why a renewal cannot wait for a drawn moment or a deploy day. */
export type Urgency = 'expired' | 'revoked' | 'window-passed' | 'overdue';

export function urgency(c: Lifetime, now: number, ari?: RenewalWindow, revoked = false): Urgency | undefined {
  if (now >= c.notAfter) return 'expired';
  if (revoked) return 'revoked';
  if (ari && renewNow(ari, c, now)) return 'window-passed';
  if (renewalOverdue(c, now)) return 'overdue';
  return undefined;
}

export interface PlanInput {
  readonly now: number;
  readonly automated: boolean;
  /** The certificate the listener presents for this target, and whether ACME issued it. */
  readonly deployed?: Lifetime & { readonly acme: boolean };
  /** A staged certificate: when it was signed, and its lifetime. */
  readonly pending?: Lifetime & { readonly signed: number };
  readonly signing: boolean;
  /** Earliest time the next automated sign may start: just after a failure, or the end of a rate limit. */
  readonly signNotBefore?: number;
  /** Earliest time the next automated deploy may happen (after a failed deploy). */
  readonly deployNotBefore?: number;
  readonly schedule: Schedule;
  readonly periodMs: number;
  readonly seed: string;
  /** The CA's ARI window for the deployed certificate (its own certificate ID), when the CA gave one. */
  readonly ari?: RenewalWindow;
  /** The deployed certificate is known to be revoked. */
  readonly revoked?: boolean;
  /** This peer's share of every drawn moment, in a cluster. */
  readonly slot?: RenewalSlot;
}

export interface Plan {
  /** Epoch ms of the next automated sign (may be ≤ now: sign now), or undefined. */
  readonly nextSign?: number;
  readonly nextDeploy?: number;
  /** Set when the renewal cannot wait: sign now, deploy when signed (an alarm should say why). */
  readonly urgent?: Urgency;
}

/** What the automated mode will do next for one target. */
export function plan(p: PlanInput): Plan {
  if (!p.automated) return {};
  const urgent = p.deployed?.acme ? urgency(p.deployed, p.now, p.ari, p.revoked) : undefined;
  const period = p.deployed ? signPeriodFor(p.deployed, p.periodMs) : p.periodMs;
  if (p.pending !== undefined) {
    const nextDeploy = deployDecision({ ...p, pending: p.pending, urgent }).at;
    // A staged certificate that is itself due for renewal before it was deployed (a far slot,
    // short lifetimes) is replaced by a fresh one; until then it may still be deployed.
    if (p.signing || p.now < renewalTime(p.pending)) return { nextDeploy, ...(urgent ? { urgent } : {}) };
    const pendingPeriod = signPeriodFor(p.pending, p.periodMs);
    return { nextDeploy, nextSign: p.signNotBefore === undefined ? p.now : nextSignMoment(p.signNotBefore, pendingPeriod, p.seed, p.slot), ...(urgent ? { urgent } : {}) };
  }
  if (p.signing) return urgent ? { urgent } : {};
  // No ACME certificate yet: the first one is requested at once; after a failure (or a rate
  // limit), at the next drawn moment, like a renewal.
  if (!p.deployed || !p.deployed.acme) {
    return { nextSign: p.signNotBefore === undefined ? p.now : nextSignMoment(p.signNotBefore, period, p.seed, p.slot) };
  }
  const planned = p.ari
    ? Math.max(chooseRenewalMoment(p.ari, inSlot(unitFrom(p.seed, `ari/${p.ari.start}/${p.ari.end}`), p.slot)), p.signNotBefore ?? -Infinity)
    : nextSignMoment(Math.max(renewalTime(p.deployed), p.signNotBefore ?? -Infinity), period, p.seed, p.slot);
  // Urgent: no drawn moment, only the back-off after a failure holds the next attempt back.
  if (urgent) return { nextSign: p.signNotBefore ?? Math.min(p.now, planned), urgent };
  return { nextSign: planned };
}

export interface DeployInput {
  readonly deployed?: Lifetime;
  readonly pending: Lifetime & { readonly signed: number };
  readonly deployNotBefore?: number;
  readonly schedule: Schedule;
  readonly urgent?: Urgency;
}

export type DeployReason =
  /** The next scheduled day/time. */
  | 'slot'
  /** Four fifths of the certificate in use: the slot comes later, or no day is selected. */
  | 'deadline'
  /** When signed: the renewal is urgent (window passed, expired, revoked, overdue). */
  | 'urgent'
  /** When signed: the certificate in use expires before the next slot. */
  | 'expires-before-slot'
  /** No certificate in use and no day selected. */
  | 'no-slot';

/** When a staged certificate goes into service, and why (for the log and the alarm). */
export function deployDecision(d: DeployInput): { at: number; reason: DeployReason } {
  const from = Math.max(d.pending.signed, d.deployNotBefore ?? -Infinity);
  if (d.urgent) return { at: from, reason: 'urgent' };
  const slot = nextSlot(from, d.schedule);
  // The certificate in use would expire before the slot: waiting for it only risks an outage.
  // (A new certificate that would itself expire first is renewed again before the slot instead.)
  if (slot !== undefined && d.deployed !== undefined && slot >= d.deployed.notAfter) {
    return { at: from, reason: 'expires-before-slot' };
  }
  if (!d.deployed) return slot === undefined ? { at: from, reason: 'no-slot' } : { at: slot, reason: 'slot' };
  const deadline = Math.max(deployDeadline(d.deployed), from);
  return slot === undefined || slot > deadline ? { at: deadline, reason: 'deadline' } : { at: slot, reason: 'slot' };
}

/** Back-off for order-level retries: base·2^attempt, capped, with ±25 % jitter from `unit`. */
export function backoff(attempt: number, baseMs: number, capMs: number, unit: number): number {
  const raw = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.round(raw * (0.75 + 0.5 * unit));
}
