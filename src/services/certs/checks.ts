// The checks a server (or domain) certificate upload must pass, as a pure function of the input,
// the time, the trusted CAs and the keys on hand. Refusals are ParameterError/CommandError naming
// the check that failed; everything else that is wrong but survivable comes back as warnings.
import crypto from 'node:crypto';
import { CommandError, ParameterError } from '../../errors.js';
import { isFqdn } from '../../../schema/types.js';
import { CERTIFICATE_LIMITS, type TrustedCa } from '../interfaces.js';
import { isKeyBlock, parsePem, type PemBlock } from './pem.js';
import { decodeCertificate, WEAK_SIGNATURES, type Decoded } from './x509.js';

export const MAX_UPLOAD_BYTES = CERTIFICATE_LIMITS.uploadBytes;

export interface UploadContext {
  readonly now: Date;
  readonly trusted: readonly TrustedCa[];
  /** The key of the CSR in progress, if any: supplying another key is then refused. */
  readonly csrKeyPem?: string;
  /** The current key, used when no key is supplied and there is no CSR. */
  readonly currentKeyPem?: string;
}

export interface CheckedUpload {
  readonly leaf: Decoded;
  readonly chain: readonly Decoded[];
  readonly keyPem: string;
  readonly keySource: 'supplied' | 'csr' | 'current';
  readonly warnings: readonly string[];
  readonly missingCn: boolean;
}

/** `*.example.com` or a plain FQDN. */
export function isCertName(name: string): boolean {
  return isFqdn(name.startsWith('*.') ? name.slice(2) : name);
}

function loadKey(b: PemBlock): crypto.KeyObject {
  if (b.label === 'ENCRYPTED PRIVATE KEY' || b.encryptedHeader) {
    throw new ParameterError('The private key is encrypted: upload it without a passphrase');
  }
  try {
    return crypto.createPrivateKey({ key: b.pem, format: 'pem' });
  } catch {
    throw new ParameterError(`The private key (line ${b.line}) is malformed`);
  }
}

