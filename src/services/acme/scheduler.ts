// Automated renewal, as pure functions of (certificate, now, configuration, random seed).
// - Renewal is due when two thirds of the deployed certificate's lifetime have passed.
// - Signing happens at one of two random moments per period (a UTC day in production): one in
//   each half, drawn from HMAC(seed, period) so the plan is stable and shown in xStatus.
// - A staged certificate is deployed at the next scheduled day/time (UTC), or at the deadline
//   (four fifths of the deployed certificate's lifetime) when the next slot would come later:
//   a certificate is never left to expire while a renewed one waits.
// - Renewal is overdue (alarm) when five sixths of the lifetime have passed.
import crypto from 'node:crypto';
import { DAYS } from '../../../schema/types.js';

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

/** The two sign moments of period `index` (periods of `periodMs` from the epoch): one per half. */
export function signMoments(index: number, periodMs: number, seed: string): [number, number] {
  const start = index * periodMs;
  const half = periodMs / 2;
  const a = start + Math.floor(unitFrom(seed, `${index}/0`) * half);
  const b = start + half + Math.floor(unitFrom(seed, `${index}/1`) * half);
  return [a, b];
}

/** The first sign moment at or after `t`. */
export function nextSignMoment(t: number, periodMs: number, seed: string): number {
  const first = Math.floor(t / periodMs);
  for (let i = first; i < first + 3; i++) {
    for (const m of signMoments(i, periodMs, seed)) if (m >= t) return m;
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
}

export interface Plan {
  /** Epoch ms of the next automated sign (may be ≤ now: sign now), or undefined. */
  readonly nextSign?: number;
  readonly nextDeploy?: number;
}

/** What the automated mode will do next for one target. */
export function plan(p: PlanInput): Plan {
  if (!p.automated) return {};
  if (p.pending !== undefined) {
    const nextDeploy = planDeploy(p, p.pending.signed);
    // A staged certificate that is itself due for renewal before it was deployed (a far slot,
    // short lifetimes) is replaced by a fresh one; until then it may still be deployed.
    if (p.signing || p.now < renewalTime(p.pending)) return { nextDeploy };
    return { nextDeploy, nextSign: p.signNotBefore === undefined ? p.now : nextSignMoment(p.signNotBefore, p.periodMs, p.seed) };
  }
  if (p.signing) return {};
  // No ACME certificate yet: the first one is requested at once; after a failure (or a rate
  // limit), at the next drawn moment, like a renewal.
  if (!p.deployed || !p.deployed.acme) {
    return { nextSign: p.signNotBefore === undefined ? p.now : nextSignMoment(p.signNotBefore, p.periodMs, p.seed) };
  }
  const from = Math.max(renewalTime(p.deployed), p.signNotBefore ?? -Infinity);
  return { nextSign: nextSignMoment(from, p.periodMs, p.seed) };
}

function planDeploy(p: PlanInput, signed: number): number {
  const from = Math.max(signed, p.deployNotBefore ?? -Infinity);
  const slot = nextSlot(from, p.schedule);
  if (!p.deployed) return slot ?? from;
  const deadline = Math.max(deployDeadline(p.deployed), from);
  return slot === undefined || slot > deadline ? deadline : slot;
}

/** Back-off for order-level retries: base·2^attempt, capped, with ±25 % jitter from `unit`. */
export function backoff(attempt: number, baseMs: number, capMs: number, unit: number): number {
  const raw = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.round(raw * (0.75 + 0.5 * unit));
}
