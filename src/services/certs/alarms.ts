// Certificate alarms as pure decisions: given the certificates and the time, which alarms should
// be up. The service applies the difference to the AlarmService.
import type { CertificateInfo, Severity } from '../interfaces.js';
import { daysLeft } from './x509.js';

export type ExpiryLevel = 'ok' | 'expiring30' | 'expiring7' | 'expired';

export const EXPIRY_WARNING_DAYS = 30;
export const EXPIRY_ERROR_DAYS = 7;

export function expiryLevel(notAfter: string, now: Date): ExpiryLevel {
  const ms = Date.parse(notAfter) - now.getTime();
  if (ms <= 0) return 'expired';
  if (ms <= EXPIRY_ERROR_DAYS * 86_400_000) return 'expiring7';
  if (ms <= EXPIRY_WARNING_DAYS * 86_400_000) return 'expiring30';
  return 'ok';
}

export interface WantedAlarm {
  readonly id: string;
  readonly title: string;
  readonly severity: Severity;
}

/** Every alarm id this module may raise starts with this, so stale ones can be lowered. */
export const ALARM_PREFIX = 'certificates.';

function expiryAlarm(idBase: string, what: string, info: CertificateInfo, now: Date): WantedAlarm | undefined {
  const level = expiryLevel(info.notAfter, now);
  const days = daysLeft(info.notAfter, now);
  switch (level) {
    case 'expired':
      return { id: `${idBase}.expired`, title: `The ${what} expired on ${info.notAfter}`, severity: 'Critical' };
    case 'expiring7':
      return { id: `${idBase}.expiring7`, title: `The ${what} expires in ${days} days (${info.notAfter})`, severity: 'Error' };
    case 'expiring30':
      return { id: `${idBase}.expiring30`, title: `The ${what} expires in ${days} days (${info.notAfter})`, severity: 'Warning' };
    default:
      return undefined;
  }
}

export interface AlarmInputs {
  readonly server: CertificateInfo;
  /** An uploaded certificate waiting for a restart. */
  readonly pending?: CertificateInfo;
  readonly domains: readonly { name: string; info?: CertificateInfo }[];
  /** The trusted CAs: one alarm for those expired, one for those expiring within 30 days. */
  readonly trusted?: readonly CertificateInfo[];
}

function caNames(list: readonly CertificateInfo[]): string {
  const names = list.slice(0, 3).map((c) => c.commonName || c.subject || c.fingerprint);
  return names.join(', ') + (list.length > 3 ? ` and ${list.length - 3} more` : '');
}

function trustAlarms(trusted: readonly CertificateInfo[], now: Date): WantedAlarm[] {
  const expired = trusted.filter((c) => expiryLevel(c.notAfter, now) === 'expired');
  const expiring = trusted.filter((c) => ['expiring7', 'expiring30'].includes(expiryLevel(c.notAfter, now)));
  const out: WantedAlarm[] = [];
  const n = (k: number) => (k === 1 ? '1 trusted CA' : `${k} trusted CAs`);
  if (expired.length) {
    out.push({ id: `${ALARM_PREFIX}trust.expired`, title: `${n(expired.length)} expired and no longer verify anything: ${caNames(expired)}`, severity: 'Warning' });
  }
  if (expiring.length) {
    out.push({ id: `${ALARM_PREFIX}trust.expiring`, title: `${n(expiring.length)} ${expiring.length === 1 ? 'expires' : 'expire'} within ${EXPIRY_WARNING_DAYS} days: ${caNames(expiring)}`, severity: 'Warning' });
  }
  return out;
}

export function wantedAlarms(inputs: AlarmInputs, now: Date): WantedAlarm[] {
  const out: WantedAlarm[] = [];
  const server = expiryAlarm(`${ALARM_PREFIX}server`, 'server certificate', inputs.server, now);
  if (server) out.push(server);
  if (inputs.pending) {
    out.push({
      id: `${ALARM_PREFIX}restart-required`,
      title: 'A new server certificate was uploaded: restart (xCommand SystemUnit Boot) to use it',
      severity: 'Warning',
    });
  }
  // The certificate that will be served: the upload once it waits for a restart. The title names
  // which one, since the one in service may well have a CN.
  const served = inputs.pending ?? inputs.server;
  if (served.commonName === '') {
    const which = inputs.pending ? `uploaded server certificate waiting for a restart (serial ${served.serial})` : 'server certificate in service';
    out.push({ id: `${ALARM_PREFIX}server.no-cn`, title: `The ${which} has no common name (CN)`, severity: 'Warning' });
  }
  for (const d of inputs.domains) {
    if (!d.info) continue;
    const a = expiryAlarm(`${ALARM_PREFIX}domain.${d.name}`, `certificate for ${d.name}`, d.info, now);
    if (a) out.push(a);
  }
  out.push(...trustAlarms(inputs.trusted ?? [], now));
  return out;
}

const DAY_MS = 86_400_000;
/** The longest wait between checks: a bound against clock jumps (and timers past 2^31 ms). */
export const MAX_CHECK_INTERVAL_MS = DAY_MS;

/**
 * When the alarms next change if nothing else does: the earliest moment after `now` at which a
 * certificate crosses notAfter-30d, notAfter-7d or notAfter, or (inside 30 days) its "expires in
 * N days" count drops; at most MAX_CHECK_INTERVAL_MS ahead.
 */
export function nextAlarmCheck(inputs: AlarmInputs, now: Date): number {
  const t = now.getTime();
  let next = t + MAX_CHECK_INTERVAL_MS;
  const all = [inputs.server, inputs.pending, ...inputs.domains.map((d) => d.info), ...(inputs.trusted ?? [])];
  for (const c of all) {
    if (!c) continue;
    const end = Date.parse(c.notAfter);
    if (!Number.isFinite(end) || end <= t) continue;
    const left = end - t;
    // Beyond 30 days nothing changes until the warning starts; inside, the day count changes
    // daily and the level at notAfter-7d and notAfter, all of them whole days before notAfter.
    const at = left > EXPIRY_WARNING_DAYS * DAY_MS ? end - EXPIRY_WARNING_DAYS * DAY_MS : end - Math.floor(left / DAY_MS) * DAY_MS;
    next = Math.min(next, Math.max(at, t + 1));
  }
  return next;
}
