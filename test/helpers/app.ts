// Builds a whole appliance in process on a fresh data directory, and drives sessions through
// the real parser, bus and renderers (no sockets).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp, type App, type AppOptions } from '../../src/app.js';
import type { Actor } from '../../src/services/interfaces.js';
import type { SessionMode } from '../../src/cli/session.js';
import { memorySink } from '../../src/platform/log.js';
import { MemoryStorage } from '../../src/stores/memorystorage.js';
import { staticKey, fewDefaultCas } from './fixtures.js';
import { FakeIssuer } from './fake-issuer.js';

export const ADMIN: Actor = { user: 'admin', role: 'Admin', remote: '127.0.0.1:1', session: 't1' };
export const READER: Actor = { user: 'viewer', role: 'ReadOnly', remote: '127.0.0.1:2', session: 't2' };

export interface TestApp extends App {
  dir: string;
  logLines: string[];
  /** Runs the input through a fresh session; returns everything written and the exit status. */
  run(input: string, mode?: SessionMode, actor?: Actor): Promise<{ out: string; code: number }>;
}

export function tmpDir(prefix = 'xway-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TestAppOptions extends Partial<Omit<AppOptions, 'storage'>> {
  /** `memory` keeps certificates, trust and uploads off the disk (for tests that never look there). */
  storage?: AppOptions['storage'] | 'memory';
}

/**
 * A whole appliance on a fresh data directory, with static test material: a fixed first-boot key
 * and three default CAs instead of a new RSA-2048 key and Node's ~144 roots at every start.
 */
export function testApp(t: { teardown(fn: () => void | Promise<void>): void }, opts: TestAppOptions = {}): TestApp {
  const dir = opts.dataDir ?? tmpDir();
  const sink = memorySink();
  const storage = opts.storage === 'memory' ? new MemoryStorage() : opts.storage;
  const app = buildApp({
    dataDir: dir, adminPassword: 'correct horse battery', logSink: sink, announce: () => {},
    keySource: staticKey, defaultCas: fewDefaultCas, ...opts, storage,
    // The fake CA answers as its own directory: no test without a CA asks the network.
    caDirectory: opts.caDirectory ?? (opts.issuer instanceof FakeIssuer ? opts.issuer : undefined),
  });
  t.teardown(async () => {
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return Object.assign(app, {
    dir,
    logLines: sink.lines,
    run: (input: string, mode: SessionMode = 'shell', actor: Actor = ADMIN) => runSession(app, input, mode, actor),
  });
}

/** Runs the input through a fresh session of any built app; everything written and the exit status. */
export async function runSession(app: Pick<App, 'newSession'>, input: string, mode: SessionMode = 'shell', actor: Actor = ADMIN): Promise<{ out: string; code: number }> {
  let out = '';
  const s = app.newSession(actor, mode, { write: (d) => void (out += d) });
  if (mode === 'exec') {
    s.runExec(input);
    s.endInput();
  } else {
    s.start();
    s.feed(input);
    s.endInput();
  }
  const code = await s.closed;
  s.dispose();
  return { out, code };
}
