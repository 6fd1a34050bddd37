// Login accounts on SQLite: scrypt password hashes (never the password; src/stores/passwords.ts),
// SSH public keys by SHA-256 fingerprint as OpenSSH prints it.
import crypto from 'node:crypto';
import ssh2 from 'ssh2';
import { USER_NAME, type Role } from '../../schema/types.js';
import type { AccountChange, AccountService, Actor, AuthorizedKey, UserInfo } from '../services/interfaces.js';
import { CommandError, ParameterError } from '../errors.js';
import type { Logger } from '../platform/log.js';
import type { Db } from './database.js';
import { hashPasswordSync, PasswordHasher } from './passwords.js';

const { utils } = ssh2;

export const MAX_KEYS = 50;
/** Accounts at most; each costs nothing until it logs in, but a list has to end somewhere. */
export const MAX_USERS = 100;
const KEY_TYPES = new Set(['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521']);
const MIN_PASSWORD = 12;

export function fingerprintOf(blob: Buffer): string {
  return 'SHA256:' + crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

export class SqliteAccountStore implements AccountService {
  private readonly listeners = new Set<(c: AccountChange) => void>();

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
    private readonly hasher = new PasswordHasher(),
  ) {}

  /** First boot: creates the account when it does not exist. Returns true when it did. */
  ensureAccount(user: string, role: Role, password: string): boolean {
    if (this.roleOf(user)) return false;
    this.db.prepare('INSERT INTO account (user, role, password) VALUES (?, ?, ?)').run(user, role, hashPasswordSync(password));
    return true;
  }

  async verifyPassword(user: string, password: string): Promise<boolean> {
    const row = this.db.prepare('SELECT password FROM account WHERE user = ?').get(user) as { password: string } | undefined;
    // An unknown user costs the same one check (against a dummy hash): timing tells nothing.
    return this.hasher.check(password, row?.password);
  }

  roleOf(user: string): Role | undefined {
    const row = this.db.prepare('SELECT role FROM account WHERE user = ?').get(user) as { role: Role } | undefined;
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

  async setPassword(user: string, password: string, actor: Actor): Promise<void> {
    checkPassword(password);
    if (!this.roleOf(user)) throw new ParameterError(`Unknown user ${user}`);
    const hash = await this.hasher.hash(password);
    const r = this.db.prepare('UPDATE account SET password = ? WHERE user = ?').run(hash, user);
    // Deleted while the hash was computed.
    if (r.changes === 0) throw new ParameterError(`Unknown user ${user}`);
    this.logger.audit({ who: actor.user, from: actor.remote, what: `password changed for ${user}`, result: 'OK' });
    this.notify({ kind: 'password', user });
  }

  async changeOwnPassword(oldPassword: string, newPassword: string, actor: Actor): Promise<void> {
    checkPassword(newPassword);
    // The old password is checked like a login (one bounded check): a session left open on a
    // desk does not let a passer-by lock its owner out.
    if (!(await this.verifyPassword(actor.user, oldPassword))) {
      this.logger.audit({ who: actor.user, from: actor.remote, what: `own password change: the old password was wrong`, result: 'ERROR' });
      throw new CommandError('The old password is not right: nothing was changed');
    }
    if (oldPassword === newPassword) throw new CommandError('The new password is the old one: nothing was changed');
    await this.setPassword(actor.user, newPassword, actor);
  }

  users(): UserInfo[] {
    return this.db
      .prepare('SELECT a.user AS name, a.role AS role, (SELECT COUNT(*) FROM authorized_key k WHERE k.user = a.user) AS keys FROM account a ORDER BY a.user')
      .all() as UserInfo[];
  }

  async addUser(name: string, role: Role, password: string, actor: Actor): Promise<void> {
    if (!USER_NAME.test(name)) throw new ParameterError(`Invalid user name ${JSON.stringify(name).slice(0, 80)}: expected 1 to 32 of a-z 0-9 _ . - (starting with a letter or _)`);
    checkPassword(password);
    this.refuseNew(name);
    const hash = await this.hasher.hash(password);
    // Checked again: another session may have added it while the hash was computed.
    this.db.transaction(() => {
      this.refuseNew(name);
      this.db.prepare('INSERT INTO account (user, role, password) VALUES (?, ?, ?)').run(name, role, hash);
    })();
    this.logger.audit({ who: actor.user, from: actor.remote, what: `user added: ${name} (${role})`, result: 'OK' });
  }

  deleteUser(name: string, actor: Actor): void {
    if (name === actor.user) throw new CommandError(`You are logged in as ${name}: another Admin must delete this account`);
    this.db.transaction(() => {
      const role = this.roleOf(name);
      if (!role) throw new CommandError(`No user ${name}`);
      const admins = (this.db.prepare("SELECT COUNT(*) AS n FROM account WHERE role = 'Admin'").get() as { n: number }).n;
      if (role === 'Admin' && admins <= 1) throw new CommandError(`${name} is the last Admin account and cannot be deleted`);
      // Its authorized keys go with it (ON DELETE CASCADE).
      this.db.prepare('DELETE FROM account WHERE user = ?').run(name);
    })();
    this.logger.audit({ who: actor.user, from: actor.remote, what: `user deleted: ${name}`, result: 'OK' });
    this.notify({ kind: 'deleted', user: name });
  }

  onChange(listener: (c: AccountChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private refuseNew(name: string): void {
    if (this.roleOf(name)) throw new CommandError(`The user ${name} already exists`);
    if (this.users().length >= MAX_USERS) throw new CommandError(`At most ${MAX_USERS} users`);
  }

  private notify(c: AccountChange): void {
    for (const l of this.listeners) {
      try {
        l(c);
      } catch (e) {
        this.logger.log({ event: 'accounts.listener-error', level: 'error', error: String((e as Error)?.stack ?? e) });
      }
    }
  }
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD) throw new ParameterError(`Invalid password: at least ${MIN_PASSWORD} characters`);
}
