// What the HTTPS listener presents: one real TLS handshake with a server name (SNI), no trust check.
import type crypto from 'node:crypto';
import tls from 'node:tls';

/** The leaf certificate `127.0.0.1:port` presents for `servername`. */
export function servedCert(port: number, servername: string): Promise<crypto.X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const c = s.getPeerX509Certificate();
      s.destroy();
      if (c) resolve(c); else reject(new Error('no certificate'));
    });
    s.on('error', reject);
  });
}
