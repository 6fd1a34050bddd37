// Certificate + key storage that a crash cannot tear apart. Each install is a new generation
// directory (cert.pem 0644, chain.pem 0644, key.pem 0600), fully written and fsynced before one
// atomic rename of the pointer file makes it current. A crash at any instant leaves the pointer
// naming a complete old generation or a complete new one; half-written generations are never
// named and are swept at the next start. The pointer also names the previous generation, kept
// for rollback.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { CertificateSource } from '../interfaces.js';
import { atomicWrite, ensureDir, fsyncDir, readIfExists } from '../../platform/files.js';
import { child } from '../../platform/paths.js';

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
  constructor(readonly dir: string, private readonly random: (n: number) => Buffer = crypto.randomBytes) {
    ensureDir(dir);
  }

  pointer(): Pointer {
    const raw = readIfExists(path.join(this.dir, POINTER));
    if (!raw) return {};
    try {
      return JSON.parse(raw.toString('utf8')) as Pointer;
    } catch {
      // Only written by atomic rename, so this means outside interference; treat as empty.
      return {};
    }
  }

  /** Writes a complete generation; nothing refers to it until `setPointer`. */
  write(pair: Pair, now: Date): string {
    const id = `g-${String(now.getTime()).padStart(13, '0')}-${this.random(6).toString('hex')}`;
    const dir = child(this.dir, id, 'generation');
    fs.mkdirSync(dir, { mode: 0o700 });
    atomicWrite(path.join(dir, 'key.pem'), pair.keyPem, { mode: 0o600 });
    atomicWrite(path.join(dir, 'cert.pem'), pair.certPem, { mode: 0o644 });
    atomicWrite(path.join(dir, 'chain.pem'), pair.chainPem.join(''), { mode: 0o644 });
    fsyncDir(this.dir);
    return id;
  }

  setPointer(p: Pointer): void {
    atomicWrite(path.join(this.dir, POINTER), JSON.stringify(p) + '\n', { mode: 0o644 });
  }

  clearPointer(): void {
    fs.rmSync(path.join(this.dir, POINTER), { force: true });
    fsyncDir(this.dir);
  }

  read(id: string): Pair | undefined {
    if (!GEN.test(id)) return undefined;
    const dir = path.join(this.dir, id);
    const cert = readIfExists(path.join(dir, 'cert.pem'));
    const key = readIfExists(path.join(dir, 'key.pem'));
    const chain = readIfExists(path.join(dir, 'chain.pem'));
    if (!cert || !key || !chain) return undefined;
    return { certPem: cert.toString('utf8'), keyPem: key.toString('utf8'), chainPem: splitChain(chain.toString('utf8')) };
  }

  /** Removes generations not in `keep`, and stray temp files; errors are ignored (retried next time). */
  sweep(keep: ReadonlySet<string>): void {
    for (const name of fs.readdirSync(this.dir)) {
      const full = path.join(this.dir, name);
      if (GEN.test(name) && !keep.has(name)) fs.rmSync(full, { recursive: true, force: true });
      else if (name.startsWith('.') && name.endsWith('.tmp')) fs.rmSync(full, { force: true });
    }
  }
}
