// ACME figures, against one real Pebble in one run (no validator sleep):
// - one issuance with the account in place (ECDSA), from `xCommand Security Acme Sign Wait: True`
//   to the staged certificate, through the real command path of a built appliance; versus
//   certbot and lego (Debian packages) issuing one certificate each against the same Pebble
//   (their accounts registered first, as ours is). Target: at most 0.1x certbot.
// - a deploy (`xCommand Security Acme Deploy`) while 200 TLS handshakes a second arrive from a
//   worker thread: failed handshakes (target zero) and the time the deploy takes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { buildApp } from '../src/app.js';
import { startPebble, freePort, type Pebble } from './acme-pebble.js';
import type { Figure } from './report.js';
import { acmeAccount, median, timed, xapi } from './exec.js';

const ROUNDS = 7;


async function certbot(pebble: Pebble, httpPort: number, dir: string, caFile: string): Promise<number[]> {
  const env = { PATH: process.env.PATH, HOME: dir, REQUESTS_CA_BUNDLE: caFile, SSL_CERT_FILE: caFile };
  const base = [
    'certonly', '--standalone', '--non-interactive', '--agree-tos', '-m', 'admin@example.com', '--no-eff-email',
    '--server', pebble.directoryUrl, '--http-01-port', String(httpPort), '--http-01-address', '127.0.0.1',
    '--config-dir', path.join(dir, 'etc'), '--work-dir', path.join(dir, 'work'), '--logs-dir', path.join(dir, 'logs'),
    '--key-type', 'ecdsa', '--elliptic-curve', 'secp256r1',
  ];
  const out: number[] = [];
  // The first run registers the account; the timed runs find it in place.
  for (let i = 0; i <= 3; i++) {
    const r = await timed('certbot', [...base, '-d', `certbot${i}.example.com`], env);
    if (r.code !== 0) throw new Error(`certbot failed:\n${r.out.slice(-2000)}`);
    if (i > 0) out.push(r.ms);
  }
  return out;
}

async function lego(pebble: Pebble, httpPort: number, dir: string, caFile: string): Promise<number[]> {
  const env = { PATH: process.env.PATH, HOME: dir, LEGO_CA_CERTIFICATES: caFile };
  const out: number[] = [];
  for (let i = 0; i <= 3; i++) {
    const r = await timed('lego', [
      '--accept-tos', '--email', 'admin@example.com', '--server', pebble.directoryUrl, '--http', '--http.port', `127.0.0.1:${httpPort}`,
      '--key-type', 'ec256', '--domains', `lego${i}.example.com`, '--path', path.join(dir, 'lego'), 'run',
    ], env);
    if (r.code !== 0) throw new Error(`lego failed:\n${r.out.slice(-2000)}`);
    if (i > 0) out.push(r.ms);
  }
  return out;
}

function load(port: number, ms: number, rate: number): Promise<{ started: number; done: number; failed: number; errors: Record<string, number>; serials: Record<string, number>; secs: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./acme-load.js', import.meta.url), { workerData: { port, servername: 'bench.example.com', ms, rate } });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

export default async function acmeBench(): Promise<Figure[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xway-bench-acme-'));
  const httpPort = await freePort();
  const stops: (() => Promise<void>)[] = [];
  const pebble = await startPebble({ httpPort }, (fn) => void stops.push(fn));
  const caFile = path.join(dir, 'pebble-https-ca.pem');
  fs.writeFileSync(caFile, pebble.httpsCaPem);
  let httpsPort = 0;
  const app = buildApp({
    dataDir: path.join(dir, 'data'), adminPassword: 'bench password', logSink: { write: () => {} }, announce: () => {},
    httpsAddress: () => ({ host: '127.0.0.1', port: httpsPort }),
  });
  const figures: Figure[] = [];
  try {
    httpsPort = await app.web.web.listenHttps(0, '127.0.0.1');
    await app.web.web.listenHttp(httpPort, '127.0.0.1');
    await acmeAccount(app, pebble.httpsCaPem, pebble.directoryUrl);
    await xapi(app, 'xCommand Security Certificates CSR Create CommonName: bench.example.com KeyType: ECDSA-P256');

    // Issuance: one warm-up, then ROUNDS timed orders (each a new order with new challenges).
    await xapi(app, 'xCommand Security Acme Sign Wait: True');
    const ours: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const start = performance.now();
      const out = await xapi(app, 'xCommand Security Acme Sign Wait: True');
      ours.push(performance.now() - start);
      if (!/Status: "?Succeeded"?/.test(out)) throw new Error(`sign did not succeed:\n${out}`);
    }

    // Deploy under 200 handshakes/s: 6 s of load, the deploy 2 s in.
    const loading = load(httpsPort, 6000, 200);
    await new Promise((r) => setTimeout(r, 2000));
    const dStart = performance.now();
    const dOut = await xapi(app, 'xCommand Security Acme Deploy');
    const deployMs = performance.now() - dStart;
    const newSerial = /SerialNumber: "([0-9A-F]+)"/.exec(dOut)?.[1] ?? '?';
    const l = await loading;
    const sawNew = l.serials[newSerial] ?? 0;

    await app.close();
    const cb = await certbot(pebble, httpPort, path.join(dir, 'certbot'), caFile);
    const lg = await lego(pebble, httpPort, path.join(dir, 'lego'), caFile);

    const oursMs = median(ours);
    const certbotMs = median(cb);
    const legoMs = median(lg);
    figures.push(
      { name: 'ACME issuance, Sign Wait: True to staged (ECDSA, median)', value: oursMs, unit: 'ms', ratio: oursMs / certbotMs, peer: 'certbot', target: '<= 0.1x certbot', met: oursMs <= 0.1 * certbotMs },
      { name: 'certbot certonly --standalone, one certificate (median)', value: certbotMs, unit: 'ms' },
      { name: 'lego run --http, one certificate (median)', value: legoMs, unit: 'ms' },
      { name: 'ACME issuance versus lego', value: oursMs / legoMs, unit: 'x lego' },
      { name: 'Deploy under load: failed handshakes', value: l.failed, unit: `of ${l.started} (${(l.done / l.secs).toFixed(0)}/s)`, target: '0', met: l.failed === 0 && sawNew > 0 },
      { name: 'Deploy under load: Deploy command time', value: deployMs, unit: 'ms' },
      { name: 'Deploy under load: handshakes seeing the new certificate', value: sawNew, unit: 'handshakes' },
    );
    if (l.failed) figures.push({ name: `  failures: ${JSON.stringify(l.errors)}`, value: l.failed, unit: '' });
  } finally {
    await app.close();
    for (const s of stops) await s();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
