// A real Pebble ACME CA for tests and benchmarks: pebble + pebble-challtestsrv (mock DNS answering 127.0.0.1),
// on free loopback ports, owned by this process and killed by pid (never by name: the machine is
// shared). Pebble's own HTTPS certificate is made here with openssl; its issuing root is new at
// every start and fetched from the management port.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import dgram from 'node:dgram';
import https from 'node:https';
import http from 'node:http';

export interface PebbleOptions {
  /** The port pebble's validator connects to for HTTP-01: the appliance's HTTP listener. */
  httpPort: number;
  /** The port pebble's validator connects to for TLS-ALPN-01: the appliance's HTTPS listener (a free, unused port unless given). */
  tlsPort?: number;
  /** External account binding keys (kid → base64url HMAC key); makes EAB required. */
  eab?: Record<string, string>;
  /** certificateValidityPeriod in seconds (pebble's default is about five years). */
  validitySeconds?: number;
  /** PEBBLE_WFE_NONCEREJECT percentage; 0 unless given. */
  nonceReject?: number;
  /** Keep pebble's random validator sleeps (PEBBLE_VA_NOSLEEP unset); PEBBLE_VA_SLEEPTIME when a number. */
  vaSleep?: boolean | number;
  /** PEBBLE_AUTHZREUSE percentage; 0 unless given (every order needs fresh challenges). */
  authzReuse?: number;
  /** What the mock DNS answers for every A query; 127.0.0.1 unless given. */
  defaultIPv4?: string;
  /** `host:port` of the DNS server pebble's validator asks (e.g. a BIND with the test zone); default: the mock DNS. */
  dnsServer?: string;
}

export interface Pebble {
  readonly directoryUrl: string;
  readonly managementUrl: string;
  /** The CA that signed pebble's HTTPS certificate: append it to the trust store to talk to pebble. */
  readonly httpsCaPem: string;
  readonly pid: number;
  /** Pebble's issuing root (new at every start). */
  rootPem(): Promise<string>;
  intermediatePem(): Promise<string>;
  /** `/cert-status-by-serial/<hex>`: { Status: 'Valid' | 'Revoked', Reason?, ... }. */
  certStatus(serialHex: string): Promise<{ Status: string; Reason?: number; RevokedAt?: string }>;
  /** Makes the mock DNS answer `addresses` for `host` (A records). */
  setA(host: string, addresses: string[]): Promise<void>;
  /** Kills pebble at once (SIGKILL), leaving challtestsrv up: a CA that dies mid-order. */
  killCa(): void;
  /** Stops everything; safe to call twice. */
  stop(): Promise<void>;
  /** What pebble printed, for failure messages. */
  output(): string;
}

