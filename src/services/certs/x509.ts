// Decoding X.509 certificates into what users see. Node's crypto.X509Certificate does the parsing
// and chain checks; node-forge's ASN.1 reader supplies what Node 20 lacks (the signature
// algorithm and the certificate version).
import crypto from 'node:crypto';
import forge from 'node-forge';
import type { CertificateInfo } from '../interfaces.js';
import { ParameterError } from '../../errors.js';
import type { PemBlock } from './pem.js';

export interface Decoded {
  readonly x509: crypto.X509Certificate;
  readonly info: CertificateInfo;
  readonly pem: string;
  readonly version: number;
}

const SIG_NAMES: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'rsassaPss',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.2.840.10040.4.3': 'dsa-with-SHA1',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
};

/** Signature algorithms that no longer give an acceptable level of security. */
export const WEAK_SIGNATURES = new Set(['md5WithRSAEncryption', 'sha1WithRSAEncryption', 'ecdsa-with-SHA1', 'dsa-with-SHA1']);

/** Reads version and signature algorithm from the DER (Certificate ::= SEQ { tbs, sigAlg, sig }). */
function derFacts(der: Buffer): { version: number; signatureAlgorithm: string } {
  const cert = forge.asn1.fromDer(der.toString('binary'), { parseAllBytes: false, decodeBitStrings: false } as never) as forge.asn1.Asn1;
  const [tbs, sigAlg] = cert.value as forge.asn1.Asn1[];
  const first = (tbs!.value as forge.asn1.Asn1[])[0]!;
  let version = 1;
  if (first.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && first.type === 0) {
    const v = (first.value as forge.asn1.Asn1[])[0]!.value as string;
    version = v.charCodeAt(v.length - 1) + 1;
  }
  const oid = forge.asn1.derToOid((sigAlg!.value as forge.asn1.Asn1[])[0]!.value as string);
  return { version, signatureAlgorithm: SIG_NAMES[oid] ?? oid };
}

/** "C=US\nO=Org\nCN=x" → "C=US, O=Org, CN=x". */
function oneLine(dn: string | undefined): string {
  return (dn ?? '').split('\n').filter((s) => s !== '').join(', ');
}

function commonName(dn: string | undefined): string {
  const cns = (dn ?? '').split('\n').filter((s) => s.startsWith('CN='));
  return cns.length ? cns[cns.length - 1]!.slice(3) : '';
}

/** Node's "DNS:a, DNS:b, IP Address:1.2.3.4" (values with commas are quoted) → ["a", "b", "IP:1.2.3.4"]. */
export function splitSans(san: string | undefined): string[] {
  if (!san) return [];
  const out: string[] = [];
  const re = /\s*([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < san.length && (m = re.exec(san))) {
    const type = m[1]!.trim();
    let value = m[2]!.trim();
    if (value.startsWith('"')) value = JSON.parse(value) as string;
    if (type === 'DNS') out.push(value);
    else if (type === 'IP Address') out.push(`IP:${value}`);
    else out.push(`${type}:${value}`);
    if (m[0] === '') break;
  }
  return out;
}

export function keyTypeOf(key: crypto.KeyObject): string {
  const t = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails ?? {};
  if (t === 'rsa' || t === 'rsa-pss') return `RSA-${d.modulusLength ?? 0}`;
  if (t === 'ec') {
    const c = d.namedCurve;
    return c === 'prime256v1' ? 'ECDSA-P256' : c === 'secp384r1' ? 'ECDSA-P384' : c === 'secp521r1' ? 'ECDSA-P521' : `ECDSA-${c}`;
  }
  if (t === 'ed25519') return 'Ed25519';
  if (t === 'ed448') return 'Ed448';
  return String(t ?? 'unknown').toUpperCase();
}

export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Decodes one CERTIFICATE block; ParameterError naming its position when it is not X.509. */
export function decodeCertificate(block: PemBlock, position: string): Decoded {
  if (block.label !== 'CERTIFICATE' && block.label !== 'TRUSTED CERTIFICATE') {
    throw new ParameterError(`${position} is a ${block.label} block, not a certificate`);
  }
  let x509: crypto.X509Certificate;
  let facts: { version: number; signatureAlgorithm: string };
  try {
    x509 = new crypto.X509Certificate(block.der);
    facts = derFacts(block.der);
  } catch {
    throw new ParameterError(`${position} (line ${block.line}) is not a valid X.509 certificate`);
  }
  return { x509, pem: block.pem, version: facts.version, info: describe(x509, facts) };
}

function describe(x: crypto.X509Certificate, facts: { version: number; signatureAlgorithm: string }): CertificateInfo {
  // Version 1 roots carry no basicConstraints; a self-signed v1 certificate is a CA by convention.
  const isCA = x.ca || (facts.version === 1 && x.checkIssued(x));
  return {
    subject: oneLine(x.subject),
    issuer: oneLine(x.issuer),
    commonName: commonName(x.subject),
    serial: x.serialNumber.toUpperCase(),
    notBefore: isoSeconds(new Date(x.validFrom)),
    notAfter: isoSeconds(new Date(x.validTo)),
    subjectAltNames: splitSans(x.subjectAltName),
    fingerprint: x.fingerprint256.toUpperCase(),
    keyType: keyTypeOf(x.publicKey),
    signatureAlgorithm: facts.signatureAlgorithm,
    isCA,
  };
}

/** "ab:cd..." or "ABCD..." → "AB:CD:..." ; undefined when not 32 bytes of hex. */
export function normalizeFingerprint(fp: string): string | undefined {
  const hex = fp.replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) return undefined;
  return hex.match(/../g)!.join(':');
}

/** Whole days from `now` until `notAfter` (negative once expired). */
export function daysLeft(notAfter: string, now: Date): number {
  return Math.floor((Date.parse(notAfter) - now.getTime()) / 86_400_000);
}
