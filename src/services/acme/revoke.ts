// Revocation checks, pure: the certificate in use is never revoked, and control of the names is
// proven by a pending certificate from the same provider whose names cover them (Expressway's
// procedure: sign a CSR with the same names first). The CA request itself is the service's.
import type { AcmeProvider, CertificateInfo } from '../interfaces.js';
import { CommandError, ParameterError } from '../../errors.js';
import { parsePem } from '../certs/pem.js';
import { decodeCertificate } from '../certs/x509.js';
import { namesOf } from './chain.js';

/** Decodes the file's first certificate; ParameterError naming the file otherwise. */
export function certificateFromFile(raw: Buffer, shown: string): { info: CertificateInfo; pem: string } {
  try {
    const first = parsePem(raw.toString('utf8'), 'certificate')[0]!;
    const d = decodeCertificate(first, `The file ${shown}`);
    return { info: d.info, pem: d.pem };
  } catch (e) {
    throw e instanceof ParameterError ? e : new ParameterError(`The file ${shown} does not hold a PEM certificate`);
  }
}

export interface RevocationInput {
  readonly target: CertificateInfo;
  readonly provider: AcmeProvider;
  /** Certificates the listener presents now (server and domains). */
  readonly inUse: readonly CertificateInfo[];
  /** Pending certificates, with the provider that signed each. */
  readonly pending: readonly { info: CertificateInfo; provider: AcmeProvider }[];
}

/** Throws CommandError saying why `target` may not be revoked; returns the proving certificate. */
export function checkRevocation(r: RevocationInput): CertificateInfo {
  if (r.inUse.some((c) => c.fingerprint === r.target.fingerprint)) {
    throw new CommandError(`The certificate ${r.target.serial} is in use: deploy another certificate before revoking it`);
  }
  if (r.pending.some((p) => p.info.fingerprint === r.target.fingerprint)) {
    throw new CommandError('That is the pending certificate, which proves control of its names: discard it instead');
  }
  const wanted = namesOf(r.target);
  if (wanted.length === 0) throw new CommandError(`The certificate ${r.target.serial} names no DNS name: ACME did not issue it`);
  const proof = r.pending.find((p) => {
    if (p.provider !== r.provider) return false;
    const have = new Set(namesOf(p.info));
    return wanted.every((n) => have.has(n));
  });
  if (!proof) {
    throw new CommandError(`No pending certificate from ${r.provider} covers ${wanted.join(', ')}: sign a CSR with these names first to prove control`);
  }
  return proof.info;
}
