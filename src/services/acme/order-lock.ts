// The ACME service's one question to a cluster before an order: may this peer order these names
// now? A cluster answers with per-name locks in etcd (src/cluster/locks.ts, through the cluster
// service); a standalone appliance has nobody to ask, so the answer is always yes.

/** Held while an order (or a dry run) runs; released when it ends. */
export interface HeldOrderLock {
  /** Never throws: a lock that cannot be released expires with its lease. */
  release(): Promise<void>;
  /** Called once if the lock is lost while held (a cluster's lease expired): the order must stop. */
  onLost?(fn: () => void): void;
}

export interface OrderLock {
  /**
   * Takes the lock of every name of an order, trying once. Throws NameLocked (a CommandError
   * naming the peer that orders one of them) or an Unavailable when the cluster cannot answer;
   * nothing is held then.
   */
  acquire(names: readonly string[]): Promise<HeldOrderLock>;
}

/** Standalone: no other peer can order the same name. */
export const LOCAL_ORDER_LOCK: OrderLock = {
  acquire: () => Promise.resolve({ release: () => Promise.resolve() }),
};