/** A TCP port that was free a moment ago (and, with `udp`, free for UDP too). */
export async function freePort(udp = false): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (!udp) return port;
    const ok = await new Promise<boolean>((resolve) => {
      const u = dgram.createSocket('udp4');
      u.once('error', () => { u.close(); resolve(false); });
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port pair found');
}

let certCache: { dir: string; caPem: string; cert: string; key: string } | undefined;

/** Pebble's HTTPS identity: an EC P-256 CA and a localhost certificate (DNS:localhost, IP:127.0.0.1). */
export function httpsIdentity(): { caPem: string; cert: string; key: string } {
  if (certCache && fs.existsSync(certCache.cert)) return certCache;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xway-pebble-certs-'));
  const o = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  o(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
    '-subj', '/CN=xway test pebble CA', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  o(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost',
    '-keyout', 'key.pem', '-out', 'leaf.csr']);
  fs.writeFileSync(path.join(dir, 'ext.cnf'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n');
  o(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '30',
    '-extfile', 'ext.cnf', '-out', 'cert.pem']);
  certCache = {
    dir,
    caPem: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    cert: path.join(dir, 'cert.pem'),
    key: path.join(dir, 'key.pem'),
  };
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return certCache;
}

function get(url: string, ca: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout fetching ${url}`)));
    req.on('error', reject);
  });
}

function post(url: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const data = JSON.stringify(body);
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', timeout: 2000, headers: { 'content-length': Buffer.byteLength(data) } },
      (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout posting ${url}`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** Bounded by time only (generous: a loaded machine starts pebble slowly), never by a count of tries. */
async function waitUntil(what: string, ok: () => Promise<boolean>, child: ChildProcess, out: () => string, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() <= deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited early:\n${out()}`);
    if (await ok().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${what} not ready within ${ms} ms:\n${out()}`);
}

function own(child: ChildProcess, sink: string[]): void {
  const keep = (b: Buffer) => { sink.push(b.toString('utf8')); if (sink.length > 2000) sink.splice(0, 1000); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
}

function killPid(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 3000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    try { process.kill(child.pid!, 'SIGKILL'); } catch { clearTimeout(timer); resolve(); }
  });
}

/** Starts challtestsrv and pebble; registers `teardown` to stop both when given. */
export async function startPebble(opts: PebbleOptions, teardown?: (fn: () => Promise<void>) => void): Promise<Pebble> {
  const id = httpsIdentity();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xway-pebble-'));
  const [acmePort, mgmtPort, dnsPort, dnsMgmtPort] = [await freePort(), await freePort(), await freePort(true), await freePort()];

  const dnsOut: string[] = [];
  const dns = spawn('pebble-challtestsrv', [
    '-dns01', `127.0.0.1:${dnsPort}`, '-management', `127.0.0.1:${dnsMgmtPort}`,
    '-http01', '', '-https01', '', '-tlsalpn01', '',
    '-defaultIPv4', opts.defaultIPv4 ?? '127.0.0.1', '-defaultIPv6', '',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  own(dns, dnsOut);

  const cfg = {
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${mgmtPort}`,
      certificate: id.cert,
      privateKey: id.key,
      httpPort: opts.httpPort,
      tlsPort: opts.tlsPort ?? await freePort(),
      ocspResponderURL: '',
      externalAccountBindingRequired: !!opts.eab,
      ...(opts.eab ? { externalAccountMACKeys: opts.eab } : {}),
      ...(opts.validitySeconds ? { certificateValidityPeriod: opts.validitySeconds } : {}),
    },
  };
  const cfgFile = path.join(dir, 'pebble-config.json');
  fs.writeFileSync(cfgFile, JSON.stringify(cfg, null, 2));

  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('PEBBLE_')) delete env[k];
  env.PEBBLE_WFE_NONCEREJECT = String(opts.nonceReject ?? 0);
  env.PEBBLE_AUTHZREUSE = String(opts.authzReuse ?? 0);
  if (!opts.vaSleep) env.PEBBLE_VA_NOSLEEP = '1';
  else if (typeof opts.vaSleep === 'number') env.PEBBLE_VA_SLEEPTIME = String(opts.vaSleep);

  const caOut: string[] = [];
  let ca: ChildProcess | undefined;
  const stop = async () => {
    await Promise.all([ca ? killPid(ca) : Promise.resolve(), killPid(dns)]);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  teardown?.(stop);
  try {
    await waitUntil('pebble-challtestsrv', async () => {
      // Any HTTP answer from the management port means it is up.
      return new Promise<boolean>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port: dnsMgmtPort, path: '/', timeout: 500 }, (res) => { res.resume(); resolve(true); });
        req.on('error', () => resolve(false));
        req.on('timeout', () => { req.destroy(); resolve(false); });
      });
    }, dns, () => dnsOut.join(''));

    ca = spawn('pebble', ['-config', cfgFile, '-dnsserver', opts.dnsServer ?? `127.0.0.1:${dnsPort}`, '-strict=false'], {
      stdio: ['ignore', 'pipe', 'pipe'], env,
    });
    own(ca, caOut);
    const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
    await waitUntil('pebble', async () => (await get(directoryUrl, id.caPem, 500)).status === 200, ca, () => caOut.join(''));
  } catch (e) {
    await stop();
    throw e;
  }

  const managementUrl = `https://127.0.0.1:${mgmtPort}`;
  const fetchPem = async (p: string) => {
    const r = await get(managementUrl + p, id.caPem);
    if (r.status !== 200) throw new Error(`pebble ${p}: HTTP ${r.status}`);
    return r.body;
  };
  return {
    directoryUrl: `https://127.0.0.1:${acmePort}/dir`,
    managementUrl,
    httpsCaPem: id.caPem,
    pid: ca!.pid!,
    rootPem: () => fetchPem('/roots/0'),
    intermediatePem: () => fetchPem('/intermediates/0'),
    async certStatus(serialHex) {
      // Pebble prints serials in lower-case hex without leading zeros.
      const s = serialHex.replace(/:/g, '').toLowerCase().replace(/^0+(?=.)/, '');
      const r = await get(`${managementUrl}/cert-status-by-serial/${s}`, id.caPem);
      if (r.status !== 200) throw new Error(`pebble cert-status-by-serial/${s}: HTTP ${r.status} ${r.body}`);
      return JSON.parse(r.body) as { Status: string; Reason?: number; RevokedAt?: string };
    },
    async setA(host, addresses) {
      const status = await post(`http://127.0.0.1:${dnsMgmtPort}/add-a`, { host, addresses });
      if (status !== 200) throw new Error(`challtestsrv add-a: HTTP ${status}`);
    },
    killCa() {
      if (ca?.pid !== undefined && ca.exitCode === null && ca.signalCode === null) process.kill(ca.pid, 'SIGKILL');
    },
    stop,
    output: () => caOut.join(''),
  };
}
