// The ACME service's files, under <data>/acme/, every path built here from safe names:
//   accounts/<Provider>.key      account private key (0600), kept and reused
//   pending/<target>.json        staged certificate chain + its key + provider + time (0600, one
//                                file so one rename stages or discards the pair)
//   domains/<name>.key           the key of a hosted domain's certificate requests (0600)
//   archive/<SERIAL>.pem         every certificate signed or replaced here (0644): what the admin
//                                may name as `/archive/<SERIAL>.pem` to revoke
import fs from 'node:fs';
import path from 'node:path';
import type { AcmeProvider } from '../interfaces.js';
import { atomicWrite, ensureDir, readIfExists, removeDurably } from '../../platform/files.js';
import { child } from '../../platform/paths.js';
import { ParameterError } from '../../errors.js';

export interface StagedFile {
  readonly pem: string;
  readonly keyPem: string;
  readonly provider: AcmeProvider;
  /** ISO 8601 UTC. */
  readonly signed: string;
}

export const ARCHIVE_PREFIX = '/archive/';
const MAX_ARCHIVE = 200;

/** `server`, or `domain-<fqdn>`: the file name of a target. */
export function targetFile(domain: string | undefined): string {
  return domain === undefined ? 'server' : `domain-${domain.toLowerCase()}`;
}

export class AcmeFiles {
  readonly accounts: string;
  readonly pending: string;
  readonly domains: string;
  readonly archive: string;

  constructor(readonly root: string) {
    this.accounts = path.join(root, 'accounts');
    this.pending = path.join(root, 'pending');
    this.domains = path.join(root, 'domains');
    this.archive = path.join(root, 'archive');
    for (const d of [root, this.accounts, this.pending, this.domains, this.archive]) ensureDir(d);
  }

  accountKey(provider: AcmeProvider): string | undefined {
    return readIfExists(child(this.accounts, `${provider}.key`))?.toString('utf8');
  }

  writeAccountKey(provider: AcmeProvider, pem: string): void {
    atomicWrite(child(this.accounts, `${provider}.key`), pem, { mode: 0o600 });
  }

  readPending(domain: string | undefined): StagedFile | undefined {
    const raw = readIfExists(child(this.pending, `${targetFile(domain)}.json`));
    if (!raw) return undefined;
    try {
      const v = JSON.parse(raw.toString('utf8')) as StagedFile;
      return typeof v.pem === 'string' && typeof v.keyPem === 'string' ? v : undefined;
    } catch {
      return undefined;
    }
  }

  writePending(domain: string | undefined, staged: StagedFile): void {
    atomicWrite(child(this.pending, `${targetFile(domain)}.json`), JSON.stringify(staged), { mode: 0o600 });
  }

  removePending(domain: string | undefined): void {
    removeDurably(child(this.pending, `${targetFile(domain)}.json`));
  }

  domainKey(name: string): string | undefined {
    return readIfExists(child(this.domains, `${name.toLowerCase()}.key`))?.toString('utf8');
  }

  writeDomainKey(name: string, pem: string): void {
    atomicWrite(child(this.domains, `${name.toLowerCase()}.key`), pem, { mode: 0o600 });
  }

  /** Keeps a copy of a certificate (no key); returns the name the admin uses for it. */
  archiveCertificate(serial: string, pem: string): string {
    const name = `${serial.toUpperCase()}.pem`;
    atomicWrite(child(this.archive, name), pem, { mode: 0o644 });
    this.prune();
    return ARCHIVE_PREFIX + name;
  }

  private prune(): void {
    const files = fs.readdirSync(this.archive).filter((f) => f.endsWith('.pem'));
    if (files.length <= MAX_ARCHIVE) return;
    const aged = files.map((f) => ({ f, t: fs.statSync(path.join(this.archive, f)).mtimeMs })).sort((a, b) => a.t - b.t);
    for (const { f } of aged.slice(0, files.length - MAX_ARCHIVE)) fs.rmSync(path.join(this.archive, f), { force: true });
  }

  /**
   * Reads `/archive/<name>` (hostile input): one safe name, a regular file, no link, inside the
   * archive. ParameterError otherwise.
   */
  readArchived(shown: string, maxBytes: number): Buffer {
    const name = shown.slice(ARCHIVE_PREFIX.length);
    const file = child(this.archive, name, 'archive file name');
    let st: fs.Stats;
    try {
      st = fs.lstatSync(file);
    } catch {
      throw new ParameterError(`No such file ${shown}`);
    }
    if (!st.isFile()) throw new ParameterError(`Invalid path ${JSON.stringify(shown)}: not a regular file`);
    if (st.size > maxBytes) throw new ParameterError(`The file ${shown} is larger than ${maxBytes} bytes`);
    const real = fs.realpathSync(file);
    if (path.dirname(real) !== fs.realpathSync(this.archive)) throw new ParameterError(`Invalid path ${JSON.stringify(shown)}: it leads outside /archive`);
    return fs.readFileSync(real);
  }
}
