// Peer heartbeats: each peer keeps `peers/<n>` = {"LastSeen": ISO time} under its own lease and
// rewrites it every interval; every peer watches `peers/`. Contract:
// - A peer is Active while its key exists. A peer that dies stops keeping its lease alive, and its
//   key disappears TTL seconds later (default 5 s) on every peer; one that stops cleanly revokes
//   its lease and disappears at once. Its last LastSeen is remembered for xStatus.
// - Heartbeat never throws after start(): a beat that fails (no quorum) is retried at the next
//   interval, and a lease that was lost is granted anew.
import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../platform/clock.js';
import type { Logger } from '../platform/log.js';
import type { ClusterClient, HeldLease } from './client.js';
import { ReplicatedPrefix } from './replica.js';

export const PEERS_PREFIX = 'peers/';

export interface HeartbeatOptions {
  readonly ttlSeconds?: number;
  readonly intervalMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

export class Heartbeat {
  private lease: HeldLease | undefined;
  private timer: { cancel(): void } | undefined;
  private stopped = false;
  private failing = false;
  private readonly clock: Clock;

  private constructor(private readonly client: ClusterClient, readonly peer: number, private readonly opts: HeartbeatOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  /** Writes the first beat (throws ClusterUnavailable without quorum), then beats every interval. */
  static async start(client: ClusterClient, peer: number, opts: HeartbeatOptions = {}): Promise<Heartbeat> {
    const h = new Heartbeat(client, peer, opts);
    await h.beat();
    h.schedule();
    return h;
  }

  get key(): string { return `${PEERS_PREFIX}${this.peer}`; }

  private async beat(): Promise<void> {
    if (!this.lease) {
      const lease = await this.client.lease(this.opts.ttlSeconds ?? 5);
      lease.onLost(() => { if (this.lease === lease) this.lease = undefined; });
      this.lease = lease;
    }
    await this.lease.put(this.key, JSON.stringify({ LastSeen: this.clock.now().toISOString() }));
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => {
      void this.beat().then(
        () => {
          if (this.failing) this.opts.logger?.log({ event: 'cluster.heartbeat.resumed', peer: this.peer });
          this.failing = false;
        },
        (e: Error) => {
          if (!this.failing) this.opts.logger?.log({ event: 'cluster.heartbeat.failed', level: 'warn', peer: this.peer, reason: e.message });
          this.failing = true;
        },
      ).finally(() => { if (!this.stopped) this.schedule(); });
    }, this.opts.intervalMs ?? 1000);
  }

  /** Stops beating and revokes the lease: the other peers see this peer leave at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    const lease = this.lease;
    this.lease = undefined;
    await lease?.revoke().catch(() => undefined);
  }
}

export interface PeerSeen {
  readonly peer: number;
  readonly alive: boolean;
  /** ISO 8601 of the last beat seen; undefined if this peer never saw one. */
  readonly lastSeen?: string;
}

/** Every peer's heartbeat as this peer sees it. Emits 'change' (PeerSeen) on every beat and loss. */
export class PeerWatch extends EventEmitter {
  private readonly seen = new Map<number, PeerSeen>();

  private constructor(private readonly replica: ReplicatedPrefix) {
    super();
    for (const [k, v] of replica.entries()) this.note(k, v);
    replica.on('change', (k: string, v: string | undefined) => this.note(k, v));
    replica.on('reset', (entries: ReadonlyMap<string, string>) => {
      for (const s of this.seen.values()) if (!entries.has(`${PEERS_PREFIX}${s.peer}`)) this.note(`${PEERS_PREFIX}${s.peer}`, undefined);
      for (const [k, v] of entries) this.note(k, v);
    });
  }

  static async open(client: ClusterClient, logger?: Logger): Promise<PeerWatch> {
    return new PeerWatch(await ReplicatedPrefix.open(client, PEERS_PREFIX, logger));
  }

  private note(key: string, value: string | undefined): void {
    const peer = Number(key.slice(PEERS_PREFIX.length));
    if (!Number.isInteger(peer) || peer < 1) return;
    let lastSeen = this.seen.get(peer)?.lastSeen;
    if (value !== undefined) {
      try {
        lastSeen = String((JSON.parse(value) as { LastSeen?: unknown }).LastSeen ?? lastSeen);
      } catch {
        // A foreign value: the peer is alive, its time unknown.
      }
    }
    const s: PeerSeen = { peer, alive: value !== undefined, lastSeen };
    this.seen.set(peer, s);
    this.emit('change', s);
  }

  get(peer: number): PeerSeen | undefined { return this.seen.get(peer); }
  all(): PeerSeen[] { return [...this.seen.values()].sort((a, b) => a.peer - b.peer); }
  async close(): Promise<void> { await this.replica.close(); }
}
