// The configuration service: typed reads, and commits through the owners' lifecycle (the
// ConfigOwner contract in ../interfaces.ts).
// Persistence is a ConfigStore (SQLite, src/stores/config.ts); this module decides what may be
// written and who must follow a change.
import type { Value } from '../../../schema/types.js';
import type { ConfigNode, ConfigKey, ConfigValue } from '../../../schema/config.js';
import type { Actor, AlarmService, CommitGate, ConfigChange, ConfigOwner, ConfigService, ConfigStore, ConfigView } from '../interfaces.js';
import { ConfigurationRefused, diskFailure, Internal, ParameterError } from '../../errors.js';
import type { Logger } from '../../platform/log.js';
import { inSubtree, ownershipProblems } from './owner.js';

export interface ConfigurationDeps {
  readonly store: ConfigStore;
  /** Every declared key (indexes expanded), in schema order (Registry.allConfig()). */
  readonly declared: readonly { key: string; node: ConfigNode }[];
  readonly logger: Logger;
  /** Raises the alarm of an owner whose apply failed; without it the failure is only logged. */
  readonly alarms?: Pick<AlarmService, 'raise' | 'lower'>;
  readonly now?: () => Date;
}

export const applyAlarmId = (owner: string) => `config-apply:${owner.replace(/\s+/g, '-').toLowerCase()}`;
/** Raised at boot when the stored configuration breaks an owner's rule; lowered by the next commit. */
export const VERIFY_ALARM = 'config-verify';

export class Configuration implements ConfigService {
  private readonly nodes = new Map<string, { key: string; node: ConfigNode }>();
  private readonly cache = new Map<string, Value>();
  private readonly owners: ConfigOwner[] = [];
  private readonly listeners: ((c: readonly ConfigChange[], a: Actor) => void)[] = [];
  private gate_: CommitGate | undefined;

  constructor(private readonly deps: ConfigurationDeps) {
    for (const d of deps.declared) this.nodes.set(d.key.toLowerCase(), d);
    for (const row of deps.store.load()) {
      const d = this.nodes.get(row.key.toLowerCase());
      if (!d) {
        // Kept in the database (a later version may know it), but not served.
        deps.logger.log({ event: 'config.unknown-key', level: 'warn', key: row.key });
        continue;
      }
      const ok = d.node.type.parse(String(row.value));
      if (!ok.ok) deps.logger.log({ event: 'config.invalid-stored-value', level: 'warn', key: d.key, reason: ok.reason });
      else this.cache.set(d.key, ok.value);
    }
  }

  private declaredKey(key: string): { key: string; node: ConfigNode } {
    const d = this.nodes.get(key.toLowerCase());
    if (!d) throw new ParameterError(`Unknown configuration ${key}`);
    return d;
  }

  get(key: string): Value {
    const d = this.declaredKey(key);
    return this.cache.get(d.key) ?? d.node.default;
  }

  value<K extends ConfigKey>(key: K): ConfigValue<K> {
    // The key type is derived from the schema and every stored value passed its value space.
    return this.get(key) as ConfigValue<K>;
  }

  entries(): ConfigChange[] {
    return [...this.nodes.values()].map((d) => ({ key: d.key, value: this.get(d.key) }));
  }

  defaults(): Map<string, Value> {
    return new Map([...this.nodes.values()].map((d) => [d.key, d.node.default]));
  }

  own(owner: ConfigOwner): () => void {
    this.owners.push(owner);
    return () => {
      const i = this.owners.indexOf(owner);
      if (i >= 0) this.owners.splice(i, 1);
    };
  }

  /** Sets (or with undefined, removes) the commit gate (the cluster, while this peer is in one). */
  gate(g: CommitGate | undefined): void {
    this.gate_ = g;
  }

  /** Boot check: every declared key has exactly one owner. Throws naming the first few that do not. */
  checkOwnership(): void {
    const problems = ownershipProblems([...this.nodes.values()].map((d) => d.key), this.owners);
    if (problems.length) throw new Error(`Configuration ownership: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`);
  }

  /**
   * Boot check of the stored configuration (a database written before a rule existed): it runs as
   * stored, and the problems are logged and raised as an alarm until a commit passes verify.
   */
  verifyStored(): string[] {
    const problems = this.owners.flatMap((o) => o.verify(this));
    if (problems.length) {
      this.deps.logger.log({ event: 'config.stored-problems', level: 'warn', problems });
      this.deps.alarms?.raise(VERIFY_ALARM, `The stored configuration breaks a rule: ${problems.join('; ')}`, 'Warning');
    }
    return problems;
  }

  set(changes: readonly ConfigChange[], actor: Actor): void {
    // 1. Value spaces.
    const resolved = changes.map((c) => {
      const d = this.declaredKey(c.key);
      const ok = d.node.type.parse(String(c.value));
      if (!ok.ok) throw new ParameterError(`Invalid value for ${d.key}: ${ok.reason}`);
      return { key: d.key, value: ok.value };
    });
    // 2. Every owner's verify, on the whole configuration as it would be.
    const proposed = new Map(resolved.map((c) => [c.key, c.value]));
    const next: ConfigView = { value: <K extends ConfigKey>(k: K) => (proposed.has(k) ? proposed.get(k) : this.value(k)) as ConfigValue<K> };
    const problems = this.owners.flatMap((o) => o.verify(next));
    if (problems.length) throw new ConfigurationRefused(problems);
    this.gate_?.admit(resolved, actor);
    // 3. One transaction.
    try {
      this.deps.store.write(resolved, `${actor.user}@${actor.remote}`, (this.deps.now?.() ?? new Date()).toISOString());
    } catch (e) {
      this.deps.logger.log({ event: 'config.write-failed', level: 'error', error: (e as Error).message });
      throw diskFailure(e) ?? new Internal('The configuration could not be written; nothing was changed');
    }
    for (const c of resolved) this.cache.set(c.key, c.value);
    // Verify passed on the whole configuration: whatever the boot check found is mended.
    this.deps.alarms?.lower(VERIFY_ALARM);
    // 4. Apply, then tell feedback subscribers.
    this.apply(resolved.map((c) => c.key), actor);
    this.gate_?.committed(resolved, actor);
    for (const l of this.listeners) {
      try {
        l(resolved, actor);
      } catch (e) {
        this.deps.logger.log({ event: 'config.listener-failed', level: 'error', error: String((e as Error)?.stack ?? e) });
      }
    }
  }

  private apply(keys: readonly string[], actor: Actor): void {
    for (const o of this.owners) {
      const mine = keys.filter((k) => o.subtrees.some((s) => inSubtree(k, s)));
      if (!mine.length) continue;
      const alarm = applyAlarmId(o.name);
      try {
        o.apply({ next: this, keys: mine, actor });
        this.deps.alarms?.lower(alarm);
      } catch (e) {
        // Committed is committed: the failure is shown (alarm, log) until a later apply succeeds.
        const reason = e instanceof Error ? e.message : String(e);
        this.deps.logger.log({ event: 'config.apply-failed', level: 'error', owner: o.name, error: String((e as Error)?.stack ?? e) });
        this.deps.alarms?.raise(alarm, `The ${o.name} configuration was saved but could not be applied: ${reason}`, 'Error');
      }
    }
  }

  onChange(listener: (changes: readonly ConfigChange[], actor: Actor) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }
}