function matches(leaf: Decoded, keyPem: string | undefined): boolean {
  if (!keyPem) return false;
  try {
    return leaf.x509.checkPrivateKey(crypto.createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** True when `c` is issued and signed by `issuer`. */
export function signedBy(c: crypto.X509Certificate, issuer: crypto.X509Certificate): boolean {
  try {
    return c.checkIssued(issuer) && c.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * Walks from the leaf through the supplied chain to a trusted CA (at most 8 links). Candidates in
 * the trust store are found by issuer name first, so 1000 entries cost only string compares.
 */
export function chainTrusted(leaf: crypto.X509Certificate, chain: readonly crypto.X509Certificate[], trusted: readonly TrustedCa[]): boolean {
  const trustedFps = new Set(trusted.map((t) => t.fingerprint));
  const bySubject = new Map<string, TrustedCa[]>();
  for (const t of trusted) {
    const list = bySubject.get(t.subject) ?? [];
    list.push(t);
    bySubject.set(t.subject, list);
  }
  let cur = leaf;
  for (let depth = 0; depth < 8; depth++) {
    if (trustedFps.has(cur.fingerprint256.toUpperCase())) return true;
    const issuerName = (cur.issuer ?? '').split('\n').filter((s) => s !== '').join(', ');
    for (const t of bySubject.get(issuerName) ?? []) {
      if (signedBy(cur, new crypto.X509Certificate(t.pem))) return true;
    }
    const next = chain.find((c) => c !== cur && signedBy(cur, c));
    if (!next) return false;
    cur = next;
  }
  return false;
}

/** Chain certificates accepted with a server certificate at most (the path from leaf to root is rarely over 3). */
export const MAX_CHAIN = 9;

/**
 * The supplied certificates that form the leaf's issuer chain, in order from the leaf's issuer up;
 * the others are left out, so a paste of unrelated certificates never reaches the TLS handshake
 * (400 of them once made every client fail with "excessive message size").
 */
export function linkedChain(leaf: Decoded, supplied: readonly Decoded[]): Decoded[] {
  const out: Decoded[] = [];
  let cur = leaf;
  while (out.length < supplied.length) {
    if (cur !== leaf && cur.x509.checkIssued(cur.x509)) break; // reached a self-signed root
    const next = supplied.find((c) => !out.includes(c) && c !== cur && signedBy(cur.x509, c.x509));
    if (!next) break;
    out.push(next);
    cur = next;
  }
  return out;
}

/**
 * Checks an upload: certificate first, then any chain certificates, then at most one private key.
 * Order of refusals: malformed input, encrypted key, key while a CSR is in progress, key mismatch,
 * expiry, SAN names, CN.
 */
export function checkUpload(pemText: string, ctx: UploadContext): CheckedUpload {
  if (Buffer.byteLength(pemText) > MAX_UPLOAD_BYTES) {
    throw new ParameterError(`The certificate upload is too large: at most ${MAX_UPLOAD_BYTES} bytes`);
  }
  const blocks = parsePem(pemText);
  const certBlocks: PemBlock[] = [];
  const keyBlocks: PemBlock[] = [];
  for (const b of blocks) {
    if (isKeyBlock(b)) keyBlocks.push(b);
    else if (b.label === 'CERTIFICATE') certBlocks.push(b);
    else throw new ParameterError(`The ${b.label} block at line ${b.line} is not expected: paste the certificate, its chain and the private key`);
  }
  if (certBlocks.length === 0) throw new ParameterError('No certificate found: expected -----BEGIN CERTIFICATE----- before the key');
  // Counted before anything is decoded: decoding hundreds of stray certificates costs seconds.
  if (certBlocks.length > MAX_CHAIN + 1) {
    throw new ParameterError(`The upload holds ${certBlocks.length} certificates: at most ${MAX_CHAIN + 1} (the certificate and its chain)`);
  }
  if (keyBlocks.length > 1) throw new ParameterError('More than one private key was supplied: expected one');
  const [leaf, ...supplied] = certBlocks.map((b, i) => decodeCertificate(b, i === 0 ? 'The certificate' : `Chain certificate ${i}`));
  const chain = linkedChain(leaf!, supplied);
  const suppliedKey = keyBlocks[0] ? loadKey(keyBlocks[0]) : undefined;
  if (suppliedKey && ctx.csrKeyPem) {
    throw new CommandError('A private key cannot be uploaded while a CSR is in progress: discard the CSR or upload the certificate without the key');
  }
  let keyPem: string;
  let keySource: CheckedUpload['keySource'];
  if (suppliedKey) {
    if (!leaf!.x509.checkPrivateKey(suppliedKey)) throw new ParameterError('The private key does not match the certificate');
    keyPem = suppliedKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    keySource = 'supplied';
  } else if (ctx.csrKeyPem) {
    if (!matches(leaf!, ctx.csrKeyPem)) throw new ParameterError('The certificate does not match the key of the CSR in progress');
    keyPem = ctx.csrKeyPem;
    keySource = 'csr';
  } else if (matches(leaf!, ctx.currentKeyPem)) {
    keyPem = ctx.currentKeyPem!;
    keySource = 'current';
  } else {
    throw new ParameterError('No private key was supplied and the certificate does not match the current key');
  }
  const info = leaf!.info;
  const now = ctx.now.getTime();
  if (Date.parse(info.notAfter) < now) throw new ParameterError(`The certificate expired on ${info.notAfter}`);
  for (const san of info.subjectAltNames) {
    const isDnsOrIp = san.startsWith('IP:') || !/^[A-Za-z ]+:/.test(san);
    if (isDnsOrIp && !isCertName(san)) throw new ParameterError(`Subject alternative name must be a valid FQDN: ${san}`);
  }
  if (info.commonName && !isCertName(info.commonName)) throw new ParameterError(`Common name must be a valid FQDN: ${info.commonName}`);

  const warnings: string[] = [];
  const stray = supplied.length - chain.length;
  if (stray > 0) {
    warnings.push(`${stray === 1 ? '1 certificate does' : `${stray} certificates do`} not belong to the certificate's issuer chain and ${stray === 1 ? 'was' : 'were'} left out`);
  }
  const missingCn = info.commonName === '';
  if (missingCn) warnings.push('The certificate has no common name (CN): some services do not work without one');
  // Five minutes of clock skew between the CA and us is normal, not worth a warning.
  if (Date.parse(info.notBefore) > now + 300_000) warnings.push(`The certificate is not valid before ${info.notBefore}`);
  const rsaBits = /^RSA-(\d+)$/.exec(info.keyType);
  if (rsaBits && Number(rsaBits[1]) < 2048) warnings.push(`The key is weak (${info.keyType}): use RSA 2048 bits or more, or ECDSA`);
  for (const c of [leaf!, ...chain]) {
    if (WEAK_SIGNATURES.has(c.info.signatureAlgorithm) && !(c !== leaf && c.x509.checkIssued(c.x509))) {
      warnings.push(`The signature algorithm of ${c === leaf ? 'the certificate' : c.info.subject} is weak (${c.info.signatureAlgorithm})`);
    }
  }
  for (const c of chain) {
    if (Date.parse(c.info.notAfter) < now) warnings.push(`Chain certificate ${c.info.subject} expired on ${c.info.notAfter}`);
  }
  if (!chainTrusted(leaf!.x509, chain.map((c) => c.x509), ctx.trusted)) {
    warnings.push('The issuer chain is not trusted: add the issuing CA with xCommand Security Certificates CA Add');
  }
  return { leaf: leaf!, chain, keyPem, keySource, warnings, missingCn };
}
