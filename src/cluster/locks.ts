// Per-name order locks: two peers never order a certificate for the same name at once. Taking
// the locks of an order writes `locks/acme/<name>` = {"peer": n, "address": "...", "nonce": "..."}
// for every name of the order, all or none in one etcd transaction (two orders sharing one name
// of several can neither both win nor deadlock), under a lease of its own. Contract:
// - acquire() tries once and never waits: the held locks, or the peer holding one of the names
//   (taken as it is written; a holder whose value cannot be read is reported as unknown).
// - The lease is kept alive by this peer's client while the order runs; release() revokes it and
//   the keys go cluster-wide at once. A peer that dies stops keeping it alive, and its locks go
//   when the TTL runs out (default 10 s), so a dead peer never blocks the others for long.
// - Throws ClusterUnavailable without a quorum: nothing is taken.
import crypto from 'node:crypto';
import type { ClusterClient } from './client.js';

export const LOCKS_PREFIX = 'locks/acme/';

/** The peer that holds (or takes) a lock, as `xStatus Clustering` names it. */
export interface LockHolder {
  readonly peer: number;
  readonly address: string;
}

export interface HeldNames {
  readonly names: readonly string[];
  /** Revokes the lease (never throws: a failed revoke leaves the locks to the TTL). */
  release(): Promise<void>;
  /** Called once if the lease is lost while held (this peer lost the cluster for longer than the TTL). */
  onLost(fn: (err: Error) => void): void;
}

export type AcquireResult =
  | { readonly held: HeldNames }
  | { readonly busy: string; readonly holder?: LockHolder };

export class NameLocks {
  constructor(
    private readonly client: ClusterClient,
    private readonly self: LockHolder,
    private readonly ttlSeconds = 10,
  ) {}

  /** Takes the lock of every name (lower-cased, deduplicated), or says who holds one of them. */
  async acquire(names: readonly string[]): Promise<AcquireResult> {
    const wanted = [...new Set(names.map((n) => n.toLowerCase()))];
    if (wanted.length === 0) throw new Error('An order has at least one name');
    // The nonce makes this claim's value its own: a retried claim recognises what it wrote.
    const value = JSON.stringify({ ...this.self, nonce: crypto.randomUUID() });
    const lease = await this.client.lease(this.ttlSeconds);
    let r: Awaited<ReturnType<typeof lease.claim>>;
    try {
      r = await lease.claim(new Map(wanted.map((n) => [LOCKS_PREFIX + n, value])));
    } catch (e) {
      await lease.revoke().catch(() => undefined);
      throw e;
    }
    if (r.ok) {
      return {
        held: {
          names: wanted,
          release: () => lease.revoke().catch(() => undefined),
          onLost: (fn) => lease.onLost(fn),
        },
      };
    }
    await lease.revoke().catch(() => undefined);
    return { busy: r.key.slice(LOCKS_PREFIX.length), holder: holderOf(r.current) };
  }
}

function holderOf(raw: string): LockHolder | undefined {
  try {
    const v = JSON.parse(raw) as { peer?: unknown; address?: unknown };
    if (typeof v.peer === 'number' && typeof v.address === 'string') return { peer: v.peer, address: v.address };
  } catch {
    // A foreign value: the name is held, by someone this peer cannot name.
  }
  return undefined;
}
