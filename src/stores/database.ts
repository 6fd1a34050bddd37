// Opening the SQLite database: WAL, synchronous FULL (an acknowledged write survives power
// loss), a quick integrity check, and forward migrations. A damaged or newer database is
// refused with a clear message, never reset.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import { MIGRATIONS } from '../../schema/migrations.js';

export type Db = Database.Database;

export class DatabaseError extends Error {}

export function openDatabase(file: string): Db {
  const existed = fs.existsSync(file);
  if (existed && fs.statSync(file).size === 0) {
    throw new DatabaseError(`The database ${file} is empty (truncated?); refusing to start. Restore it from a backup or move it away to start afresh.`);
  }
  let db: Db;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new DatabaseError(`integrity check failed: ${String(check)}`);
  } catch (e) {
    throw new DatabaseError(`The database ${file} cannot be used: ${(e as Error).message}; refusing to start. Restore it from a backup or move it away to start afresh.`);
  }
  migrate(db, file);
  return db;
}

export function migrate(db: Db, file = 'database'): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    db.close();
    throw new DatabaseError(`The database ${file} has schema version ${version}, newer than this software (${MIGRATIONS.length}); refusing to start.`);
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
