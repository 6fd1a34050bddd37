// The server certificate, domain (SNI) certificates and the CSR, kept in the storage under certs/
// (layout in src/stores/generations.ts). An upload is written at once but served only after a restart (alarm meanwhile); a deploy
// (ACME) is written and swapped into the listener live.
import os from 'node:os';
import crypto from 'node:crypto';
import type {
  Actor, AlarmService, CertificateService, CertificateSource, CsrInfo, CsrRequest, DomainCertificate,
  InstalledCertificate, TlsService, TrustStore, UploadResult,
} from '../interfaces.js';
import { CommandError, DomainNotHosted, ParameterError } from '../../errors.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import { CertificateFiles, type GenerationStore, type GenerationRef, type Pair } from '../../stores/generations.js';
import type { Storage } from '../../stores/storage.js';
import { loadCurrent, pairMatches, toInstalled, type Loaded } from './installed.js';
import { checkUpload, isCertName } from './checks.js';
import { isoSeconds, type Decoded } from './x509.js';
import { domainName, isDomainName, isWildcard } from './domain-name.js';
import { buildCsr, generateKey, privateKeyPem, selfSigned } from './build.js';
import { ALARM_PREFIX, nextAlarmCheck, wantedAlarms } from './alarms.js';

export interface CertificateServiceDeps {
  readonly storage: Storage;
  /** The first self-signed certificate's key (RSA-2048 unless a test gives a fixture). */
  readonly firstKey?: () => crypto.KeyObject;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly alarms: AlarmService;
  readonly trust: TrustStore;
  /** SystemUnit Name, or '' (then the host name) for the first self-signed certificate. */
  readonly systemName: () => string;
  /** Called after every change, e.g. `(p) => status.changed(p)`. */
  readonly changed?: (path: readonly string[]) => void;
}

interface StoredCsr extends CsrInfo {
  readonly keyPem: string;
}

export const MAX_DOMAINS = 100;
export const MAX_ALT_NAMES = 100;

export class FileCertificateService implements CertificateService {
  private readonly server: GenerationStore;
  private readonly files: CertificateFiles;
  private activeCert: Loaded;
  private domainMap = new Map<string, { store: GenerationStore; loaded?: Loaded }>();
  private csrState: StoredCsr | undefined;
  private csrBusy = false;
  private tls: TlsService | undefined;
  private timer: { cancel(): void } | undefined;
  private started = false;

  /** Opens the store; on first start generates the self-signed certificate for the system name. */
  static async open(deps: CertificateServiceDeps): Promise<FileCertificateService> {
    return FileCertificateService.openSync(deps);
  }

  /** The same, synchronously (app.ts builds synchronously); the first-boot RSA-2048 key takes ~0.1 s once. */
  static openSync(deps: CertificateServiceDeps): FileCertificateService {
    const files = new CertificateFiles(deps.storage);
    const server = files.server;
    let loaded = loadCurrent(server, deps.logger);
    if (!loaded) {
      const host = deps.systemName() || os.hostname() || 'xway';
      const key = deps.firstKey ? deps.firstKey() : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const now = deps.clock.now();
      const pair: Pair = { certPem: selfSigned(key, host, now), chainPem: [], keyPem: privateKeyPem(key) };
      const ref: GenerationRef = { id: server.write(pair, now), source: 'SelfSigned', installed: isoSeconds(now) };
      server.setPointer({ current: ref });
      loaded = { ref, pair, installed: toInstalled(ref, pair) };
      deps.logger.log({ event: 'certs.self-signed', subject: loaded.installed.info.subject, serial: loaded.installed.info.serial });
    }
    return new FileCertificateService(deps, files, loaded);
  }

  private constructor(private readonly deps: CertificateServiceDeps, files: CertificateFiles, active: Loaded) {
    this.files = files;
    this.server = files.server;
    this.activeCert = active;
    const p = this.server.pointer();
    this.server.sweep(new Set([active.ref.id, p.current?.id, p.previous?.id]));
    this.loadDomains();
    const csr = files.readCsr();
    try {
      if (csr) this.csrState = JSON.parse(csr) as StoredCsr;
    } catch {
      // Only ever written by atomic rename; unreadable means outside interference. Start without it.
      deps.logger.log({ event: 'certs.csr-unreadable', level: 'error' });
    }
    this.refreshAlarms();
  }

