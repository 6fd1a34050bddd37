// One pending retry of a write that etcd did not take (no quorum, no member reachable): a later
// failure replaces it, close cancels it. Shared by the replicated configuration and trust store.
export class RetryTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly delayMs: number) {}

  /** Runs `run` once after the delay, replacing a retry already waiting. */
  later(run: () => void): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      run();
    }, this.delayMs);
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
