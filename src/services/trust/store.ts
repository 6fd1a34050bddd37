// The trusted CA list, kept as one PEM bundle (src/stores/trust.ts) rewritten atomically on every
// change: a crash leaves the old list or the new one, never a torn append. The decoded list lives
// in memory for cheap reads.
import crypto from 'node:crypto';
import tls from 'node:tls';
import { CERTIFICATE_LIMITS, type Actor, type CaAddResult, type CertificateInfo, type TrustStore, type TrustedCa } from '../interfaces.js';
import { Internal, ParameterError } from '../../errors.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import { TrustBundle } from '../../stores/trust.js';
import type { Storage } from '../../stores/storage.js';
import { isKeyBlock, parsePem, type PemBlock } from '../certs/pem.js';
import { decodeCertificate, normalizeFingerprint, type Decoded } from '../certs/x509.js';

export const MAX_TRUSTED_CAS = CERTIFICATE_LIMITS.maxTrustedCas;
export const MAX_CA_INPUT_BYTES = CERTIFICATE_LIMITS.caInputBytes;
export { BUNDLE_FILE } from '../../stores/trust.js';

export interface TrustStoreDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The default list; Node's bundled root certificates unless a test says otherwise (expired ones are left out). */
  readonly defaults?: () => readonly string[];
}

/**
 * The cluster's hold on changes (src/services/cluster/shared-trust.ts): admit() may refuse a change
 * before anything is written (no quorum); committed() publishes it to the other peers.
 */
export interface TrustGate {
  admit(actor: Actor): void;
  committed(actor: Actor): void;
}

function entry(d: Decoded): TrustedCa {
  return { ...d.info, pem: d.pem };
}

/**
 * A comment line per entry keeps the bundle readable; openssl and our parser skip it. Subjects are
 * free text from strangers (U+FFFD, NUL, C1 controls, bidi overrides, 64 KiB names): only printable
 * ASCII reaches the file, everything else as \u{...}, and the line is bounded.
 */
export function commentFor(c: CertificateInfo): string {
  const safe = [...c.subject].map((ch) => (/^[\x20-\x7e]$/.test(ch) ? ch : `\\u{${ch.codePointAt(0)!.toString(16).toUpperCase()}}`)).join('');
  return `# ${safe.length > 200 ? safe.slice(0, 200) + '...' : safe}`;
}

function serialize(list: readonly TrustedCa[]): string {
  return list.map((c) => `${commentFor(c)}\n${c.pem}`).join('');
}

/**
 * Whatever is accepted must load again: the text about to be stored is parsed back the way a start
 * reads it, and must give exactly the same certificates in the same order. Throws Internal otherwise
 * (the store is left as it was).
 */
function proveRoundTrip(text: string, list: readonly TrustedCa[]): void {
  let back: string[];
  try {
    // A block that reads back as the very text an entry was decoded from decodes as that entry did
    // (decoding depends on the bytes alone): only the others are decoded again. Decoding all of
    // them made every change of a 150-CA list cost ~60 ms, twice per CA added in a cluster.
    back = text.trim() === '' ? [] : parsePem(text).map((b, i) => (b.label === 'CERTIFICATE' && b.pem === list[i]?.pem ? list[i].fingerprint : decodeCertificate(b, 'Stored CA').info.fingerprint));
  } catch (e) {
    throw new Internal(`The trust store could not be written so that it reads back (${(e as Error).message}); nothing was changed`);
  }
  if (back.length !== list.length || back.some((fp, i) => fp !== list[i]!.fingerprint)) {
    throw new Internal('The trust store could not be written so that it reads back; nothing was changed');
  }
}