  /** Connects the live listener: deploys and domain changes are swapped into it. */
  attach(tls: TlsService): void {
    this.tls = tls;
  }

  /** What the listener needs at start: the active server pair and every domain pair. */
  listenerMaterial(): { server: { certPem: string; keyPem: string }; domains: { name: string; certPem: string; keyPem: string }[] } {
    const full = (p: Pair) => p.certPem + p.chainPem.join('');
    const domains = [...this.domainMap].flatMap(([name, d]) => (d.loaded ? [{ name, certPem: full(d.loaded.pair), keyPem: d.loaded.pair.keyPem }] : []));
    return { server: { certPem: full(this.activeCert.pair), keyPem: this.activeCert.pair.keyPem }, domains };
  }

  /** Checks the expiry alarms now, then again whenever one would change (alarms.ts nextAlarmCheck). */
  start(): void {
    this.started = true;
    this.refreshAlarms();
  }

  stop(): void {
    this.started = false;
    this.timer?.cancel();
    this.timer = undefined;
  }

  active(): InstalledCertificate {
    return this.activeCert.installed;
  }

  pendingRestart(): InstalledCertificate | undefined {
    const cur = this.server.pointer().current;
    if (!cur || cur.id === this.activeCert.ref.id) return undefined;
    const pair = this.server.read(cur.id);
    return pair ? toInstalled(cur, pair) : undefined;
  }

  upload(pemText: string, actor: Actor): UploadResult {
    const now = this.deps.clock.now();
    const onDisk = this.server.pointer().current;
    const currentKey = (onDisk && this.server.read(onDisk.id)?.keyPem) ?? this.activeCert.pair.keyPem;
    const checked = checkUpload(pemText, { now, trusted: this.deps.trust.list(), csrKeyPem: this.csrState?.keyPem, currentKeyPem: currentKey });
    const pair: Pair = { certPem: checked.leaf.pem, chainPem: checked.chain.map((c) => c.pem), keyPem: checked.keyPem };
    const ref: GenerationRef = { id: this.server.write(pair, now), source: 'Uploaded', installed: isoSeconds(now) };
    this.server.setPointer({ current: ref, previous: this.activeCert.ref });
    if (checked.keySource === 'csr') this.dropCsr();
    this.server.sweep(new Set([ref.id, this.activeCert.ref.id]));
    this.audit(actor, 'Security Certificates Server Upload', 'staged; restart required', {
      serial: checked.leaf.info.serial, fingerprint: checked.leaf.info.fingerprint, warnings: checked.warnings.length,
    });
    this.afterChange();
    return { certificate: checked.leaf.info, warnings: checked.warnings };
  }

  async deploy(certPem: string, chainPem: readonly string[], keyPem: string | undefined, source: CertificateSource, actor: Actor): Promise<InstalledCertificate> {
    // A deploy points the store at the new pair, which would silently drop an admin's upload that
    // waits for a restart (and its alarm): refuse, and say how to go on.
    const waiting = this.pendingRestart();
    if (waiting) {
      throw new CommandError(`An uploaded server certificate (serial ${waiting.info.serial}) is waiting for a restart and a deploy would discard it`).needs('RestartThenDeploy');
    }
    const key = keyPem ?? this.csrState?.keyPem;
    if (!key) throw new CommandError('No private key was given and no CSR is in progress');
    const checked = checkUpload(joinPem(certPem, ...chainPem, key), { now: this.deps.clock.now(), trusted: this.deps.trust.list() });
    const previous = this.activeCert;
    const pointerBefore = this.server.pointer();
    const loaded = this.persist(checked.leaf.pem, checked.chain.map((c) => c.pem), checked.keyPem, source, previous.ref);
    try {
      await this.tls?.swapServer(loaded.pair.certPem + loaded.pair.chainPem.join(''), loaded.pair.keyPem);
    } catch (e) {
      // The listener refused it: the disk goes back to what it named before.
      this.server.setPointer(pointerBefore);
      throw e;
    }
    this.activeCert = loaded;
    this.server.sweep(new Set([loaded.ref.id, previous.ref.id]));
    this.audit(actor, 'Security Certificates Server Deploy', 'deployed', { source, serial: loaded.installed.info.serial });
    this.afterChange();
    return loaded.installed;
  }

