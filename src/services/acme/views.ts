// What the service decides and shows about a target, from what it holds: the renewal plan
// (scheduler.ts applied to the certificate in use, the staged one and the record) and the status
// view (status.ts turns it into the `Security Acme` subtree). Reads only; never throws for a
// staged certificate that no longer parses.
import type { CertificateService } from '../interfaces.js';
import type { Clock } from '../../platform/clock.js';
import { lifetimeOf, splitChain, stagedLifetime } from './chain.js';
import { deployedOf } from './deployer.js';
import type { PendingRepository } from './pending.js';
import type { OrderRunner } from './runner.js';
import { plan, renewalWindow, type Plan, type RenewalSlot } from './scheduler.js';
import type { AriWatch } from './ari-watch.js';
import type { AcmeLimits } from './settings.js';
import type { AccountStatus, DryRunStatus, Outcome, TargetView } from './status.js';
import type { Target } from './target.js';
import type { ChallengeTypeWord } from '../../../schema/sets.js';

export interface ViewSources {
  /** `Security Acme <key>` from the configuration. */
  readonly cfg: (key: 'Scheduler Mode' | 'Scheduler Days' | 'Scheduler Time') => string;
  readonly challengeType: (t: Target) => ChallengeTypeWord;
  readonly accountStatus: () => AccountStatus;
  readonly repo: PendingRepository;
  readonly runner: Pick<OrderRunner, 'isRunning' | 'progress' | 'published'>;
  readonly certificates: Pick<CertificateService, 'active' | 'domains'>;
  readonly clock: Clock;
  readonly limits: AcmeLimits;
  /** The latest dry run of a target (kept in memory only: a dry run stores nothing). */
  readonly dryRun: (t: Target) => Outcome<DryRunStatus>;
  /** The CA's renewal windows, as last received. */
  readonly ari: Pick<AriWatch, 'window'>;
  /** This peer's renewal slot in a cluster; undefined standalone. */
  readonly slot: () => RenewalSlot | undefined;
}

export function planFor(s: ViewSources, t: Target): Plan {
  const automated = s.cfg('Scheduler Mode') === 'On' && s.accountStatus() === 'Valid';
  const deployed = deployedOf(s.certificates, t);
  // Domains join automated renewal once ACME has deployed their certificate.
  if (t.domain !== undefined && !deployed?.acme) return {};
  const staged = s.repo.staged(t);
  const rec = s.repo.record(t);
  const ari = deployed?.acme ? s.ari.window(t, deployed.pem) : undefined;
  // A certificate in use that the CA confirmed revoked from here (Acmerevoke racing a Rollback,
  // or a record restored with it): renewed at once, like an expired one.
  const revoked = deployed?.acme === true && s.repo.revoked.includes(deployed.info.serial);
  const slot = s.slot();
  return plan({
    now: s.clock.now().getTime(),
    automated,
    deployed: deployed ? { ...lifetimeOf(deployed.info), acme: deployed.acme } : undefined,
    pending: staged ? { ...stagedLifetime(staged.pem), signed: Date.parse(staged.signed) } : undefined,
    signing: s.runner.isRunning(t),
    signNotBefore: rec.signNotBefore,
    deployNotBefore: rec.deployNotBefore,
    schedule: { days: s.cfg('Scheduler Days'), time: s.cfg('Scheduler Time') },
    periodMs: s.limits.signPeriodMs,
    seed: s.repo.seed,
    ...(slot ? { slot } : {}),
    ...(ari ? { ari } : {}),
    ...(revoked ? { revoked } : {}),
  });
}

export function targetView(s: ViewSources, t: Target, account: AccountStatus): TargetView {
  const rec = s.repo.record(t);
  const staged = s.repo.staged(t);
  let pending: TargetView['pending'];
  if (staged) {
    try {
      const { info } = splitChain(staged.pem);
      pending = { subject: info.subject, serial: info.serial, notAfter: info.notAfter };
    } catch {
      pending = undefined;
    }
  }
  const pl = planFor(s, t);
  const now = s.clock.now().getTime();
  const deployed = deployedOf(s.certificates, t);
  const ariWindow = deployed?.acme ? s.ari.window(t, deployed.pem) : undefined;
  return {
    account,
    automated: s.cfg('Scheduler Mode') === 'On',
    signing: s.runner.isRunning(t),
    progress: s.runner.progress(t),
    challengeType: s.challengeType(t),
    published: s.runner.published(t),
    lastSign: rec.lastSign,
    lastDeploy: rec.lastDeploy,
    lastDryRun: s.dryRun(t),
    latest: rec.latest,
    pending,
    deployedByAcme: deployed?.acme ?? false,
    renewal: {
      // Only a certificate ACME manages has a window; the CA's when it gave one for this certificate.
      ...(deployed?.acme ? { window: renewalWindow(lifetimeOf(deployed.info), s.limits.signPeriodMs, ariWindow) } : {}),
      explanationUrl: ariWindow ? rec.ari?.explanationUrl ?? '' : '',
      lastCheck: rec.ari?.lastCheck,
      failures: rec.failures ?? 0,
    },
    nextSign: pl.nextSign === undefined ? undefined : Math.max(pl.nextSign, now),
    nextDeploy: pl.nextDeploy === undefined ? undefined : Math.max(pl.nextDeploy, now),
  };
}
