// The `xStatus Security Certificates` subtree (declared in schema/status.ts). The lead's Security
// provider composes it with the ACME subtree: `{ Certificates: certificatesStatus(...), Acme: ... }`.
import type { CertificateService, StatusTree, TrustStore } from '../interfaces.js';
import { daysLeft } from './x509.js';

export function certificatesStatus(certs: CertificateService, trust: TrustStore, now: Date): StatusTree {
  const { info, source } = certs.active();
  const tree: { [k: string]: StatusTree | StatusTree[] } = {
    Server: {
      Subject: info.subject,
      Issuer: info.issuer,
      SerialNumber: info.serial,
      NotBefore: info.notBefore,
      NotAfter: info.notAfter,
      DaysLeft: Math.max(0, daysLeft(info.notAfter, now)),
      SubjectAltNames: info.subjectAltNames.join(', '),
      KeyType: info.keyType,
      Fingerprint: info.fingerprint,
      Source: source,
      RestartRequired: certs.pendingRestart() ? 'True' : 'False',
    },
    TrustedCA: { Count: trust.count() },
    CSR: { State: certs.csr() ? 'InProgress' : 'None' },
  };
  const domains = certs.domains();
  if (domains.length > 0) {
    tree.Domain = domains.map((d): StatusTree => {
      const c = d.certificate;
      return c
        ? { Name: d.name, Subject: c.info.subject, SerialNumber: c.info.serial, NotAfter: c.info.notAfter, DaysLeft: Math.max(0, daysLeft(c.info.notAfter, now)), Fingerprint: c.info.fingerprint, Source: c.source }
        : { Name: d.name, Source: 'None' };
    });
  }
  return tree;
}