  async rollback(actor: Actor, opts: { readonly revoked?: readonly string[]; readonly undo?: boolean } = {}): Promise<InstalledCertificate> {
    const p = this.server.pointer();
    if (p.current?.id !== this.activeCert.ref.id) {
      throw new CommandError('An uploaded certificate is waiting for a restart: restart or upload again before rolling back');
    }
    const prevPair = p.previous && this.server.read(p.previous.id);
    if (!p.previous || !prevPair || !pairMatches(prevPair)) throw new CommandError('There is no previous server certificate to roll back to');
    const target: Loaded = { ref: p.previous, pair: prevPair, installed: toInstalled(p.previous, prevPair) };
    // A deploy taking itself back restores what served a moment ago; an admin's rollback must not
    // put a certificate that clients will refuse back in service.
    if (!opts.undo) {
      const info = target.installed.info;
      if (Date.parse(info.notAfter) <= this.deps.clock.now().getTime()) {
        throw new CommandError(`The previous server certificate (serial ${info.serial}) expired on ${info.notAfter}: nothing was rolled back`);
      }
      if (opts.revoked?.includes(info.serial)) {
        throw new CommandError(`The previous server certificate (serial ${info.serial}) was revoked: nothing was rolled back`);
      }
    }
    this.server.setPointer({ current: target.ref, previous: this.activeCert.ref });
    await this.tls?.swapServer(prevPair.certPem + prevPair.chainPem.join(''), prevPair.keyPem);
    this.activeCert = target;
    this.audit(actor, 'Security Certificates Server Rollback', 'rolled back', { serial: target.installed.info.serial });
    this.afterChange();
    return target.installed;
  }

  csr(): CsrInfo | undefined {
    if (!this.csrState) return undefined;
    const { keyPem: _secret, ...info } = this.csrState;
    return info;
  }

  csrKeyPem(): string | undefined {
    return this.csrState?.keyPem;
  }

  async createCsr(req: CsrRequest, actor: Actor): Promise<CsrInfo> {
    if (this.csrState || this.csrBusy) {
      throw new CommandError('A CSR is already in progress').needs('DiscardCsr');
    }
    if (!isCertName(req.commonName)) throw new ParameterError(`Invalid CommonName ${JSON.stringify(req.commonName)}: expected a valid FQDN`);
    if (req.alternativeNames.length > MAX_ALT_NAMES) throw new ParameterError(`Too many AlternativeNames: at most ${MAX_ALT_NAMES}`);
    for (const n of req.alternativeNames) {
      if (!isCertName(n)) throw new ParameterError(`Invalid AlternativeNames entry ${JSON.stringify(n)}: expected a valid FQDN`);
    }
    // The CN goes into the SANs too: clients match names against SANs only.
    const sans = [...new Set([req.commonName, ...req.alternativeNames].map((n) => n.toLowerCase()))];
    this.csrBusy = true;
    try {
      const onDisk = this.server.pointer().current;
      const key = req.reuseKey
        ? crypto.createPrivateKey((onDisk && this.server.read(onDisk.id)?.keyPem) ?? this.activeCert.pair.keyPem)
        : await generateKey(req.keyType);
      const keyPem = privateKeyPem(key);
      const keyType = req.reuseKey ? (decodeKeyType(key) ?? req.keyType) : req.keyType;
      const stored: StoredCsr = {
        pem: buildCsr(key, req.commonName, sans), commonName: req.commonName, alternativeNames: sans, keyType,
        reusedKey: req.reuseKey, created: isoSeconds(this.deps.clock.now()), keyPem,
      };
      this.files.writeCsr(JSON.stringify(stored));
      this.csrState = stored;
    } finally {
      this.csrBusy = false;
    }
    this.audit(actor, 'Security Certificates CSR Create', 'created', { commonName: req.commonName, keyType: this.csrState.keyType, reuseKey: req.reuseKey });
    this.afterChange();
    return this.csr()!;
  }

