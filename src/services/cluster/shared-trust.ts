// The cluster-wide trust store: the list of trusted CAs lives in etcd as one key, `trust/list` =
// {"pems": [...], "peer": n}, so a CA added, deleted or reset on any peer is the list on every peer
// (Expressway: "Add the new Trusted CA certificate on all nodes", done once). The same lifecycle
// as the configuration (shared.ts): the primary seeds it once per cluster (`meta/trust-seeded`),
// every peer takes the cluster's list at join and at start, follows the watch, and publishes its
// own changes, retried until a quorum takes them; without a quorum a change is refused in one
// sentence before anything is written. One key for the whole list: a change is one write and
// every peer applies it whole (1000 CAs are ~1.5 MB, under etcd's request limit).
//
// Two peers changing the list at once must not overwrite each other (each admin was told "Added"):
// a peer writes only over the list it last agreed with (compare-and-set). When another peer's list
// got there first, this peer merges: the cluster's list, less what this peer removed, plus what it
// added since that list it agreed with; it takes the result itself and writes it in turn.
import { ClusterUnavailable, type ClusterClient } from '../../cluster/client.js';
import { ReplicatedPrefix } from '../../cluster/replica.js';
import type { Logger } from '../../platform/log.js';
import type { Actor, AlarmService } from '../interfaces.js';
import type { TrustGate } from '../trust/store.js';
import { clusterActor, isClusterActor } from './shared.js';
import { RetryTimer } from './retry.js';
import { Echoes } from './echoes.js';

const KEY = 'trust/list';
const SEEDED = 'meta/trust-seeded';
export const TRUST_ALARM = 'cluster-trust';

export interface SharedTrustStore {
  caPems(): readonly string[];
  replace(pems: readonly string[], actor: Actor): void;
  gate(g: TrustGate | undefined): void;
}

export interface SharedTrustDeps {
  readonly client: ClusterClient;
  readonly trust: SharedTrustStore;
  readonly self: number;
  readonly primary: boolean;
  readonly writable: () => boolean;
  readonly alarms: AlarmService;
  readonly logger: Logger;
}

export class SharedTrust implements TrustGate {
  private replica: ReplicatedPrefix | undefined;
  /** A local change not sent yet. */
  private pending = false;
  private readonly echoes = new Echoes();
  private flushing = false;
  private readonly retry = new RetryTimer(1000);
  private closed = false;
  /** The cluster's list this peer's store last agreed with (the base of a merge), as stored in etcd. */
  private base: { raw: string; pems: readonly string[] } | undefined;

  constructor(private readonly deps: SharedTrustDeps) {}

  async start(): Promise<void> {
    const { client } = this.deps;
    if (this.deps.primary) await client.putAll(new Map([[KEY, this.encode(this.deps.trust.caPems())]]), { key: SEEDED, value: String(this.deps.self) });
    if ((await client.get(SEEDED)) === undefined) throw new ClusterUnavailable('The configuration primary has not published its trust store yet');
    if (this.closed) return;
    const replica = await ReplicatedPrefix.open(client, 'trust/', this.deps.logger);
    if (this.closed) {
      await replica.close();
      return;
    }
    this.replica = replica;
    this.adopt(replica.get(KEY), true);
    replica.on('change', (key: string, value: string | undefined) => { if (key === KEY) this.adopt(value, false); });
    replica.on('reset', (entries: ReadonlyMap<string, string>) => {
      this.echoes.reset((k) => entries.get(k));
      this.adopt(entries.get(KEY), true);
    });
    this.deps.trust.gate(this);
  }

  private encode(pems: readonly string[]): string {
    return JSON.stringify({ pems, peer: this.deps.self });
  }

