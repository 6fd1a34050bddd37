// The cluster-wide configuration: every key but this peer's own (LOCAL_SUBTREES) lives in etcd as
// `cfg/<key>` = {"value": v, "peer": n}, and every peer applies what another peer committed through
// the normal owners' lifecycle (Configuration.set with the cluster actor), so verify, apply, alarms
// and xFeedback behave as for a local commit.
//
// Which keys are local, and why:
// - `Clustering`: how this peer finds itself and the others (the plan is per peer anyway).
// - `SystemUnit Name`: each peer's own name (its first self-signed certificate carries it).
// - `Security Acme Scheduler`: automated renewal is enabled per peer (the seed: "ACME must be
//   enabled individually on each peer"), and peers renew at different times.
// Everything else (HTTP redirect, ACME provider and account settings, metrics, SSH idle timeout)
// is the same on every peer. Secrets (EAB HMAC key, metrics token) travel in etcd over TLS.
//
// Joining: the configuration primary writes all its shared keys and the marker `meta/cfg-seeded`
// in one transaction, once per cluster (a restarted primary finds the marker and writes nothing);
// every peer then takes the whole `cfg/` snapshot as one commit and follows the watch. A commit's
// keys are written in one transaction, so a peer applies them together (rules that tie keys,
// like the EAB pair, hold). A peer that was down catches up the same way at start.
//
// Local commits: admit() refuses a change of shared keys while the cluster has no quorum, with
// one sentence (reads and local keys keep working); committed() queues the change and writes it to
// etcd, retrying every second until a quorum takes it, so a commit admitted just before the quorum
// went is not lost. Last writer wins.
import { inSubtree } from '../config/owner.js';
import { ClusterUnavailable, type ClusterClient } from '../../cluster/client.js';
import { ReplicatedPrefix } from '../../cluster/replica.js';
import type { Logger } from '../../platform/log.js';
import type { Value } from '../../../schema/types.js';
import type { Actor, AlarmService, CommitGate, ConfigChange, ConfigService } from '../interfaces.js';
import { RetryTimer } from './retry.js';
import { Echoes } from './echoes.js';

export const LOCAL_SUBTREES = ['Clustering', 'SystemUnit Name', 'Security Acme Scheduler'] as const;
export const isShared = (key: string): boolean => !LOCAL_SUBTREES.some((s) => inSubtree(key, s));

const PREFIX = 'cfg/';
const SEEDED = 'meta/cfg-seeded';
export const CONFIG_ALARM = 'cluster-config';
const CLUSTER_USER = 'cluster';

/** Who a replicated commit is from, in audit lines and xFeedback. */
export const clusterActor = (peer: number): Actor => ({ user: CLUSTER_USER, role: 'Admin', remote: `peer${peer}`, session: 'cluster' });

export const isClusterActor = (a: Actor): boolean => a.user === CLUSTER_USER && a.session === 'cluster';

export type SharedConfigService = Pick<ConfigService, 'get' | 'entries' | 'set'> & { gate(g: CommitGate | undefined): void };

export interface SharedConfigDeps {
  readonly client: ClusterClient;
  readonly config: SharedConfigService;
  readonly self: number;
  readonly primary: boolean;
  /** Whether the cluster takes writes now (Active or Degraded). */
  readonly writable: () => boolean;
  readonly alarms: AlarmService;
  readonly logger: Logger;
}

export class SharedConfiguration implements CommitGate {
  private replica: ReplicatedPrefix | undefined;
  /** Local changes not sent yet. */
  private readonly pending = new Map<string, Value>();
  private readonly echoes = new Echoes();
  private flushing = false;
  private readonly retry = new RetryTimer(1000);
  private batch: [string, string | undefined][] = [];
  private closed = false;

  constructor(private readonly deps: SharedConfigDeps) {}

  /** Seeds (primary), waits for the seed, adopts the snapshot and follows the watch. Throws ClusterUnavailable (retry). */
  async start(): Promise<void> {
    const { client } = this.deps;
    if (this.deps.primary) {
      const entries = new Map(this.deps.config.entries().filter((c) => isShared(c.key)).map((c) => [PREFIX + c.key, this.encode(c.value)]));
      const wrote = await client.putAll(entries, { key: SEEDED, value: String(this.deps.self) });
      if (wrote) this.deps.logger.log({ event: 'cluster.config.seeded', keys: entries.size });
    }
    if ((await client.get(SEEDED)) === undefined) throw new ClusterUnavailable('The configuration primary has not published its configuration yet');
    if (this.closed) return;
    const replica = await ReplicatedPrefix.open(client, PREFIX, this.deps.logger);
    if (this.closed) {
      await replica.close();
      return;
    }
    this.replica = replica;
    this.adopt([...replica.entries()], true);
    // Events of one revision (one commit) arrive together: applied as one commit.
    replica.on('change', (key: string, value: string | undefined) => {
      if (this.batch.push([key, value]) === 1) setImmediate(() => this.adopt(this.batch.splice(0), false));
    });
    replica.on('reset', (entries: ReadonlyMap<string, string>) => {
      this.echoes.reset((k) => entries.get(k));
      this.adopt([...entries], true);
    });
    this.deps.config.gate(this);
  }

