// A local, always-readable copy of every key under a prefix: a snapshot, then a watch from the
// snapshot's revision + 1, so no change between the two is missed. Contract:
// - get()/entries() answer from memory and never wait for the cluster: they keep working (stale)
//   without quorum, and catch up by themselves when the watch reconnects.
// - 'change' (key, value | undefined, revision) fires once per put/delete, in revision order.
// - If the watch is cancelled (its revision was compacted away), the copy reloads from a fresh
//   snapshot and fires 'reset' (entries, revision) instead of individual changes; callers that
//   derive state from changes must rebuild from 'reset'.
import { EventEmitter } from 'node:events';
import type { Watcher } from 'etcd3';
import type { ClusterClient } from './client.js';
import type { Logger } from '../platform/log.js';

export class ReplicatedPrefix extends EventEmitter {
  private entries_ = new Map<string, string>();
  private revision_ = 0;
  private watcher: Watcher | undefined;
  private closed = false;

  private constructor(private readonly client: ClusterClient, readonly prefix: string, private readonly logger = client.logger) {
    super();
  }

  /** Loads the snapshot and starts the watch; throws ClusterUnavailable when there is no quorum. */
  static async open(client: ClusterClient, prefix: string, logger?: Logger): Promise<ReplicatedPrefix> {
    const r = new ReplicatedPrefix(client, prefix, logger);
    await r.load();
    return r;
  }

  /** The revision the copy is complete up to. */
  get revision(): number { return this.revision_; }
  get(key: string): string | undefined { return this.entries_.get(key); }
  entries(): ReadonlyMap<string, string> { return this.entries_; }

  private async load(): Promise<void> {
    const snap = await this.client.snapshot(this.prefix);
    if (this.closed) return;
    this.entries_ = snap.entries;
    this.revision_ = snap.revision;
    const w = await this.client.watchFrom(this.prefix, snap.revision + 1);
    if (this.closed) {
      await this.client.unwatch(w);
      return;
    }
    this.watcher = w;
    w.on('put', (kv) => this.apply(kv.key.toString('utf8'), kv.value.toString('utf8'), Number(kv.mod_revision)));
    w.on('delete', (kv) => this.apply(kv.key.toString('utf8'), undefined, Number(kv.mod_revision)));
    w.on('error', (err) => void this.resync(w, err));
  }

  private apply(key: string, value: string | undefined, revision: number): void {
    if (value === undefined) this.entries_.delete(key);
    else this.entries_.set(key, value);
    if (revision > this.revision_) this.revision_ = revision;
    this.emit('change', key, value, revision);
  }

  private async resync(w: Watcher, err: Error): Promise<void> {
    if (this.closed || this.watcher !== w) return;
    this.watcher = undefined;
    this.logger?.log({ event: 'cluster.watch.resync', level: 'warn', prefix: this.prefix, reason: err.message || 'cancelled' });
    void this.client.unwatch(w);
    for (let delay = 100; !this.closed; delay = Math.min(delay * 2, 2000)) {
      try {
        await this.load();
        this.emit('reset', this.entries_, this.revision_);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.watcher;
    this.watcher = undefined;
    if (w) await this.client.unwatch(w);
  }
}
