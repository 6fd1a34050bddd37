// SSH host keys: ed25519 and RSA-3072, made on first boot and kept in the data directory (0600).
// Later boots read them back, so clients keep seeing the same host identity.
import fs from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { atomicWrite, ensureDir, readIfExists } from '../platform/files.js';

const { utils } = ssh2;

export const HOST_KEY_FILES = [
  { file: 'ssh_host_ed25519_key', type: 'ed25519' as const },
  { file: 'ssh_host_rsa_key', type: 'rsa' as const },
];

/** Returns the private host keys (OpenSSH format), generating any that are missing. */
export function ensureHostKeys(dir: string): Buffer[] {
  ensureDir(dir, 0o700);
  return HOST_KEY_FILES.map(({ file, type }) => {
    const full = path.join(dir, file);
    const existing = readIfExists(full);
    if (existing) {
      const parsed = utils.parseKey(existing);
      if (parsed instanceof Error) throw new Error(`SSH host key ${full} is unreadable: ${parsed.message}`);
      // A key someone made readable to others is put back to 0600.
      if ((fs.statSync(full).mode & 0o777) !== 0o600) fs.chmodSync(full, 0o600);
      return existing;
    }
    const pair = type === 'rsa' ? utils.generateKeyPairSync('rsa', { bits: 3072 }) : utils.generateKeyPairSync('ed25519');
    const key = Buffer.from(pair.private);
    atomicWrite(full, key, { mode: 0o600 });
    atomicWrite(`${full}.pub`, pair.public + '\n', { mode: 0o644 });
    return key;
  });
}
