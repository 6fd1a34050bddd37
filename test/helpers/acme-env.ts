// The ACME service in process with the real parts around it, built by buildApp like the daemon:
// SQLite configuration and state, status and alarms, the trust store, the certificate service,
// the HTTP/HTTPS listeners on loopback port 0, and a real Pebble whose validator connects to that
// HTTP listener.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../../src/app.js';
import type { Alarms } from '../../src/services/alarms.js';
import type { Status } from '../../src/services/status.js';
import type { Uploads } from '../../src/stores/uploads.js';
import type { FileTrustStore } from '../../src/services/trust/store.js';
import type { FileCertificateService } from '../../src/services/certs/service.js';
import type { WebListeners } from '../../src/services/tls/listener.js';
import type { AcmeClientService, AcmeLimits } from '../../src/services/acme/service.js';
import { memorySink } from '../../src/platform/log.js';
import type { Clock } from '../../src/platform/clock.js';
import type { Actor, ConfigChange } from '../../src/services/interfaces.js';
import type { Value } from '../../schema/types.js';
import { freePort, startPebble, type Pebble, type PebbleOptions } from './pebble.js';
import { CliSession } from '../../src/cli/session.js';
import { staticKey } from './fixtures.js';

export const ADMIN: Actor = { user: 'admin', role: 'Admin', remote: '127.0.0.1:1', session: 'acme-test' };

export interface AcmeEnv {
  readonly dir: string;
  readonly pebble: Pebble;
  readonly acme: AcmeClientService;
  readonly certs: FileCertificateService;
  readonly trust: FileTrustStore;
  readonly listeners: WebListeners;
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly status: Status;
  readonly alarms: Alarms;
  readonly uploads: Uploads;
  readonly events: { name: string; fields: Record<string, string | number> }[];
  /** Calls `fn` for every event as it is emitted. */
  onEvent(fn: (e: { name: string; fields: Record<string, string | number> }) => void): void;
  readonly logLines: string[];
  set(values: Record<string, Value>): void;
  /** `xStatus Security Acme` as the service reports it. */
  acmeStatus(): Record<string, unknown>;
  /** A CSR for these names (first = CN). */
  csr(names: string[], keyType?: 'ECDSA-P256' | 'RSA-2048' | 'ECDSA-P384'): Promise<void>;
  /** Runs lines through the real parser, bus and terminal renderer (exec mode); output and exit code. */
  shell(input: string, actor?: Actor): Promise<{ out: string; code: number }>;
  /** Custom provider → this pebble, trust its HTTPS CA, accept terms. */
  configure(opts?: { accept?: boolean }): Promise<void>;
  /** Stops the appliance (its data directory stays until the test ends): a restart test builds another on `dir`. */
  close(): Promise<void>;
}

export interface EnvOptions {
  pebble?: Partial<PebbleOptions>;
  limits?: Partial<AcmeLimits>;
  clock?: Clock;
  /** Put something between pebble's validator and the HTTP listener (returns the port pebble should use). */
  front?: (httpPort: number) => Promise<number>;
  /** Keep the pebble's HTTPS CA out of the trust store. */
  untrusted?: boolean;
  /** Where deploy checks what is served (default: the HTTPS listener). */
  probePort?: () => number;
  /** Pebble's TLS-ALPN-01 port is the HTTPS listener and its HTTP-01 port a closed one. */
  alpn?: boolean;
}

type Teardown = { teardown(fn: () => unknown): void };

export async function acmeEnv(t: Teardown, opts: EnvOptions = {}): Promise<AcmeEnv> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xway-acme-'));
  const sink = memorySink();
  let httpsPort = 0;
  const app = buildApp({
    dataDir: dir,
    adminPassword: 'correct horse battery',
    logSink: sink,
    announce: () => {},
    clock: opts.clock,
    acmeLimits: opts.limits,
    httpsAddress: () => ({ host: '127.0.0.1', port: opts.probePort ? opts.probePort() : httpsPort }),
    keySource: staticKey,
    defaultCas: () => [],
  });
  t.teardown(async () => {
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const listeners = app.web.web;
  const httpPort = await listeners.listenHttp(0);
  httpsPort = await listeners.listenHttps(0);
  const validatorPort = opts.alpn ? await freePort() : opts.front ? await opts.front(httpPort) : httpPort;
  const pebble = await startPebble({ httpPort: validatorPort, ...(opts.alpn ? { tlsPort: httpsPort } : {}), ...opts.pebble }, (fn) => t.teardown(fn));
  const trust = app.web.trust;
  if (!opts.untrusted) trust.add(pebble.httpsCaPem, ADMIN);

  // Events as a client sees them: a feedback registration on the bus.
  const events: AcmeEnv['events'] = [];
  const eventListeners: ((e: AcmeEnv['events'][number]) => void)[] = [];
  app.bus.feedback.add({
    registrations: [{ root: 'Event', path: [], expr: '/Event' }],
    deliver(f) {
      if (f.kind !== 'event') return;
      const e = { name: f.name, fields: { ...f.fields } as Record<string, string | number> };
      events.push(e);
      for (const l of eventListeners) l(e);
    },
  });
  const { acme, bus } = app;
  const certs = app.web.certificates;
  const config = app.services.config;
  const shell = async (input: string, actor: Actor = ADMIN) => {
    let out = '';
    const s = new CliSession({ bus, actor, mode: 'exec', io: { write: (d) => void (out += d) }, banner: 'xway test' });
    s.runExec(input);
    s.endInput();
    const code = await s.closed;
    s.dispose();
    return { out, code };
  };
  const set = (values: Record<string, Value>) => {
    const changes: ConfigChange[] = Object.entries(values).map(([key, value]) => ({ key, value }));
    config.set(changes, ADMIN);
  };
  return {
    dir, pebble, acme, certs, trust, listeners, httpPort, httpsPort, events, logLines: sink.lines,
    status: app.services.status as Status,
    alarms: app.services.alarms as Alarms,
    uploads: app.services.uploads as Uploads,
    set,
    shell,
    onEvent: (fn) => void eventListeners.push(fn),
    acmeStatus: () => acme.status() as Record<string, unknown>,
    close: () => app.close(),
    async csr(names, keyType = 'ECDSA-P256') {
      if (certs.csr()) certs.discardCsr(ADMIN);
      await certs.createCsr({ commonName: names[0]!, alternativeNames: names, keyType, reuseKey: false }, ADMIN);
    },
    async configure(o = {}) {
      set({ 'Security Acme Provider': 'Custom', 'Security Acme DirectoryUrl': pebble.directoryUrl, 'Security Acme AdminEmail': 'admin@example.com' });
      if (o.accept !== false) await acme.acceptTerms(ADMIN, true);
    },
  };
}
