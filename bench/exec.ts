// What the benchmarks that drive the appliance and command-line peers share: the median, a command
// through an exec session of the appliance, and a timed child process.
import { spawn } from 'node:child_process';
import type { App } from '../src/app.js';
import type { Actor } from '../src/services/interfaces.js';

const actor: Actor = { user: 'admin', role: 'Admin', remote: 'bench', session: 'bench' };

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs lines through an exec session of the appliance (the same path an SSH exec takes). */
export async function xapi(app: App, lines: string, payload?: string): Promise<string> {
  let out = '';
  const s = app.newSession(actor, 'exec', { write: (d) => void (out += d) });
  s.runExec(lines);
  if (payload !== undefined) s.feed(payload);
  s.endInput();
  const code = await s.closed;
  s.dispose();
  if (code !== 0) throw new Error(`${lines.split('\n')[0]} failed:\n${out}`);
  return out;
}

export function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<{ ms: number; code: number | null; out: string }> {
  return new Promise((resolve) => {
    const start = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - start, code, out });
    });
  });
}

/**
 * Starts `one()` at `rate` a second (a fixed pace, not as fast as possible) while `more(started)`
 * holds; resolves with how many started, once every one of them has ended.
 */
export async function paced(rate: number, more: (started: number) => boolean, one: () => Promise<void>): Promise<number> {
  const start = performance.now();
  const interval = 1000 / rate;
  const inflight = new Set<Promise<void>>();
  let started = 0;
  while (more(started)) {
    const due = Math.floor((performance.now() - start) / interval) + 1;
    while (started < due && more(started)) {
      started++;
      const p = one().finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await new Promise((r) => setTimeout(r, Math.max(1, interval / 2)));
  }
  await Promise.all(inflight);
  return started;
}

/** Trusts the CA's HTTPS certificate, points ACME at `directoryUrl` (Custom), then accepts the terms; `extra` lines come before that. */
export async function acmeAccount(app: App, caPem: string, directoryUrl: string, extra: readonly string[] = []): Promise<void> {
  await xapi(app, 'xCommand Security Certificates CA Add', caPem + '.\n');
  await xapi(app, [
    `xConfiguration Security Acme DirectoryUrl: "${directoryUrl}"`,
    'xConfiguration Security Acme Provider: Custom',
    'xConfiguration Security Acme AdminEmail: "admin@example.com"',
    ...extra,
    'xCommand Security Acme AcceptTerms Agree: True',
  ].join('\n'));
}
