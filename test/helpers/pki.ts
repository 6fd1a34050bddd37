// A small PKI for tests: CAs, intermediates and leaves with exactly the defects a test needs,
// built with the product's own builder (cross-checked with `openssl verify` in the tests), plus
// a data directory, a clock and an actor.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Actor, Alarm, AlarmService, KeyType, Severity } from '../../src/services/interfaces.js';
import type { Clock } from '../../src/platform/clock.js';
import { Logger, memorySink } from '../../src/platform/log.js';
import { buildCertificate, generateKey, privateKeyPem } from '../../src/services/certs/build.js';

export const actor: Actor = { user: 'admin', role: 'Admin', remote: '127.0.0.1', session: 'test-1' };

export interface Issued {
  readonly pem: string;
  readonly x509: crypto.X509Certificate;
  readonly key: crypto.KeyObject;
  readonly keyPem: string;
}

const DAY = 86_400_000;

export interface CertOptions {
  cn?: string;
  sans?: string[];
  keyType?: KeyType | 'RSA-1024';
  key?: crypto.KeyObject;
  notBefore?: Date;
  notAfter?: Date;
  days?: number;
  weakSignature?: boolean;
  organization?: string;
  /** The serial's DER INTEGER content octets (random when omitted). */
  serial?: Buffer;
}

async function keyFor(o: CertOptions): Promise<crypto.KeyObject> {
  if (o.key) return o.key;
  if (o.keyType === 'RSA-1024') {
    return crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  }
  return generateKey(o.keyType ?? 'ECDSA-P256');
}

function issue(o: CertOptions, key: crypto.KeyObject, isCA: boolean, issuer?: Issued): Issued {
  const notBefore = o.notBefore ?? new Date(Date.now() - DAY);
  const notAfter = o.notAfter ?? new Date(notBefore.getTime() + (o.days ?? 365) * DAY);
  const pem = buildCertificate({
    commonName: o.cn, organization: o.organization, altNames: o.sans, notBefore, notAfter, isCA, subjectKey: key,
    issuer: issuer ? { cert: issuer.x509, key: issuer.key } : undefined, weakSignature: o.weakSignature, serial: o.serial,
  });
  return { pem, x509: new crypto.X509Certificate(pem), key, keyPem: privateKeyPem(key) };
}

export async function makeCa(o: CertOptions = {}, issuer?: Issued): Promise<Issued> {
  return issue({ cn: 'xway Test Root', organization: 'xway tests', ...o }, await keyFor(o), true, issuer);
}

export async function makeLeaf(issuer: Issued | undefined, o: CertOptions = {}): Promise<Issued> {
  const cn = o.cn ?? 'edge.example.com';
  const sans = o.sans ?? (cn ? [cn] : []);
  return issue({ ...o, cn, sans }, await keyFor(o), false, issuer);
}

/** A leaf whose CN is absent (the CN option set to ''). */
export async function makeLeafWithoutCn(issuer: Issued, sans: string[]): Promise<Issued> {
  return issue({ cn: '', sans }, await generateKey('ECDSA-P256'), false, issuer);
}

export function encryptedPkcs8(key: crypto.KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }) as string;
}

/** The legacy OpenSSL form with Proc-Type/DEK-Info headers (RSA keys only). */
export function encryptedLegacy(key: crypto.KeyObject): string {
  return key.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }) as string;
}

export function tmpDir(t: { teardown(fn: () => void): void }, prefix = 'xway-certs-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A clock the test moves by hand; timers never fire on their own. */
export function manualClock(start = new Date()): Clock & { set(d: Date): void; advanceDays(n: number): void } {
  let now = start;
  return {
    now: () => now,
    monotonic: () => now.getTime(),
    setTimeout: () => ({ cancel() {} }),
    set(d) { now = d; },
    advanceDays(n) { now = new Date(now.getTime() + n * DAY); },
  };
}

export function testLogger(): { logger: Logger; lines: string[] } {
  const sink = memorySink();
  return { logger: new Logger(sink), lines: sink.lines };
}

/** The AlarmService contract in memory (the app's implementation also feeds xStatus). */
export class MemoryAlarms implements AlarmService {
  private readonly raised = new Map<string, Alarm>();
  raise(id: string, title: string, severity: Severity): void {
    const prev = this.raised.get(id);
    this.raised.set(id, { id, title, severity, raised: prev?.raised ?? new Date().toISOString() });
  }
  lower(id: string): void { this.raised.delete(id); }
  list(): Alarm[] { return [...this.raised.values()]; }
  ids(): string[] { return [...this.raised.keys()].sort(); }
}

/** Every file under `dir` with its mode and SHA-256, to prove that nothing changed. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const full = path.join(d, name);
      const st = fs.statSync(full);
      if (st.isDirectory()) walk(full);
      else out[path.relative(dir, full)] = `${(st.mode & 0o777).toString(8)} ${crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex')}`;
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/** Runs openssl with arguments; returns status and output (never throws). */
export function openssl(args: string[], input?: string): { status: number; out: string } {
  const r = spawnSync('openssl', args, { input, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** Signs a CSR with `ca` the way an external CA would (openssl x509 -req, extensions copied). */
export function signCsrWithOpenssl(t: { teardown(fn: () => void): void }, ca: Issued, csrPem: string): { status: number; out: string; pem: string } {
  const dir = tmpDir(t);
  const f = (name: string) => path.join(dir, name);
  fs.writeFileSync(f('ca.pem'), ca.pem);
  fs.writeFileSync(f('ca.key'), ca.keyPem);
  fs.writeFileSync(f('req.pem'), csrPem);
  const r = openssl(['x509', '-req', '-in', f('req.pem'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '30', '-copy_extensions', 'copy', '-out', f('signed.pem')]);
  return { ...r, pem: r.status === 0 ? fs.readFileSync(f('signed.pem'), 'utf8') : '' };
}