  discardCsr(actor: Actor): void {
    if (!this.csrState) throw new CommandError('No CSR is in progress');
    this.dropCsr();
    this.audit(actor, 'Security Certificates CSR Discard', 'discarded');
    this.afterChange();
  }

  domains(): readonly DomainCertificate[] {
    return [...this.domainMap].sort(([a], [b]) => a.localeCompare(b)).map(([name, d]) => ({ name, certificate: d.loaded?.installed }));
  }

  addDomain(name: string, pemText: string | undefined, actor: Actor): DomainCertificate {
    const n = domainName(name);
    const existing = this.domainMap.get(n);
    if (existing && pemText === undefined) throw new CommandError(`The domain ${n} already exists`);
    if (!existing && this.domainMap.size >= MAX_DOMAINS) throw new CommandError(`At most ${MAX_DOMAINS} domains can be hosted`);
    let loaded: Loaded | undefined;
    if (pemText !== undefined) {
      const checked = checkUpload(pemText, { now: this.deps.clock.now(), trusted: this.deps.trust.list(), currentKeyPem: existing?.loaded?.pair.keyPem });
      if (!covers(checked.leaf, n)) throw new ParameterError(`The certificate does not cover the domain ${n}`);
      loaded = this.installDomain(n, checked.leaf.pem, checked.chain.map((c) => c.pem), checked.keyPem, 'Uploaded');
    } else {
      this.domainStore(n);
    }
    this.audit(actor, 'Security Certificates Domain Add', loaded ? 'added with certificate' : 'added', { domain: n, serial: loaded?.installed.info.serial });
    this.afterChange();
    return { name: n, certificate: loaded?.installed };
  }

  async deployDomain(name: string, certPem: string, chainPem: readonly string[], keyPem: string, source: CertificateSource, actor: Actor): Promise<InstalledCertificate> {
    const n = domainName(name);
    if (!this.domainMap.has(n)) throw new DomainNotHosted(n).needs('AddDomain');
    const checked = checkUpload(joinPem(certPem, ...chainPem, keyPem), { now: this.deps.clock.now(), trusted: this.deps.trust.list() });
    if (!covers(checked.leaf, n)) throw new ParameterError(`The certificate does not cover the domain ${n}`);
    const loaded = this.installDomain(n, checked.leaf.pem, checked.chain.map((c) => c.pem), checked.keyPem, source);
    this.audit(actor, 'Security Certificates Domain Deploy', 'deployed', { domain: n, source, serial: loaded.installed.info.serial });
    this.afterChange();
    return loaded.installed;
  }

  deleteDomain(name: string, actor: Actor): void {
    const n = domainName(name);
    if (!this.domainMap.has(n)) throw new DomainNotHosted(n);
    this.files.deleteDomain(n);
    this.domainMap.delete(n);
    this.tls?.setDomain(n, undefined);
    this.audit(actor, 'Security Certificates Domain Delete', 'deleted', { domain: n });
    this.afterChange();
  }

  /** Raises and lowers certificate alarms to match the certificates and the time; once started, schedules the next check. */
  refreshAlarms(): void {
    const pending = this.pendingRestart();
    const now = this.deps.clock.now();
    const inputs = {
      server: this.activeCert.installed.info,
      pending: pending?.info,
      domains: [...this.domainMap].map(([name, d]) => ({ name, info: d.loaded?.installed.info })),
      trusted: this.deps.trust.list(),
    };
    const wanted = wantedAlarms(inputs, now);
    if (this.started) {
      this.timer?.cancel();
      this.timer = this.deps.clock.setTimeout(() => this.refreshAlarms(), nextAlarmCheck(inputs, now) - now.getTime());
    }
    const ids = new Set(wanted.map((w) => w.id));
    for (const a of this.deps.alarms.list()) {
      if (a.id.startsWith(ALARM_PREFIX) && !ids.has(a.id)) this.deps.alarms.lower(a.id);
    }
    for (const w of wanted) this.deps.alarms.raise(w.id, w.title, w.severity);
  }

