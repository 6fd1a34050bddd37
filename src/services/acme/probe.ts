// Asks the HTTPS listener, over a real handshake, which certificate it presents: after a deploy
// the service checks that new connections see the new serial.
import tls from 'node:tls';

/** The serial (upper-case hex) that `host:port` presents for `servername` (none: no SNI). */
export function tlsProbe(host: string, port: number, servername: string | undefined, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host, port, rejectUnauthorized: false, ...(servername ? { servername } : {}) }, () => {
      const cert = s.getPeerX509Certificate();
      s.destroy();
      if (!cert) reject(new Error('the listener presented no certificate'));
      else resolve(cert.serialNumber.toUpperCase());
    });
    s.setTimeout(timeoutMs, () => s.destroy(new Error(`no TLS handshake with ${host}:${port} within ${timeoutMs} ms`)));
    s.once('error', reject);
  });
}
