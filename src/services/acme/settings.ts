// The ACME service's fixed settings: well-known directories, revocation codes, and the bounds
// that keep every operation short (tests shorten them).
import type { AcmeProvider, RevocationReason } from '../interfaces.js';
import { DEFAULT_ISSUER_LIMITS } from './issuer.js';
import { DAY_MS } from './scheduler.js';

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
  /** After n consecutive failed orders, automated signing waits base·2^(n-1) (±25 %), at most the cap. */
  readonly failureBackoffBaseMs: number;
  readonly failureBackoffCapMs: number;
  /**
   * Automated orders running at once (a mass revocation makes every renewal due together). Four
   * keep the CA's per-client request rates low (Let's Encrypt: 20 new nonces/s, 40 directory
   * fetches/s per address, about 10 requests per order) and the appliance responsive.
   */
  readonly maxOrders: number;
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
  failureBackoffBaseMs: 10 * 60_000,
  failureBackoffCapMs: 12 * 3600_000,
  maxOrders: 4,
};

