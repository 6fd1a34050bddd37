// The tls-alpn-01 challenge certificate (RFC 8737 section 3): self-signed, the identifier as its
// single DNS name, and the critical id-pe-acmeIdentifier extension holding SHA-256 of the key
// authorization. The HTTPS listener serves it (setAlpnChallenge) to a validator that asks for
// ALPN `acme-tls/1` with that name as SNI, for as long as the order runs.
import crypto from 'node:crypto';
import { isFqdn } from '../../../schema/types.js';
import { ParameterError } from '../../errors.js';
import { buildCertificate, generateKey, privateKeyPem } from '../certs/build.js';

/** A validator holds the connection only for the handshake; a week covers any clock skew. */
const VALIDITY_MS = 7 * 86_400_000;

/** The identifier as the certificate names it; ParameterError unless a plain DNS name (no wildcard, RFC 8737 section 3). */
function alpnIdentifier(name: string): string {
  const n = name.toLowerCase();
  if (n.endsWith('.') || !isFqdn(n)) throw new ParameterError(`tls-alpn-01 needs a DNS name, not ${JSON.stringify(name.slice(0, 80))}`);
  return n;
}

/** The challenge certificate (PEM) for `name`, signed by `key` (ECDSA P-256 in practice). Pure. */
export function tlsAlpnCertificate(name: string, keyAuthorization: string, key: crypto.KeyObject, now: Date): string {
  const n = alpnIdentifier(name);
  const notBefore = new Date(now.getTime() - 60_000);
  return buildCertificate({
    commonName: n,
    altNames: [n],
    notBefore,
    notAfter: new Date(notBefore.getTime() + VALIDITY_MS),
    subjectKey: key,
    acmeIdentifier: crypto.createHash('sha256').update(keyAuthorization, 'utf8').digest(),
  });
}

/** A fresh ECDSA P-256 key and its challenge certificate, ready for `TlsService.setAlpnChallenge`. */
export async function tlsAlpnChallenge(name: string, keyAuthorization: string, now: Date): Promise<{ certPem: string; keyPem: string }> {
  const n = alpnIdentifier(name);
  const key = await generateKey('ECDSA-P256');
  return { certPem: tlsAlpnCertificate(n, keyAuthorization, key, now), keyPem: privateKeyPem(key) };
}
