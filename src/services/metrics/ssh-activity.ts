// SSH counters: the SSH server records (SshActivityRecorder), metrics read (SshActivity). In
// memory only: a counter starts again at 0 with the daemon, as Prometheus expects of `_total`.
import { SSH_LOGIN_REFUSALS, type SshLoginRefusal } from '../../../schema/sets.js';
import type { SshActivity, SshActivityRecorder } from '../interfaces.js';

export class SshCounters implements SshActivity, SshActivityRecorder {
  private open = 0;
  private readonly refused = Object.fromEntries(SSH_LOGIN_REFUSALS.map((r) => [r, 0])) as Record<SshLoginRefusal, number>;

  sessionOpened(): void {
    this.open++;
  }

  sessionClosed(): void {
    // Never below 0, whatever a caller gets wrong: a gauge that goes negative is worse than none.
    if (this.open > 0) this.open--;
  }

  loginRefused(reason: SshLoginRefusal): void {
    this.refused[reason]++;
  }

  sessionsOpen(): number {
    return this.open;
  }

  loginsRefused(): Readonly<Record<SshLoginRefusal, number>> {
    return { ...this.refused };
  }
}
