// The configuration on SQLite: one row per key ever set; a key without a row holds its default.
// A write is one transaction, durable when it returns (WAL, synchronous FULL). What may be
// written is decided before, by the commit in src/services/config/configuration.ts.
import type { Value } from '../../schema/types.js';
import type { ConfigChange, ConfigStore } from '../services/interfaces.js';
import type { Db } from './database.js';

export class SqliteConfigStore implements ConfigStore {
  private readonly upsert;

  constructor(private readonly db: Db) {
    this.upsert = db.prepare(
      `INSERT INTO config (key, value, is_number, changed_at, changed_by) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET value = excluded.value, is_number = excluded.is_number,
       changed_at = excluded.changed_at, changed_by = excluded.changed_by`,
    );
  }

  load(): { key: string; value: Value }[] {
    const rows = this.db.prepare('SELECT key, value, is_number FROM config').all() as { key: string; value: string; is_number: number }[];
    return rows.map((r) => ({ key: r.key, value: r.is_number ? Number(r.value) : r.value }));
  }

  write(changes: readonly ConfigChange[], who: string, when: string): void {
    this.db.transaction(() => {
      for (const c of changes) this.upsert.run(c.key, String(c.value), typeof c.value === 'number' ? 1 : 0, when, who);
    })();
  }
}
