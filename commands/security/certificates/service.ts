// How certificate commands shape their results; results never carry key material.
import type { CertificateInfo, CsrInfo } from '../../../src/services/interfaces.js';
import { ParameterError, PermissionDenied, XapiError } from '../../../src/errors.js';
import { str } from '../../../schema/types.js';
import { param, type CommandContext, type Fields } from '../../define.js';

/** `File:` names a file in the upload area (/tmp as the admin sees it). */
export const fileParam = param(str(1, 1024), 'A PEM file in /tmp (uploaded with scp/sftp), instead of a pasted body', { file: true });

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
 * After a successful install from `File:`: a file that held a private key is deleted from /tmp.
 * It has served its purpose, and left there it would outlive the key's use (backups, mistakes).
 * Returns the field that says so, or nothing.
 */
export function consumeKeyFile(file: string | undefined, ctx: CommandContext, pemText: string): Fields {
  if (file === undefined || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pemText)) return {};
  ctx.services.uploads.remove(file);
  return { FileDeleted: file };
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

/**
 * PEM goes to a file in /tmp, never into a reply: quoted line by line it could not be pasted
 * anywhere. Returns the name as the admin sees it (fetch it with scp/sftp). Files are the Admin's
 * only (ReadOnly accounts have no access to /tmp), so asking for one needs the Admin role.
 */
export function pemFile(ctx: CommandContext, name: string, pem: string): string {
  if (ctx.actor.role !== 'Admin') throw new PermissionDenied('PEM output (a file in /tmp)');
  return ctx.services.uploads.write(name, pem.trim() + '\n');
}

/** The CSR in progress as result fields (its key never leaves the service); its PEM as a file for an Admin. */
export function csrFields(csr: CsrInfo, ctx: CommandContext): Fields {
  return {
    CommonName: csr.commonName,
    AlternativeNames: csr.alternativeNames.join(', '),
    KeyType: csr.keyType,
    ReusedKey: csr.reusedKey ? 'True' : 'False',
    Created: csr.created,
    ...(ctx.actor.role === 'Admin' ? { File: pemFile(ctx, CSR_FILE, csr.pem) } : {}),
  };
}

export const CSR_FILE = 'xway-csr.pem';

/** Adds `Warning 1..n` only when there are warnings. */
export function withWarnings(fields: Fields, warnings: readonly string[]): Fields {
  return warnings.length ? { ...fields, Warning: [...warnings] } : fields;
}
