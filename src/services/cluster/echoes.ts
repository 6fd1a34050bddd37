// Which of this peer's own writes to a replicated key have not come back through its watch yet.
// Shared by the replicated configuration and trust store. Why it matters: the watch delivers every
// change in revision order, this peer's own included. Until our write to a key comes back, any
// other peer's change to that key that arrives is older than ours (ours will overwrite it in etcd),
// so applying it would leave this peer on a value the cluster no longer has. Once our write came
// back, every later change is newer and must be applied, even if our put has not returned yet:
// waiting for the put instead of the echo lost such a change (found by `npm run bench -- cluster`,
// about one change in a thousand when peers write in turn).
export class Echoes {
  private readonly awaiting = new Map<string, { raw: string; landed: boolean }>();

  /** Our write of `raw` to `key` is being sent. */
  sent(key: string, raw: string): void {
    this.awaiting.set(key, { raw, landed: false });
  }

  /** The put returned: the write is in etcd (its echo may still be on its way). */
  landed(key: string, raw: string): void {
    const a = this.awaiting.get(key);
    if (a?.raw === raw) a.landed = true;
  }

  /** The put failed: the caller queues it again, and sends it again as a new write. */
  failed(key: string, raw: string): void {
    if (this.awaiting.get(key)?.raw === raw) this.awaiting.delete(key);
  }

  /** A change of ours came back through the watch: when it is the last one sent, later changes are newer. */
  own(key: string, raw: string): void {
    if (this.awaiting.get(key)?.raw === raw) this.awaiting.delete(key);
  }

  /** Whether a write of ours to `key` may still land after the changes seen so far. */
  waiting(key: string): boolean {
    return this.awaiting.has(key);
  }

  /**
   * The copy was reloaded from a snapshot (its watch history was compacted): writes that landed are
   * in it, or were overwritten since, and their echo will not come.
   */
  reset(current: (key: string) => string | undefined): void {
    for (const [key, a] of this.awaiting) if (a.landed || current(key) === a.raw) this.awaiting.delete(key);
  }
}
