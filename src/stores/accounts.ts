// Login accounts on SQLite: scrypt password hashes (never the password), SSH public keys by
// SHA-256 fingerprint as OpenSSH prints it.
import crypto from 'node:crypto';
import ssh2 from 'ssh2';
import type { AccountService, Actor, AuthorizedKey } from '../services/interfaces.js';
import { CommandError, ParameterError } from '../errors.js';
import type { Logger } from '../platform/log.js';
import type { Db } from './database.js';

const { utils } = ssh2;

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };
export const MAX_KEYS = 50;
const KEY_TYPES = new Set(['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521']);

export function hashPassword(password: string, salt = crypto.randomBytes(16)): string {
  const dk = crypto.scryptSync(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return `scrypt$${SCRYPT.N}$${salt.toString('base64')}$${dk.toString('base64')}`;
}

function checkPassword(password: string, stored: string): boolean {
  const [kind, n, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const dk = crypto.scryptSync(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: SCRYPT.r, p: SCRYPT.p });
  return crypto.timingSafeEqual(dk, expected);
}

export function fingerprintOf(blob: Buffer): string {
  return 'SHA256:' + crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

export class SqliteAccountStore implements AccountService {
  constructor(private readonly db: Db, private readonly logger: Logger, private readonly now: () => Date = () => new Date()) {}

  /** First boot: creates the account when it does not exist. Returns true when it did. */
  ensureAccount(user: string, role: 'Admin' | 'ReadOnly', password: string): boolean {
    const row = this.db.prepare('SELECT 1 FROM account WHERE user = ?').get(user);
    if (row) return false;
    this.db.prepare('INSERT INTO account (user, role, password) VALUES (?, ?, ?)').run(user, role, hashPassword(password));
    return true;
  }

  verifyPassword(user: string, password: string): boolean {
    const row = this.db.prepare('SELECT password FROM account WHERE user = ?').get(user) as { password: string } | undefined;
    // Hash anyway for unknown users, so timing does not tell which users exist.
    if (!row) {
      checkPassword(password, hashPassword('x'));
      return false;
    }
    return checkPassword(password, row.password);
  }

  roleOf(user: string): 'Admin' | 'ReadOnly' | undefined {
    const row = this.db.prepare('SELECT role FROM account WHERE user = ?').get(user) as { role: 'Admin' | 'ReadOnly' } | undefined;
    return row?.role;
  }

  hasKey(user: string, keyType: string, keyData: Buffer): boolean {
    const row = this.db.prepare('SELECT type, blob FROM authorized_key WHERE user = ? AND fingerprint = ?').get(user, fingerprintOf(keyData)) as
      | { type: string; blob: string }
      | undefined;
    return !!row && row.type === keyType && Buffer.from(row.blob, 'base64').equals(keyData);
  }

  listKeys(user: string): AuthorizedKey[] {
    return this.db.prepare('SELECT fingerprint, type, comment, added FROM authorized_key WHERE user = ? ORDER BY added, fingerprint').all(user) as AuthorizedKey[];
  }

  addKey(user: string, line: string, actor: Actor): AuthorizedKey {
    const m = /^\s*(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s+(.*?))?\s*$/.exec(line);
    if (!m || !KEY_TYPES.has(m[1]!)) {
      throw new ParameterError('Invalid public key: expected an OpenSSH line "<ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256...> <base64> [comment]"');
    }
    const parsed = utils.parseKey(`${m[1]} ${m[2]}`);
    if (parsed instanceof Error || Array.isArray(parsed) || parsed.type !== m[1]) {
      throw new ParameterError(`Invalid public key: the ${m[1]} key data does not decode`);
    }
    const blob = parsed.getPublicSSH();
    if (m[1] === 'ssh-rsa' && blob.length < 270) throw new ParameterError('Invalid public key: RSA keys shorter than 2048 bits are refused');
    if (!this.roleOf(user)) throw new ParameterError(`Unknown user ${user}`);
    const count = (this.db.prepare('SELECT COUNT(*) AS n FROM authorized_key WHERE user = ?').get(user) as { n: number }).n;
    const key: AuthorizedKey = { fingerprint: fingerprintOf(blob), type: m[1]!, comment: (m[3] ?? '').slice(0, 200), added: this.now().toISOString() };
    if (this.db.prepare('SELECT 1 FROM authorized_key WHERE user = ? AND fingerprint = ?').get(user, key.fingerprint)) {
      throw new CommandError(`The key ${key.fingerprint} is already authorized for ${user}`);
    }
    if (count >= MAX_KEYS) throw new CommandError(`At most ${MAX_KEYS} keys per user`);
    this.db.prepare('INSERT INTO authorized_key (user, fingerprint, type, blob, comment, added) VALUES (?, ?, ?, ?, ?, ?)').run(
      user, key.fingerprint, key.type, blob.toString('base64'), key.comment, key.added,
    );
    this.logger.audit({ who: actor.user, from: actor.remote, what: `authorized key added for ${user}: ${key.fingerprint}`, result: 'OK' });
    return key;
  }

  deleteKey(user: string, fingerprint: string, actor: Actor): void {
    const r = this.db.prepare('DELETE FROM authorized_key WHERE user = ? AND fingerprint = ?').run(user, fingerprint);
    if (r.changes === 0) throw new CommandError(`No key with fingerprint ${fingerprint} for ${user}`);
    this.logger.audit({ who: actor.user, from: actor.remote, what: `authorized key deleted for ${user}: ${fingerprint}`, result: 'OK' });
  }

  setPassword(user: string, password: string, actor: Actor): void {
    if (password.length < 12) throw new ParameterError('Invalid password: at least 12 characters');
    const r = this.db.prepare('UPDATE account SET password = ? WHERE user = ?').run(hashPassword(password), user);
    if (r.changes === 0) throw new ParameterError(`Unknown user ${user}`);
    this.logger.audit({ who: actor.user, from: actor.remote, what: `password changed for ${user}`, result: 'OK' });
  }
}
