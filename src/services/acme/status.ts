// The `xStatus Security Acme` subtree: a closed set of words per target, derived purely from
// the recorded state. Times are ISO 8601 UTC to the second, or "" when there is none.
import type { StatusTree } from '../interfaces.js';
import { ACME_STATUSES, type ChallengeTypeWord, type AccountStatus, type AcmeStatusWord, type DeployStatus, type DryRunStatus, type RenewalSource, type SignStatus } from '../../../schema/sets.js';

export type { AccountStatus, AcmeStatusWord, DeployStatus, DryRunStatus, SignStatus };
export const STATUS_WORDS: readonly AcmeStatusWord[] = ACME_STATUSES;

export interface Outcome<S extends string> {
  readonly status: S;
  /** ISO 8601 UTC, or "". */
  readonly time: string;
  readonly reason: string;
}

export const NO_SIGN: Outcome<SignStatus> = { status: 'None', time: '', reason: '' };
export const NO_DEPLOY: Outcome<DeployStatus> = { status: 'None', time: '', reason: '' };
export const NO_DRY_RUN: Outcome<DryRunStatus> = { status: 'None', time: '', reason: '' };

export interface TargetView {
  readonly account: AccountStatus;
  readonly automated: boolean;
  readonly signing: boolean;
  readonly progress: string;
  readonly challengeType: ChallengeTypeWord;
  /** What the running order publishes and where ('' when nothing). */
  readonly published: string;
  readonly lastSign: Outcome<SignStatus>;
  readonly lastDeploy: Outcome<DeployStatus>;
  /** The latest dry run: shown only, it takes no part in Status. */
  readonly lastDryRun: Outcome<DryRunStatus>;
  /** Which of the two was recorded last (times have whole seconds and may tie). */
  readonly latest?: 'sign' | 'deploy';
  readonly pending?: { readonly subject: string; readonly serial: string; readonly notAfter: string };
  /** The certificate in use for this target came from ACME. */
  readonly deployedByAcme: boolean;
  readonly nextSign?: number;
  readonly nextDeploy?: number;
  readonly renewal: {
    readonly window?: { readonly start: number; readonly end: number; readonly source: RenewalSource };
    readonly explanationUrl: string;
    readonly lastCheck?: number;
    readonly failures: number;
  };
}

/**
 * One word for scripts, first match wins:
 * Signing (an order runs) · Disabled (no account with the configured provider) · Failed (the
 * latest sign or deploy attempt failed) · Automated (scheduler on) · PendingDeploy (a signed
 * certificate waits) · Deployed (the certificate in use came from ACME) · Configured.
 */
export function deriveStatus(v: TargetView): AcmeStatusWord {
  if (v.signing) return 'Signing';
  if (v.account !== 'Valid') return 'Disabled';
  if (latestFailed(v)) return 'Failed';
  if (v.automated) return 'Automated';
  if (v.pending) return 'PendingDeploy';
  if (v.deployedByAcme) return 'Deployed';
  return 'Configured';
}

/** The most recent of LastSign / LastDeploy failed. */
function latestFailed(v: TargetView): boolean {
  if (v.latest === 'sign') return v.lastSign.status === 'Failed';
  if (v.latest === 'deploy') return v.lastDeploy.status === 'Failed';
  const s = v.lastSign.status === 'None' ? '' : v.lastSign.time;
  const d = v.lastDeploy.status === 'None' ? '' : v.lastDeploy.time;
  if (s === '' && d === '') return false;
  return s >= d ? v.lastSign.status === 'Failed' : v.lastDeploy.status === 'Failed';
}

export function iso(ms: number | undefined): string {
  return ms === undefined || !Number.isFinite(ms) ? '' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The fields shared by the server target and each `Domain n`. */
export function targetTree(v: TargetView): StatusTree {
  return {
    Status: deriveStatus(v),
    LastSign: { Status: v.lastSign.status, Time: v.lastSign.time, Reason: v.lastSign.reason, Progress: v.signing ? v.progress : '' },
    LastDeploy: { Status: v.lastDeploy.status, Time: v.lastDeploy.time, Reason: v.lastDeploy.reason },
    LastDryRun: { Status: v.lastDryRun.status, Time: v.lastDryRun.time, Reason: v.lastDryRun.reason },
    Pending: { Subject: v.pending?.subject ?? '', SerialNumber: v.pending?.serial ?? '', NotAfter: v.pending?.notAfter ?? '' },
    NextSign: iso(v.nextSign),
    NextDeploy: iso(v.nextDeploy),
    Renewal: {
      Window: { Start: iso(v.renewal.window?.start), End: iso(v.renewal.window?.end) },
      Source: v.renewal.window?.source ?? '',
      ExplanationUrl: v.renewal.explanationUrl,
      LastCheck: iso(v.renewal.lastCheck),
      Failures: v.renewal.failures,
    },
    Challenge: { Type: v.challengeType, Published: v.published },
  };
}

export function acmeTree(
  provider: string, account: AccountStatus, termsUrl: string, profiles: readonly string[], server: TargetView, domains: readonly (TargetView & { name: string; names?: string })[],
): StatusTree {
  const s = targetTree(server);
  return {
    Status: s.Status!,
    Provider: provider,
    Account: { Status: account, TermsUrl: termsUrl },
    Profiles: profiles.join(', '),
    LastSign: s.LastSign!,
    LastDeploy: s.LastDeploy!,
    LastDryRun: s.LastDryRun!,
    Pending: s.Pending!,
    NextSign: s.NextSign!,
    NextDeploy: s.NextDeploy!,
    Renewal: s.Renewal!,
    Challenge: s.Challenge!,
    ...(domains.length ? { Domain: domains.map((d) => ({ Name: d.name, ...(d.names !== undefined ? { Names: d.names } : {}), ...targetTree(d) })) } : {}),
  };
}
