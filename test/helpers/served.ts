// What the HTTPS listener presents: one real TLS handshake with a server name (SNI), no trust check.
import type crypto from 'node:crypto';
import tls from 'node:tls';
import { spawn } from 'node:child_process';
import { ACME_TLS_1 } from '../../src/services/tls/sni.js';

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

/** What `openssl s_client -alpn acme-tls/1` prints for `servername` (a TLS-ALPN-01 validator's view). */
export function sClient(port: number, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', servername, '-alpn', ACME_TLS_1], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('close', () => { clearTimeout(timer); resolve(out); });
    p.stdin.end('Q\n');
  });
}