  private encode(value: Value): string {
    return JSON.stringify({ value, peer: this.deps.self });
  }

  /** Applies entries another peer wrote (all of them, from a snapshot) that differ from ours, as one commit. */
  private adopt(entries: readonly [string, string | undefined][], snapshot: boolean): void {
    if (this.closed) return;
    const byPeer = new Map<number, ConfigChange[]>();
    for (const [k, raw] of entries) {
      if (!k.startsWith(PREFIX) || raw === undefined) continue;
      const key = k.slice(PREFIX.length);
      let parsed: { value: Value; peer: number };
      try {
        parsed = JSON.parse(raw) as { value: Value; peer: number };
      } catch {
        this.deps.logger.log({ event: 'cluster.config.bad-entry', level: 'warn', key });
        continue;
      }
      // Our own writes are applied already; a snapshot is taken whole (we may have missed a later one of ours).
      if (!snapshot && parsed.peer === this.deps.self) {
        this.echoes.own(k, raw);
        continue;
      }
      // A change of ours queued or not back yet is newer than this one (see echoes.ts).
      if (!isShared(key) || this.pending.has(key) || this.echoes.waiting(k)) continue;
      let current: Value;
      try {
        current = this.deps.config.get(key);
      } catch {
        current = '';
      }
      if (String(current) === String(parsed.value)) continue;
      const list = byPeer.get(parsed.peer) ?? [];
      list.push({ key, value: parsed.value });
      byPeer.set(parsed.peer, list);
    }
    for (const [peer, changes] of byPeer) {
      try {
        this.deps.config.set(changes, clusterActor(peer));
        this.deps.alarms.lower(CONFIG_ALARM);
        this.deps.logger.log({ event: 'cluster.config.applied', from: peer, keys: changes.map((c) => c.key) });
      } catch (e) {
        const reason = (e as Error).message;
        this.deps.logger.log({ event: 'cluster.config.refused', level: 'error', from: peer, error: reason });
        this.deps.alarms.raise(CONFIG_ALARM, `A configuration change from cluster peer ${peer} could not be applied here: ${reason}`, 'Error');
      }
    }
  }

  admit(changes: readonly ConfigChange[], actor: Actor): void {
    if (isClusterActor(actor)) return;
    if (!changes.some((c) => isShared(c.key)) || this.deps.writable()) return;
    throw new ClusterUnavailable(`The cluster has no quorum: cluster-wide configuration cannot be changed now (reads and ${LOCAL_SUBTREES.join(', ')} still can)`);
  }

  committed(changes: readonly ConfigChange[], actor: Actor): void {
    if (isClusterActor(actor)) return;
    const shared = changes.filter((c) => isShared(c.key));
    if (!shared.length) return;
    for (const c of shared) this.pending.set(c.key, c.value);
    void this.flush();
  }

  /** Writes the queued changes in one transaction; on failure tries again in a second. */
  private async flush(): Promise<void> {
    if (this.flushing || this.closed || this.pending.size === 0) return;
    this.flushing = true;
    const sent = new Map(this.pending);
    this.pending.clear();
    const writes = new Map([...sent].map(([k, v]) => [PREFIX + k, this.encode(v)]));
    for (const [k, raw] of writes) this.echoes.sent(k, raw);
    let failed = false;
    try {
      await this.deps.client.putAll(writes);
      for (const [k, raw] of writes) this.echoes.landed(k, raw);
    } catch (e) {
      failed = true;
      for (const [k, raw] of writes) this.echoes.failed(k, raw);
      // Queued again, unless a newer local change of the key is queued already.
      for (const [k, v] of sent) if (!this.pending.has(k)) this.pending.set(k, v);
      this.deps.logger.log({ event: 'cluster.config.write-failed', level: 'warn', keys: [...sent.keys()], error: (e as Error).message });
    } finally {
      this.flushing = false;
    }
    if (failed) {
      this.retry.later(() => void this.flush());
    } else if (this.pending.size > 0) void this.flush();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.deps.config.gate(undefined);
    this.retry.cancel();
    await this.replica?.close();
  }
}
