// Revocation as a flow: read the certificate the admin names (the upload area or the archive,
// hostile paths refused there), apply the rules in revoke.ts (never the certificate in use;
// control proven by a pending certificate from the same provider), then ask the CA, bounded by
// the order timeout. Audited whether the CA agrees or not.
import type { AcmeProvider, AcmeRevokeResult, Actor, CertificateService, RevocationReason, UploadArea } from '../interfaces.js';
import type { Clock } from '../../platform/clock.js';
import { ParameterError } from '../../errors.js';
import { ARCHIVE_PREFIX } from '../../stores/acme.js';
import { Deadline, type CertificateIssuer } from './issuer.js';
import { failureError, OrderFailure } from './reasons.js';
import { splitChain } from './chain.js';
import { REVOCATION_CODES, type AcmeLimits } from './settings.js';
import type { AcmeAccounts } from './accounts.js';
import { certificateFromFile, checkRevocation } from './revoke.js';
import type { PendingRepository } from './pending.js';
import { SERVER_TARGET, domainTarget } from './target.js';

const MAX_CERT_FILE = 64 * 1024;

export interface RevokerDeps {
  readonly issuer: CertificateIssuer;
  readonly repo: PendingRepository;
  readonly uploads: UploadArea;
  readonly accounts: Pick<AcmeAccounts, 'forRevocation'>;
  readonly certificates: Pick<CertificateService, 'active' | 'domains'>;
  /** The configured provider, for a Revoke that names none. */
  readonly provider: () => AcmeProvider;
  readonly clock: Clock;
  readonly limits: AcmeLimits;
  readonly audit: (actor: Actor, what: string, result: string, extra?: Record<string, unknown>) => void;
}

export class Revoker {
  constructor(private readonly deps: RevokerDeps) {}

  async revoke(certPath: string, providerIn: AcmeProvider | undefined, reason: RevocationReason, actor: Actor): Promise<AcmeRevokeResult> {
    const { repo, certificates, limits } = this.deps;
    // Both places a certificate to revoke may be, named up front (the upload area alone would
    // answer "files must be in /tmp").
    if (certPath.startsWith('/') && !certPath.startsWith('/tmp/') && !certPath.startsWith(ARCHIVE_PREFIX)) {
      throw new ParameterError(`Invalid CertPath ${JSON.stringify(certPath.slice(0, 80))}: expected /tmp/<file> (upload area) or ${ARCHIVE_PREFIX}<serial>.pem`);
    }
    const raw = certPath.startsWith(ARCHIVE_PREFIX)
      ? repo.files.readArchived(certPath, MAX_CERT_FILE)
      : this.deps.uploads.read(certPath, MAX_CERT_FILE);
    const { info, pem } = certificateFromFile(raw, certPath);
    const providerName = providerIn ?? this.deps.provider();
    const { provider: p, account } = this.deps.accounts.forRevocation(providerName);
    const domains = certificates.domains();
    checkRevocation({
      target: info,
      provider: providerName,
      inUse: [certificates.active().info, ...domains.flatMap((d) => (d.certificate ? [d.certificate.info] : []))],
      pending: [SERVER_TARGET, ...domains.map((d) => domainTarget(d.name))].flatMap((t) => {
        const staged = repo.staged(t);
        return staged ? [{ info: splitChain(staged.pem).info, provider: staged.provider }] : [];
      }),
    });
    const abort = new AbortController();
    const timer = this.deps.clock.setTimeout(() => abort.abort(new Deadline(Math.round(limits.orderTimeoutMs / 1000))), limits.orderTimeoutMs);
    try {
      const answer = await this.deps.issuer.revoke(p, account, pem, REVOCATION_CODES[reason], abort.signal);
      repo.noteRevoked(info.serial);
      this.deps.audit(actor, 'Acmerevoke', 'revoked', { serial: info.serial, provider: providerName, reason });
      return { serial: info.serial, reason, answer };
    } catch (e) {
      if (e instanceof OrderFailure) {
        this.deps.audit(actor, 'Acmerevoke', 'failed', { serial: info.serial, provider: providerName, reason: e.message });
        throw failureError(e);
      }
      throw e;
    } finally {
      timer.cancel();
    }
  }
}