export class FileTrustStore implements TrustStore {
  private entries: TrustedCa[] = [];
  private byFingerprint = new Map<string, TrustedCa>();
  private pems: string[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly bundle: TrustBundle;
  private gate_: TrustGate | undefined;

  constructor(private readonly deps: TrustStoreDeps) {
    this.bundle = new TrustBundle(deps.storage);
    const text = this.bundle.read();
    if (text === undefined) {
      // First boot: seed the default list.
      this.commit(this.defaultList());
      deps.logger.log({ event: 'trust.seeded', count: this.entries.length });
    } else {
      this.install(this.decodeStored(text));
    }
  }

  caPems(): readonly string[] { return this.pems; }
  list(): readonly TrustedCa[] { return this.entries; }
  count(): number { return this.entries.length; }

  get(fingerprint: string): TrustedCa | undefined {
    const fp = normalizeFingerprint(fingerprint);
    return fp ? this.byFingerprint.get(fp) : undefined;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  add(pemText: string, actor: Actor): CaAddResult {
    if (Buffer.byteLength(pemText) > MAX_CA_INPUT_BYTES) {
      throw new ParameterError(`The CA certificate input is too large: at most ${MAX_CA_INPUT_BYTES} bytes`);
    }
    const blocks = parsePem(pemText, 'CA certificate');
    this.checkRoom(blocks);
    const now = this.deps.clock.now();
    const fresh: TrustedCa[] = [];
    const duplicates: CertificateInfo[] = [];
    const warnings: string[] = [];
    const seen = new Set<string>();
    const cnOwners = new Map<string, string>();
    for (const c of this.entries) if (c.commonName) cnOwners.set(c.commonName.toLowerCase(), c.fingerprint);
    blocks.forEach((b, i) => {
      const pos = `Block ${i + 1}`;
      if (isKeyBlock(b)) {
        throw new ParameterError(`${pos} (line ${b.line}) is a private key: CA Add takes CA certificates only (nothing was stored)`);
      }
      const d = decodeCertificate(b, pos);
      const who = `${pos} (${d.info.subject || 'no subject'})`;
      if (!d.info.isCA) throw new ParameterError(`${who} is not a CA certificate: basic constraints do not say CA`);
      if (Date.parse(d.info.notAfter) < now.getTime()) throw new ParameterError(`${who} expired on ${d.info.notAfter}`);
      if (this.byFingerprint.has(d.info.fingerprint) || seen.has(d.info.fingerprint)) {
        duplicates.push(d.info);
        return;
      }
      seen.add(d.info.fingerprint);
      const cn = d.info.commonName.toLowerCase();
      if (cn && cnOwners.has(cn)) {
        warnings.push(`Another trusted CA already has the common name "${d.info.commonName}" (${cnOwners.get(cn)})`);
      }
      if (cn) cnOwners.set(cn, d.info.fingerprint);
      fresh.push(entry(d));
    });
    const total = this.entries.length + fresh.length;
    if (total > MAX_TRUSTED_CAS) {
      throw new ParameterError(
        `The trust store holds at most ${MAX_TRUSTED_CAS} CA certificates: it has ${this.entries.length} and the input adds ${fresh.length}`,
      );
    }
    if (fresh.length > 0) this.commit([...this.entries, ...fresh], actor);
    this.audit(actor, 'Security Certificates CA Add', `added ${fresh.length}, skipped ${duplicates.length} duplicates`, {
      added: fresh.map((c) => c.fingerprint),
    });
    return { added: fresh, duplicates, warnings };
  }

  /**
   * Refuses an input that would pass the limit before any certificate is decoded: decoding is the
   * costly part (an 8 MiB paste took seconds of the event loop only to be refused at the end).
   * Fingerprints of the raw DER tell duplicates apart without decoding.
   */
  private checkRoom(blocks: readonly PemBlock[]): void {
    if (blocks.length <= MAX_TRUSTED_CAS - this.entries.length) return;
    const fresh = new Set<string>();
    blocks.forEach((b, i) => {
      if (isKeyBlock(b)) {
        throw new ParameterError(`Block ${i + 1} (line ${b.line}) is a private key: CA Add takes CA certificates only (nothing was stored)`);
      }
      const fp = crypto.createHash('sha256').update(b.der).digest('hex').toUpperCase().match(/../g)!.join(':');
      if (!this.byFingerprint.has(fp)) fresh.add(fp);
    });
    if (this.entries.length + fresh.size > MAX_TRUSTED_CAS) {
      throw new ParameterError(
        `The trust store holds at most ${MAX_TRUSTED_CAS} CA certificates: it has ${this.entries.length} and the input adds ${fresh.size}`,
      );
    }
  }

  delete(fingerprints: readonly string[], actor: Actor): readonly CertificateInfo[] {
    if (fingerprints.length === 0) throw new ParameterError('Missing required parameter Fingerprint');
    const gone = new Map<string, TrustedCa>();
    for (const raw of fingerprints) {
      const fp = normalizeFingerprint(raw);
      if (!fp) throw new ParameterError(`Invalid Fingerprint ${JSON.stringify(raw)}: expected a SHA-256 fingerprint (64 hex digits)`);
      const hit = this.byFingerprint.get(fp);
      if (!hit) throw new ParameterError(`No trusted CA has the fingerprint ${fp}`);
      gone.set(fp, hit);
    }
    this.commit(this.entries.filter((c) => !gone.has(c.fingerprint)), actor);
    this.audit(actor, 'Security Certificates CA Delete', `deleted ${gone.size}`, { deleted: [...gone.keys()] });
    return [...gone.values()];
  }

  reset(actor: Actor): number {
    this.commit(this.defaultList(), actor);
    this.audit(actor, 'Security Certificates CA Reset', `reset to ${this.entries.length} default CAs`);
    return this.entries.length;
  }

  /** Sets (or with undefined, removes) the cluster's gate. */
  gate(g: TrustGate | undefined): void {
    this.gate_ = g;
  }

  /**
   * Takes another peer's list whole (the cluster's copy): every PEM as it is there, in its order.
   * Entries this version cannot decode are skipped and logged, as at load.
   */
  replace(pems: readonly string[], actor: Actor): void {
    // The cluster's list is mostly ours (one CA more or less): only the new ones are decoded.
    const known = new Map(this.entries.map((c) => [c.pem, c]));
    const list = pems.flatMap((p) => { const k = known.get(p); return k ? [k] : this.decodeStored(p); });
    this.commit(list, actor);
    this.audit(actor, 'Security Certificates CA (cluster)', `replaced by the cluster's list of ${list.length}`);
  }

  private defaultList(): TrustedCa[] {
    const pems = (this.deps.defaults ?? (() => tls.rootCertificates))();
    const now = this.deps.clock.now().getTime();
    const out: TrustedCa[] = [];
    const seen = new Set<string>();
    for (const pem of pems) {
      const [block] = parsePem(pem);
      const e = entry(decodeCertificate(block!, 'Default CA'));
      // Node's list can hold a root that has expired since Node was built; CA Add would refuse it.
      if (Date.parse(e.notAfter) < now) continue;
      if (!seen.has(e.fingerprint)) out.push(e);
      seen.add(e.fingerprint);
    }
    return out.slice(0, MAX_TRUSTED_CAS);
  }

  private decodeStored(text: string): TrustedCa[] {
    // Comment lines are ours and carry no data; dropping them first also loads bundles written before
    // subjects were escaped (a raw U+FFFD there once stopped every start).
    const pem = text.split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n');
    if (pem.trim() === '') return [];
    const out: TrustedCa[] = [];
    for (const b of parsePem(pem)) {
      try {
        out.push(entry(decodeCertificate(b, 'Stored CA')));
      } catch {
        this.deps.logger.log({ event: 'trust.skipped', level: 'error', line: b.line });
      }
    }
    return out;
  }

  /** Durable first, then visible: a failed write (or a gate's refusal) leaves memory and disk as before. */
  private commit(list: TrustedCa[], actor?: Actor): void {
    const text = serialize(list);
    proveRoundTrip(text, list);
    if (actor) this.gate_?.admit(actor);
    this.bundle.write(text);
    this.install(list);
    if (actor) this.gate_?.committed(actor);
    for (const l of this.listeners) {
      try {
        l();
      } catch (e) {
        this.deps.logger.log({ event: 'trust.listener-failed', level: 'error', error: String(e) });
      }
    }
  }

  private install(list: TrustedCa[]): void {
    this.entries = list;
    this.byFingerprint = new Map(list.map((c) => [c.fingerprint, c]));
    this.pems = list.map((c) => c.pem);
  }

  private audit(actor: Actor, what: string, result: string, extra: Record<string, unknown> = {}): void {
    this.deps.logger.audit({ who: actor.user, from: actor.remote, session: actor.session, what, result, ...extra });
  }
}
