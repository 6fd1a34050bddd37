// One JSON line per event. Audit lines (`audit: true`) record who, from where, what, result.
// The logger masks nothing itself: callers pass no secrets. Values the schema marks `secret`
// (passwords, the EAB HMAC key) are replaced by REDACTED where the bus logs commands and
// configuration changes (src/bus/bus.ts); services log serials and fingerprints, never key material.

export interface LogSink {
  write(line: string): void;
}

export interface LogEvent {
  readonly event: string;
  readonly level?: 'debug' | 'info' | 'warn' | 'error';
  readonly [field: string]: unknown;
}

export class Logger {
  constructor(private readonly sink: LogSink, private readonly clock: () => Date = () => new Date()) {}

  log(e: LogEvent): void {
    const line = JSON.stringify({ time: this.clock().toISOString(), level: e.level ?? 'info', ...e });
    this.sink.write(line + '\n');
  }

  audit(e: { who: string; from: string; what: string; result: string; session?: string; [k: string]: unknown }): void {
    this.log({ event: 'audit', audit: true, ...e });
  }
}

export const REDACTED = '(hidden)';

export const stderrSink: LogSink = { write: (l) => void process.stderr.write(l) };
export const memorySink = (): LogSink & { lines: string[] } => {
  const lines: string[] = [];
  return { lines, write: (l) => void lines.push(l) };
};
