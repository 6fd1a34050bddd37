// The ACME service's state, under acme/ in the storage, every key built from safe names:
//   acme/accounts/<Provider>.key    account private key (0600), kept and reused
//   acme/pending/<target>.json      staged certificate chain + its key + provider + time (0600, one
//                                   value so one put stages or discards the pair)
//   acme/domains/<name>.key         the key of a hosted domain's certificate requests (0600;
//                                   a wildcard's name as keys.ts stores it, `_wildcard.<base>`)
//   acme/archive/<SERIAL>.pem       every certificate signed or replaced here (0644): what the admin
//                                   may name as `/archive/<SERIAL>.pem` to revoke
// `<target>` is `server` or `domain-<stored name>` (src/services/acme/target.ts).
import type { AcmeProvider } from '../services/interfaces.js';
import { ParameterError } from '../errors.js';
import { domainOfStoredName, key, keyOf, storedDomainName } from './keys.js';
import type { Storage } from './storage.js';

export interface StagedFile {
  readonly pem: string;
  readonly keyPem: string;
  readonly provider: AcmeProvider;
  /** ISO 8601 UTC. */
  readonly signed: string;
}

export const ARCHIVE_PREFIX = '/archive/';
const MAX_ARCHIVE = 200;

const ACCOUNTS = keyOf('acme', 'accounts');
const PENDING = keyOf('acme', 'pending');
const DOMAINS = keyOf('acme', 'domains');
const ARCHIVE = keyOf('acme', 'archive');

export class AcmeStore {
  constructor(private readonly storage: Storage) {}

  accountKey(provider: AcmeProvider): string | undefined {
    return this.storage.get(key(ACCOUNTS, `${provider}.key`))?.toString('utf8');
  }

  writeAccountKey(provider: AcmeProvider, pem: string): void {
    this.storage.put(key(ACCOUNTS, `${provider}.key`), pem);
  }

  /** The staged certificate of a target (`file`: its file stem), or undefined (also when unreadable). */
  readPending(file: string): StagedFile | undefined {
    const raw = this.storage.get(key(PENDING, `${file}.json`));
    if (!raw) return undefined;
    try {
      const v = JSON.parse(raw.toString('utf8')) as StagedFile;
      return typeof v.pem === 'string' && typeof v.keyPem === 'string' ? v : undefined;
    } catch {
      return undefined;
    }
  }

  writePending(file: string, staged: StagedFile): void {
    this.storage.put(key(PENDING, `${file}.json`), JSON.stringify(staged));
  }

  removePending(file: string): void {
    this.storage.delete(key(PENDING, `${file}.json`));
  }

  domainKey(name: string): string | undefined {
    return this.storage.get(key(DOMAINS, `${storedDomainName(name.toLowerCase())}.key`))?.toString('utf8');
  }

  writeDomainKey(name: string, pem: string): void {
    this.storage.put(key(DOMAINS, `${storedDomainName(name.toLowerCase())}.key`), pem);
  }

  /** The names that have a stored domain key. */
  domainKeyNames(): string[] {
    return this.storage.list(DOMAINS).filter((f) => f.endsWith('.key')).map((f) => domainOfStoredName(f.slice(0, -'.key'.length)));
  }

  /** Removes a domain's key (the domain is no longer hosted). */
  removeDomainKey(name: string): void {
    this.storage.delete(key(DOMAINS, `${storedDomainName(name.toLowerCase())}.key`));
  }

  /** Keeps a copy of a certificate (no key); returns the name the admin uses for it. */
  archiveCertificate(serial: string, pem: string): string {
    const name = `${serial.toUpperCase()}.pem`;
    this.storage.put(key(ARCHIVE, name), pem, { secret: false });
    this.prune();
    return ARCHIVE_PREFIX + name;
  }

  private prune(): void {
    const names = this.storage.list(ARCHIVE).filter((f) => f.endsWith('.pem'));
    if (names.length <= MAX_ARCHIVE) return;
    const aged = names.map((f) => ({ f, t: this.storage.stat(key(ARCHIVE, f))?.modified ?? 0 })).sort((a, b) => a.t - b.t);
    for (const { f } of aged.slice(0, names.length - MAX_ARCHIVE)) this.storage.delete(key(ARCHIVE, f));
  }

  /** Reads `/archive/<name>` (hostile input): one safe name, a stored value. ParameterError otherwise. */
  readArchived(shown: string, maxBytes: number): Buffer {
    const k = key(ARCHIVE, shown.slice(ARCHIVE_PREFIX.length), 'archive file name');
    const st = this.storage.stat(k);
    if (!st) throw new ParameterError(`No such file ${shown}`);
    if (st.kind !== 'value') throw new ParameterError(`Invalid path ${JSON.stringify(shown)}: not a regular file`);
    if (st.size > maxBytes) throw new ParameterError(`The file ${shown} is larger than ${maxBytes} bytes`);
    const data = this.storage.get(k);
    if (!data) throw new ParameterError(`No such file ${shown}`);
    return data;
  }
}