  private adopt(raw: string | undefined, snapshot: boolean): void {
    if (this.closed || raw === undefined) return;
    let parsed: { pems: string[]; peer: number };
    try {
      parsed = JSON.parse(raw) as { pems: string[]; peer: number };
    } catch {
      this.deps.logger.log({ event: 'cluster.trust.bad-entry', level: 'warn' });
      return;
    }
    if (!snapshot && parsed.peer === this.deps.self) {
      this.echoes.own(KEY, raw);
      return;
    }
    // A change of ours queued or not back yet is newer than this one (see echoes.ts).
    if (this.pending || this.echoes.waiting(KEY)) return;
    if (same(this.deps.trust.caPems(), parsed.pems)) {
      this.base = { raw, pems: parsed.pems };
      return;
    }
    try {
      this.deps.trust.replace(parsed.pems, clusterActor(parsed.peer));
      this.base = { raw, pems: parsed.pems };
      this.deps.alarms.lower(TRUST_ALARM);
    } catch (e) {
      this.deps.logger.log({ event: 'cluster.trust.refused', level: 'error', from: parsed.peer, error: (e as Error).message });
      this.deps.alarms.raise(TRUST_ALARM, `The trust store from cluster peer ${parsed.peer} could not be applied here: ${(e as Error).message}`, 'Error');
    }
  }

  admit(actor: Actor): void {
    if (isClusterActor(actor) || this.deps.writable()) return;
    throw new ClusterUnavailable('The cluster has no quorum: the trust store cannot be changed now (it can still be read)');
  }

  committed(actor: Actor): void {
    if (isClusterActor(actor)) return;
    this.pending = true;
    void this.flush();
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.closed || !this.pending) return;
    this.flushing = true;
    this.pending = false;
    let failed = false;
    try {
      // Each round that loses the race merges with a newer list; after ten, it is tried again later.
      let done = false;
      for (let round = 0; round < 10 && !this.closed && !done; round++) {
        const pems = this.deps.trust.caPems();
        const raw = this.encode(pems);
        this.echoes.sent(KEY, raw);
        const r = await this.deps.client.compareAndSet(KEY, this.base?.raw, raw).catch((e: unknown) => {
          this.echoes.failed(KEY, raw);
          throw e;
        });
        if (r.ok) {
          this.echoes.landed(KEY, raw);
          this.base = { raw, pems };
          done = true;
        } else {
          this.echoes.failed(KEY, raw);
          done = !this.mergeWith(r.current);
        }
      }
      if (!done && !this.closed) throw new ClusterUnavailable('The trust store kept changing on other peers while this one wrote it');
    } catch (e) {
      failed = true;
      this.pending = true;
      this.deps.logger.log({ event: 'cluster.trust.write-failed', level: 'warn', error: (e as Error).message });
    } finally {
      this.flushing = false;
    }
    if (failed) {
      this.retry.later(() => void this.flush());
    } else if (this.pending) void this.flush();
  }

  /**
   * Another peer's list got there first: this peer's changes since `base` are applied to it and
   * taken here. Returns whether the result still has to be written (false: the cluster has it).
   */
  private mergeWith(current: string | undefined): boolean {
    if (current === undefined) {
      // The list is gone from etcd (nothing to merge with): ours is written where it was.
      this.base = undefined;
      return true;
    }
    const theirs = JSON.parse(current) as { pems: string[]; peer: number };
    const mine = this.deps.trust.caPems();
    const before = new Set(this.base?.pems ?? []);
    const kept = new Set(mine);
    const merged = theirs.pems.filter((p) => !before.has(p) || kept.has(p));
    const present = new Set(merged);
    for (const p of mine) if (!before.has(p) && !present.has(p)) merged.push(p);
    this.deps.logger.log({ event: 'cluster.trust.merged', from: theirs.peer, cas: merged.length });
    if (!same(mine, merged)) this.deps.trust.replace(merged, clusterActor(theirs.peer));
    this.base = { raw: current, pems: theirs.pems };
    return !same(theirs.pems, merged);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.deps.trust.gate(undefined);
    this.retry.cancel();
    await this.replica?.close();
  }
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}
