// Certificates as the ACME service handles them: a chain from the CA split and decoded, the
// lifetime the scheduler reasons about, the names a certificate covers.
import type { CertificateInfo } from '../interfaces.js';
import { parsePem } from '../certs/pem.js';
import { decodeCertificate } from '../certs/x509.js';
import type { Lifetime } from './scheduler.js';

export function lifetimeOf(info: CertificateInfo): Lifetime {
  return { notBefore: Date.parse(info.notBefore), notAfter: Date.parse(info.notAfter) };
}

/** Leaf first; every block must be a certificate. */
export function splitChain(pem: string): { leaf: string; chain: string[]; info: CertificateInfo } {
  const blocks = parsePem(pem, 'certificate chain');
  const decoded = blocks.map((b, i) => decodeCertificate(b, `Certificate ${i + 1} from the CA`));
  return { leaf: decoded[0]!.pem, chain: decoded.slice(1).map((d) => d.pem), info: decoded[0]!.info };
}

/**
 * `fn` remembering its answers for the last `max` PEM texts (oldest forgotten first). The renewal
 * job plans every target after each order and deploy: with 101 targets in a mass renewal,
 * decoding the same certificates again (~0.3 ms a chain) was most of the appliance's CPU.
 */
export function memoByPem<T>(fn: (pem: string) => T, max = 256): (pem: string) => T {
  const seen = new Map<string, T>();
  return (pem) => {
    if (seen.has(pem)) return seen.get(pem)!;
    const v = fn(pem);
    if (seen.size >= max) seen.delete(seen.keys().next().value!);
    seen.set(pem, v);
    return v;
  };
}

export const stagedLifetime = memoByPem((pem: string): Lifetime => {
  try {
    return lifetimeOf(splitChain(pem).info);
  } catch {
    return { notBefore: 0, notAfter: 0 };
  }
});

export function namesOf(info: CertificateInfo): string[] {
  const names = info.subjectAltNames.filter((n) => !n.includes(':'));
  if (info.commonName && !info.commonName.includes(' ')) names.push(info.commonName);
  return [...new Set(names.map((n) => n.toLowerCase()))];
}
