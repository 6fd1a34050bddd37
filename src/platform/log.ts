// One JSON line per event. Audit lines (`audit: true`) record who, from where, what, result.
// Callers pass already-redacted values; `redact()` is the one place secrets are masked.

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

/** Masks the value of any `Name: value` whose name looks secret (keys, passwords, HMACs). */
export function redact(text: string, secretNames: readonly string[]): string {
  let out = text;
  for (const n of secretNames) {
    const re = new RegExp(`(${n}\\s*:\\s*)("(?:[^"\\\\]|\\\\.)*"|\\S+)`, 'gi');
    out = out.replace(re, `$1${REDACTED}`);
  }
  return out;
}

export const stderrSink: LogSink = { write: (l) => void process.stderr.write(l) };
export const memorySink = (): LogSink & { lines: string[] } => {
  const lines: string[] = [];
  return { lines, write: (l) => void lines.push(l) };
};
