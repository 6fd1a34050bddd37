// The one way ACME commands reach the service: Unavailable when app.ts has not wired it.
import type { AcmeService, Services } from '../../../src/services/interfaces.js';
import type { Fields } from '../../define.js';
import type { CertificateInfo } from '../../../src/services/interfaces.js';
import { Unavailable } from '../../../src/errors.js';
import { fqdn } from '../../../schema/types.js';
import { param } from '../../define.js';

export function acmeOf(services: Services): AcmeService {
  if (!services.acme) throw new Unavailable('The ACME certificate service is not running');
  return services.acme;
}

/** The optional `Domain:` parameter shared by Sign, Pending and Deploy. */
export const domainParam = param(fqdn(), 'Hosted SNI domain; omit for the server certificate');

/** A decoded certificate as result fields (never key material). */
export function certificateFields(i: CertificateInfo): Fields {
  return {
    Subject: i.subject,
    Issuer: i.issuer,
    SerialNumber: i.serial,
    NotBefore: i.notBefore,
    NotAfter: i.notAfter,
    SubjectAltNames: i.subjectAltNames.join(', '),
    KeyType: i.keyType,
    SignatureAlgorithm: i.signatureAlgorithm,
    Fingerprint: i.fingerprint,
  };
}
