// How certificate commands shape their results; results never carry key material.
import type { CertificateInfo, CsrInfo } from '../../../src/services/interfaces.js';
import { ParameterError, XapiError } from '../../../src/errors.js';
import { str } from '../../../schema/types.js';
import { param, type CommandContext, type Fields } from '../../define.js';

/** `File:` names a file in the upload area (/tmp as the admin sees it). */
export const fileParam = param(str(1, 1024), 'A PEM file in /tmp (uploaded with scp/sftp), instead of a pasted body');

/** The pasted body or the `File:`, never both; at most `maxBytes`. */
export function pemInput(file: string | undefined, ctx: CommandContext, maxBytes: number): string {
  if (file !== undefined && ctx.payload !== undefined && ctx.payload.trim() !== '') {
    throw new ParameterError('Give either a pasted PEM body or File, not both');
  }
  if (file !== undefined) return ctx.services.uploads.read(file, maxBytes).toString('utf8');
  if (ctx.payload === undefined || ctx.payload.trim() === '') throw new ParameterError('Missing PEM input: paste it after the command (end with a line holding ".") or give File');
  return ctx.payload;
}

/**
 * Runs `use` on PEM input; a ParameterError about it names where the input came from (the File,
 * or the pasted body), so a refused paste never reads as a parameter the admin did not give.
 */
export function namingInput<T>(file: string | undefined, use: () => T): T {
  try {
    return use();
  } catch (e) {
    if (!(e instanceof XapiError) || e.code !== 'ParameterError' || 'Parameter' in e.fields) throw e;
    throw new XapiError('ParameterError', e.message, { ...e.fields, Parameter: file !== undefined ? `File: ${file}` : 'the pasted PEM body' });
  }
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
