// A simulated clock: time moves only when the test says, timers fire in time order, and the
// async work they start is allowed to settle before time moves on.
import type { Clock } from '../../src/platform/clock.js';

export interface SimClock extends Clock {
  /** Fires every timer due up to `t` (in order, time set to each), then sets the time to `t`. */
  advanceTo(t: number): Promise<void>;
  readonly pendingTimers: number;
}

/** Lets promise chains and I/O callbacks started by a timer run to completion. */
export async function settle(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

export function simClock(start: number): SimClock {
  let now = start;
  let seq = 0;
  const timers: { at: number; seq: number; fn: () => void; live: boolean }[] = [];
  return {
    now: () => new Date(now),
    monotonic: () => now,
    setTimeout(fn, ms) {
      const t = { at: now + Math.max(0, ms), seq: seq++, fn, live: true };
      timers.push(t);
      return { cancel: () => { t.live = false; } };
    },
    get pendingTimers() { return timers.filter((t) => t.live).length; },
    async advanceTo(target) {
      for (let guard = 0; guard < 100_000; guard++) {
        const live = timers.filter((t) => t.live && t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq);
        const next = live[0];
        if (!next) break;
        next.live = false;
        timers.splice(timers.indexOf(next), 1);
        now = Math.max(now, next.at);
        next.fn();
        await settle();
      }
      for (let i = timers.length - 1; i >= 0; i--) if (!timers[i]!.live) timers.splice(i, 1);
      now = Math.max(now, target);
      await settle();
    },
  };
}
