// The TLS settings of the HTTPS listener, in one place. Every secure context (the server's, each
// SNI domain's, and every swap) is built from these, because Node's setSecureContext() replaces
// all options: a swap that forgot one would silently drop the floor or break resumption.
import crypto from 'node:crypto';
import tls from 'node:tls';

/** TLS 1.3 suites, then TLS 1.2 ECDHE with AEAD only (no CBC, no RSA key exchange, no DHE). */
export const CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const MIN_VERSION: tls.SecureVersion = 'TLSv1.2';

/** Seconds a session (ticket) stays resumable. */
export const SESSION_TIMEOUT = 3600;

/** Keys for session tickets: made once per listener and kept across every swap. */
export function newTicketKeys(): Buffer {
  return crypto.randomBytes(48);
}

/** Every option of a secure context, for the given certificate (with chain) and key. */
export function contextOptions(certPem: string, keyPem: string, ticketKeys: Buffer): tls.SecureContextOptions {
  return {
    cert: certPem,
    key: keyPem,
    minVersion: MIN_VERSION,
    ciphers: CIPHERS,
    honorCipherOrder: true,
    ecdhCurve: 'X25519:P-256:P-384',
    sessionTimeout: SESSION_TIMEOUT,
    ticketKeys,
  };
}
