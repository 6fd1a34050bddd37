// SSH host keys: ed25519 and RSA-3072, made on first boot and kept in the data directory (0600).
// Later boots read them back, so clients keep seeing the same host identity.
import path from 'node:path';
import ssh2 from 'ssh2';
import { atomicWrite, ensureDir, ensureMode, readIfExists } from '../platform/files.js';

const { utils } = ssh2;

export const HOST_KEY_FILES = [
  { file: 'ssh_host_ed25519_key', type: 'ed25519' as const },
  { file: 'ssh_host_rsa_key', type: 'rsa' as const },
];

/**
 * ssh2's generateKeyPairSync('ed25519') strips leading zero bytes from the public key, so about
 * one key in 256 comes out unparseable by ssh2 itself (mscdex/ssh2 #1390, #1513). A first boot
 * that drew one could not start. Draw again until both halves parse (bounded: 16 failures in a
 * row have odds near 1e-38).
 */
export function generateSshKeyPair(type: 'ed25519' | 'rsa', comment?: string): { private: string; public: string } {
  for (let i = 0; i < 16; i++) {
    const pair = type === 'rsa' ? utils.generateKeyPairSync('rsa', { bits: 3072, comment }) : utils.generateKeyPairSync('ed25519', { comment });
    if (!(utils.parseKey(pair.private) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error)) return pair;
  }
  throw new Error(`could not generate a usable ${type} key`);
}

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
      ensureMode(full, 0o600);
      return existing;
    }
    const pair = generateSshKeyPair(type);
    const key = Buffer.from(pair.private);
    atomicWrite(full, key, { mode: 0o600 });
    atomicWrite(`${full}.pub`, pair.public + '\n', { mode: 0o644 });
    return key;
  });
}
