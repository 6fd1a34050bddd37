// The configuration on SQLite. A set is one transaction, durable when it returns (WAL,
// synchronous FULL). Values are validated by the caller against the schema; the store checks
// the keys again, so nothing undeclared is ever written.
import type { Value } from '../../schema/types.js';
import type { ConfigNode } from '../../schema/config.js';
import type { Actor, ConfigChange, ConfigService } from '../services/interfaces.js';
import { diskFailure, Internal, ParameterError } from '../errors.js';
import type { Logger } from '../platform/log.js';
import type { Db } from './database.js';

export class SqliteConfigStore implements ConfigService {
  private readonly nodes = new Map<string, { key: string; node: ConfigNode }>();
  private readonly cache = new Map<string, Value>();
  private readonly listeners: ((c: readonly ConfigChange[], a: Actor) => void)[] = [];
  private readonly upsert;
  private readonly remove;

  constructor(
    private readonly db: Db,
    declared: readonly { key: string; node: ConfigNode }[],
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    for (const d of declared) this.nodes.set(d.key.toLowerCase(), d);
    this.upsert = db.prepare(
      `INSERT INTO config (key, value, is_number, changed_at, changed_by) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET value = excluded.value, is_number = excluded.is_number,
       changed_at = excluded.changed_at, changed_by = excluded.changed_by`,
    );
    this.remove = db.prepare('DELETE FROM config WHERE key = ?');
    for (const row of db.prepare('SELECT key, value, is_number FROM config').all() as { key: string; value: string; is_number: number }[]) {
      const d = this.nodes.get(row.key.toLowerCase());
      const value: Value = row.is_number ? Number(row.value) : row.value;
      if (!d) {
        // Kept in the database (a later version may know it), but not served.
        logger.log({ event: 'config.unknown-key', level: 'warn', key: row.key });
        continue;
      }
      const ok = d.node.type.parse(String(value));
      if (!ok.ok) logger.log({ event: 'config.invalid-stored-value', level: 'warn', key: d.key, reason: ok.reason });
      else this.cache.set(d.key, ok.value);
    }
  }

  private declared(key: string): { key: string; node: ConfigNode } {
    const d = this.nodes.get(key.toLowerCase());
    if (!d) throw new ParameterError(`Unknown configuration ${key}`);
    return d;
  }

  get(key: string): Value {
    const d = this.declared(key);
    return this.cache.get(d.key) ?? d.node.default;
  }

  entries(): ConfigChange[] {
    return [...this.nodes.values()].map((d) => ({ key: d.key, value: this.get(d.key) }));
  }

  defaults(): Map<string, Value> {
    return new Map([...this.nodes.values()].map((d) => [d.key, d.node.default]));
  }

  set(changes: readonly ConfigChange[], actor: Actor): void {
    const resolved = changes.map((c) => {
      const d = this.declared(c.key);
      const ok = d.node.type.parse(String(c.value));
      if (!ok.ok) throw new ParameterError(`Invalid value for ${d.key}: ${ok.reason}`);
      return { key: d.key, value: ok.value };
    });
    const when = this.now().toISOString();
    const who = `${actor.user}@${actor.remote}`;
    try {
      this.db.transaction(() => {
        for (const c of resolved) this.upsert.run(c.key, String(c.value), typeof c.value === 'number' ? 1 : 0, when, who);
      })();
    } catch (e) {
      this.logger.log({ event: 'config.write-failed', level: 'error', error: (e as Error).message });
      throw diskFailure(e) ?? new Internal('The configuration could not be written; nothing was changed');
    }
    for (const c of resolved) this.cache.set(c.key, c.value);
    this.announce(resolved, actor);
  }

  reset(keys: readonly string[], actor: Actor): void {
    const resolved = keys.map((k) => this.declared(k));
    this.db.transaction(() => {
      for (const d of resolved) this.remove.run(d.key);
    })();
    for (const d of resolved) this.cache.delete(d.key);
    this.announce(resolved.map((d) => ({ key: d.key, value: d.node.default })), actor);
  }

  onChange(listener: (changes: readonly ConfigChange[], actor: Actor) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  private announce(changes: readonly ConfigChange[], actor: Actor): void {
    for (const l of this.listeners) {
      try {
        l(changes, actor);
      } catch (e) {
        // An apply failure shows in the log (and the service's status), never undoes the write.
        this.logger.log({ event: 'config.apply-failed', level: 'error', error: String((e as Error)?.stack ?? e) });
      }
    }
  }
}