  private persist(certPem: string, chainPem: readonly string[], keyPem: string, source: CertificateSource, previous: GenerationRef): Loaded {
    const now = this.deps.clock.now();
    const pair: Pair = { certPem, chainPem, keyPem };
    const ref: GenerationRef = { id: this.server.write(pair, now), source, installed: isoSeconds(now) };
    this.server.setPointer({ current: ref, previous });
    return { ref, pair, installed: toInstalled(ref, pair) };
  }

  private domainStore(n: string): { store: GenerationStore; loaded?: Loaded } {
    let d = this.domainMap.get(n);
    if (!d) {
      d = { store: this.files.domain(n, true) };
      this.domainMap.set(n, d);
    }
    return d;
  }

  private installDomain(n: string, certPem: string, chainPem: readonly string[], keyPem: string, source: CertificateSource): Loaded {
    const d = this.domainStore(n);
    const now = this.deps.clock.now();
    const pair: Pair = { certPem, chainPem, keyPem };
    const ref: GenerationRef = { id: d.store.write(pair, now), source, installed: isoSeconds(now) };
    d.store.setPointer({ current: ref, previous: d.loaded?.ref });
    d.store.sweep(new Set([ref.id, d.loaded?.ref.id]));
    d.loaded = { ref, pair, installed: toInstalled(ref, pair) };
    this.tls?.setDomain(n, { certPem: certPem + chainPem.join(''), keyPem });
    return d.loaded;
  }

  private loadDomains(): void {
    for (const name of this.files.domainNames()) {
      if (!isDomainName(name)) continue;
      const store = this.files.domain(name);
      const loaded = loadCurrent(store, this.deps.logger);
      const p = store.pointer();
      store.sweep(new Set([p.current?.id, p.previous?.id]));
      this.domainMap.set(name, { store, loaded });
    }
  }

  private dropCsr(): void {
    this.files.removeCsr();
    this.csrState = undefined;
  }

  private afterChange(): void {
    this.refreshAlarms();
    this.deps.changed?.(['Security', 'Certificates']);
  }

  private audit(actor: Actor, what: string, result: string, extra: Record<string, unknown> = {}): void {
    this.deps.logger.audit({ who: actor.user, from: actor.remote, session: actor.session, what, result, ...extra });
  }
}

/** PEM parts from callers may lack their final newline; one per part keeps BEGIN lines apart. */
function joinPem(...parts: string[]): string {
  return parts.map((p) => p.trim() + '\n').join('');
}

/**
 * True when `leaf` serves the domain `n`: a host name as TLS clients check it; a wildcard only when
 * the certificate names that very wildcard (one for a.example.com does not serve *.example.com).
 */
function covers(leaf: Decoded, n: string): boolean {
  if (!isWildcard(n)) return leaf.x509.checkHost(n) !== undefined;
  // DNS names are the entries without a type prefix (splitSans); the CN counts only without them.
  const dns = leaf.info.subjectAltNames.filter((s) => !s.includes(':')).map((s) => s.toLowerCase());
  return (dns.length > 0 ? dns : [leaf.info.commonName.toLowerCase()]).includes(n);
}

function decodeKeyType(key: crypto.KeyObject): CsrInfo['keyType'] | undefined {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' && [2048, 3072, 4096].includes(d.modulusLength ?? 0)) return `RSA-${d.modulusLength}` as CsrInfo['keyType'];
  if (d.namedCurve === 'prime256v1') return 'ECDSA-P256';
  if (d.namedCurve === 'secp384r1') return 'ECDSA-P384';
  return undefined;
}
