// Durable service state (JSON values) on SQLite: ACME account and order records, alarms, etc.
import type { StateStore } from '../services/interfaces.js';
import type { Db } from './database.js';

export class SqliteStateStore implements StateStore {
  private readonly getStmt;
  private readonly putStmt;
  private readonly delStmt;

  constructor(db: Db) {
    this.getStmt = db.prepare('SELECT value FROM state WHERE key = ?');
    this.putStmt = db.prepare('INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.delStmt = db.prepare('DELETE FROM state WHERE key = ?');
  }

  read<T>(key: string): T | undefined {
    const row = this.getStmt.get(key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  write(key: string, value: unknown): void {
    this.putStmt.run(key, JSON.stringify(value));
  }

  delete(key: string): void {
    this.delStmt.run(key);
  }
}
