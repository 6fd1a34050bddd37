// Certificate + key storage that a crash cannot tear apart. Each install is a new generation
// (`<prefix>/g-<ms>-<hex>/` holding cert.pem 0644, chain.pem 0644, key.pem 0600), fully written
// before one atomic put of the pointer (`<prefix>/current.json`) makes it current. A crash at any
// instant leaves the pointer naming a complete old generation or a complete new one; half-written
// generations are never named and are swept at the next start. The pointer also names the
// previous generation, kept for rollback.
import crypto from 'node:crypto';
import type { CertificateSource } from '../services/interfaces.js';
import { domainOfStoredName, key, keyOf, storedDomainName, type Key } from './keys.js';
import type { Storage } from './storage.js';

export interface GenerationRef {
  readonly id: string;
  readonly source: CertificateSource;
  /** ISO 8601 UTC. */
  readonly installed: string;
}

export interface Pointer {
  readonly current?: GenerationRef;
  readonly previous?: GenerationRef;
}

export interface Pair {
  readonly certPem: string;
  readonly chainPem: readonly string[];
  readonly keyPem: string;
}

const POINTER = 'current.json';
const GEN = /^g-[0-9]{13}-[0-9a-f]{12}$/;

function splitChain(text: string): string[] {
  return text.split(/(?<=-----END CERTIFICATE-----\n?)/).map((s) => s.trim()).filter((s) => s !== '').map((s) => s + '\n');
}

export class GenerationStore {
  constructor(
    private readonly storage: Storage,
    /** e.g. `certs/server`; named in log lines. */
    readonly prefix: Key,
    private readonly random: (n: number) => Buffer = crypto.randomBytes,
  ) {}

  pointer(): Pointer {
    const raw = this.storage.get(key(this.prefix, POINTER));
    if (!raw) return {};
    try {
      return JSON.parse(raw.toString('utf8')) as Pointer;
    } catch {
      // Only written by atomic put, so this means outside interference; treat as empty.
      return {};
    }
  }

  /** Writes a complete generation; nothing refers to it until `setPointer`. */
  write(pair: Pair, now: Date): string {
    const id = `g-${String(now.getTime()).padStart(13, '0')}-${this.random(6).toString('hex')}`;
    const gen = key(this.prefix, id, 'generation');
    this.storage.put(key(gen, 'key.pem'), pair.keyPem);
    this.storage.put(key(gen, 'cert.pem'), pair.certPem, { secret: false });
    this.storage.put(key(gen, 'chain.pem'), pair.chainPem.join(''), { secret: false });
    return id;
  }

  setPointer(p: Pointer): void {
    this.storage.put(key(this.prefix, POINTER), JSON.stringify(p) + '\n', { secret: false });
  }

  read(id: string): Pair | undefined {
    if (!GEN.test(id)) return undefined;
    const gen = key(this.prefix, id, 'generation');
    const cert = this.storage.get(key(gen, 'cert.pem'));
    const keyPem = this.storage.get(key(gen, 'key.pem'));
    const chain = this.storage.get(key(gen, 'chain.pem'));
    if (!cert || !keyPem || !chain) return undefined;
    return { certPem: cert.toString('utf8'), keyPem: keyPem.toString('utf8'), chainPem: splitChain(chain.toString('utf8')) };
  }

  /** Removes generations not in `keep`; errors are ignored (retried next time). */
  sweep(keep: ReadonlySet<string | undefined>): void {
    for (const name of this.storage.list(this.prefix)) {
      if (!GEN.test(name) || keep.has(name)) continue;
      try {
        this.storage.delete(key(this.prefix, name, 'generation'));
      } catch {
        // A generation that cannot be removed now is unreferenced; the next sweep retries.
      }
    }
  }
}

/**
 * Everything the certificate service keeps, under certs/:
 *   certs/server/           generations + current.json of the server certificate
 *   certs/domains/<name>/   the same, per hosted domain (current.json `{}` until it has one;
 *                           a wildcard as `_wildcard.<base>`, see keys.ts)
 *   certs/csr.json          the CSR in progress with its key, one 0600 value (one put = atomic)
 */
export class CertificateFiles {
  readonly server: GenerationStore;
  private readonly domains = keyOf('certs', 'domains');
  private readonly csr = keyOf('certs', 'csr.json');

  constructor(private readonly storage: Storage) {
    this.server = new GenerationStore(storage, keyOf('certs', 'server'));
  }

  /** Names of hosted domains (`*.` restored; a caller still checks they are valid names). */
  domainNames(): string[] {
    return this.storage.list(this.domains).filter((n) => this.storage.stat(key(this.domains, n))?.kind === 'prefix').map(domainOfStoredName);
  }

  /** A domain's generations; `create` records the domain (with no certificate yet) when new. */
  domain(name: string, create = false): GenerationStore {
    const store = new GenerationStore(this.storage, key(this.domains, storedDomainName(name), 'domain'));
    if (create && this.storage.stat(store.prefix) === undefined) store.setPointer({});
    return store;
  }

  /** Takes the domain and all its generations away in one step. */
  deleteDomain(name: string): void {
    this.storage.delete(key(this.domains, storedDomainName(name), 'domain'));
  }

  readCsr(): string | undefined {
    return this.storage.get(this.csr)?.toString('utf8');
  }

  writeCsr(json: string): void {
    this.storage.put(this.csr, json);
  }

  removeCsr(): void {
    this.storage.delete(this.csr);
  }
}
