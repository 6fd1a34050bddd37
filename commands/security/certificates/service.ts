// How certificate commands reach their services and shape their results. Unavailable when app.ts
// has not wired a service; results never carry key material.
import type { CertificateInfo, CertificateService, CsrInfo, Services, TlsService, TrustStore } from '../../../src/services/interfaces.js';
import { ParameterError, Unavailable } from '../../../src/errors.js';
import { str } from '../../../schema/types.js';
import { param, one, type Args, type CommandContext, type Fields } from '../../define.js';

export function trustOf(services: Services): TrustStore {
  if (!services.trust) throw new Unavailable('The trust store is not running');
  return services.trust;
}

export function certsOf(services: Services): CertificateService {
  if (!services.certificates) throw new Unavailable('The certificate service is not running');
  return services.certificates;
}

export function tlsOf(services: Services): TlsService | undefined {
  return services.tls;
}

/** `File:` names a file in the upload area (/tmp as the admin sees it). */
export const fileParam = param(str(1, 1024), 'A PEM file in /tmp (uploaded with scp/sftp), instead of a pasted body', { file: true });

/** The pasted body or the `File:`, never both; at most `maxBytes`. */
export function pemInput(args: Args, ctx: CommandContext, maxBytes: number): string {
  const file = one(args, 'File') as string | undefined;
  if (file !== undefined && ctx.payload !== undefined && ctx.payload.trim() !== '') {
    throw new ParameterError('Give either a pasted PEM body or File, not both');
  }
  if (file !== undefined) return ctx.services.uploads.read(file, maxBytes).toString('utf8');
  if (ctx.payload === undefined || ctx.payload.trim() === '') throw new ParameterError('Missing PEM input: paste it after the command (end with a line holding ".") or give File');
  return ctx.payload;
}

/** A decoded certificate as result fields. */
export function certFields(i: CertificateInfo): Fields {
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

/** PEM as a list of lines (`Pem 1: "-----BEGIN CERTIFICATE-----"` ...), one clean value each. */
export function pemLines(pem: string): string[] {
  return pem.trim().split('\n');
}

/** The CSR in progress as result fields (its key never leaves the service). */
export function csrFields(csr: CsrInfo): Fields {
  return {
    CommonName: csr.commonName,
    AlternativeNames: csr.alternativeNames.join(', '),
    KeyType: csr.keyType,
    ReusedKey: csr.reusedKey ? 'True' : 'False',
    Created: csr.created,
    Pem: pemLines(csr.pem),
  };
}

/** Adds `Warning 1..n` only when there are warnings. */
export function withWarnings(fields: Fields, warnings: readonly string[]): Fields {
  return warnings.length ? { ...fields, Warning: [...warnings] } : fields;
}
