// Deploying a staged certificate: install it through the certificate service (the listener's live
// swap), check with a fresh handshake that the listener presents it, and put the previous server
// certificate back when it does not. The outcome is recorded either way.
import type { AcmeDeployResult, Actor, CertificateInfo, CertificateService } from '../interfaces.js';
import { CommandError, ParameterError, diskFailure } from '../../errors.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import type { Lock } from '../../stores/storage.js';
import { splitChain } from './chain.js';
import type { PendingRepository } from './pending.js';
import { iso } from './status.js';
import type { Target } from './target.js';
import { reachingName } from '../certs/domain-name.js';

type Certificates = Pick<CertificateService, 'active' | 'domains' | 'deploy' | 'deployDomain' | 'rollback'>;

/** The certificate in use for a target, and whether ACME deployed it. */
export function deployedOf(certificates: Pick<CertificateService, 'active' | 'domains'>, t: Target): { info: CertificateInfo; acme: boolean; pem: string } | undefined {
  if (t.domain === undefined) {
    const a = certificates.active();
    return { info: a.info, acme: a.source === 'Acme', pem: a.certPem };
  }
  const d = certificates.domains().find((x) => x.name.toLowerCase() === t.domain)?.certificate;
  return d ? { info: d.info, acme: d.source === 'Acme', pem: d.certPem } : undefined;
}

export interface DeployerDeps {
  readonly certificates: Certificates;
  readonly repo: PendingRepository;
  /** A fresh TLS handshake with the HTTPS listener: the serial it presents for `servername`. */
  readonly probe?: (servername: string | undefined) => Promise<string>;
  /** One deploy per target, across everything sharing the storage. */
  readonly tryLock: (name: string) => Lock | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly audit: (actor: Actor, what: string, result: string, extra?: Record<string, unknown>) => void;
  readonly event: (t: Target, status: string, detail: string) => void;
  /** A deploy succeeded: re-check the renewal alarms. */
  readonly deployed: () => void;
  /** A deploy ended (status and the renewal plan may have changed). */
  readonly finished: () => void;
}

export class Deployer {
  constructor(private readonly deps: DeployerDeps) {}

  async deploy(t: Target, actor: Actor): Promise<AcmeDeployResult> {
    const { certificates, repo, clock } = this.deps;
    const staged = repo.staged(t);
    if (!staged) throw new CommandError(`There is no pending ACME certificate for ${t.label}`).needs('Sign');
    const parts = splitChain(staged.pem);
    const lock = this.deps.tryLock(`acme-deploy:${t.key}`);
    if (!lock) throw new CommandError(`A deploy of ${t.label} is already running`);
    try {
      const before = deployedOf(certificates, t);
      const previous = before ? repo.files.archiveCertificate(before.info.serial, before.pem) : '';
      const installed = t.domain === undefined
        ? await certificates.deploy(parts.leaf, parts.chain, staged.keyPem, 'Acme', actor)
        : await certificates.deployDomain(t.domain, parts.leaf, parts.chain, staged.keyPem, 'Acme', actor);
      // A wildcard is reached through a name one label under it, as its clients reach it.
      const servername = t.domain === undefined ? undefined : reachingName(t.domain, new Set(certificates.domains().map((d) => d.name)));
      const served = this.deps.probe ? (await this.deps.probe(servername)).toUpperCase() : undefined;
      if (served !== undefined && served !== installed.info.serial) {
        if (t.domain === undefined) await certificates.rollback(actor, { undo: true }).catch(() => undefined);
        throw new CommandError(`After the swap the listener still presents serial ${served}, not ${installed.info.serial}; the previous certificate is back`);
      }
      repo.deployed(t, { latest: 'deploy', lastDeploy: { status: 'Succeeded', time: this.nowIso(), reason: '' }, deployNotBefore: undefined });
      this.deps.audit(actor, 'Security Acme Deploy', 'deployed', { target: t.name, serial: installed.info.serial });
      this.deps.event(t, 'Deployed', installed.info.serial);
      this.deps.deployed();
      return { certificate: installed.info, servedSerial: served ?? installed.info.serial, previous };
    } catch (e) {
      const reason = e instanceof Error && 'code' in e ? (diskFailure(e)?.message ?? e.message) : 'Internal error while deploying; see the log';
      if (!(e instanceof CommandError || e instanceof ParameterError)) this.deps.logger.log({ event: 'acme.deploy-error', level: 'error', error: String(e) });
      repo.update(t, { latest: 'deploy', lastDeploy: { status: 'Failed', time: this.nowIso(), reason }, deployNotBefore: clock.now().getTime() + 60_000 });
      this.deps.event(t, 'DeployFailed', reason);
      throw e instanceof CommandError || e instanceof ParameterError ? e : new CommandError(reason);
    } finally {
      lock.release();
      this.deps.finished();
    }
  }

  private nowIso(): string {
    return iso(this.deps.clock.now().getTime());
  }
}
