// Waits for a daemon's JSON log events as they are written, not by polling a clock: a loaded
// machine may take long to boot, so the bound is generous and only there to end a hung test.
import type { ChildProcess } from 'node:child_process';

export type LogEvent = Record<string, unknown>;

/** Collects JSON log lines from a child's stdout and stderr and resolves waits as events arrive. */
export class EventLog {
  private text = '';
  private parsed: LogEvent[] = [];
  private partial = '';
  private waiters = new Set<() => void>();

  constructor(readonly proc: ChildProcess) {
    const take = (d: Buffer) => {
      const s = d.toString('utf8');
      this.text += s;
      const lines = (this.partial + s).split('\n');
      this.partial = lines.pop()!;
      for (const l of lines) {
        if (!l.startsWith('{')) continue;
        try {
          this.parsed.push(JSON.parse(l) as LogEvent);
        } catch {
          // not one of ours
        }
      }
      for (const w of [...this.waiters]) w();
    };
    proc.stdout?.on('data', take);
    proc.stderr?.on('data', take);
    proc.on('exit', () => { for (const w of [...this.waiters]) w(); });
  }

  log(): string { return this.text; }
  events(): LogEvent[] { return this.parsed; }

  /** The `after`-th (0-based) event named `event`; rejects when the process exits first or after `ms`. */
  waitFor(event: string, after = 0, ms = 180_000): Promise<LogEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.parsed.filter((e) => e.event === event)[after];
        if (hit) return done(() => resolve(hit));
        if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
          return done(() => reject(new Error(`exited (${this.proc.exitCode ?? this.proc.signalCode}) before ${event}; log:\n${this.text}`)));
        }
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no ${event} event within ${ms / 1000} s; log:\n${this.text}`))), ms);
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        f();
      };
      this.waiters.add(check);
      check();
    });
  }
}
