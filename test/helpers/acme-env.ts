// The ACME service in process with the real parts around it: SQLite configuration and state,
// status and alarms, the trust store, the certificate service, the HTTP/HTTPS listeners on
// loopback port 0, and a real Pebble whose validator connects to that HTTP listener.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONFIG } from '../../schema/config.js';
import { STATUS } from '../../schema/status.js';
import { Registry } from '../../src/bus/registry.js';
import { openDatabase } from '../../src/stores/database.js';
import { SqliteConfigStore } from '../../src/stores/config.js';
import { Configuration } from '../../src/services/config/configuration.js';
import { SqliteStateStore } from '../../src/stores/state.js';
import { Status } from '../../src/services/status.js';
import { Alarms } from '../../src/services/alarms.js';
import { Uploads } from '../../src/services/uploads.js';
import { FileTrustStore } from '../../src/services/trust/store.js';
import { FileCertificateService } from '../../src/services/certs/service.js';
import { WebListeners } from '../../src/services/tls/listener.js';
import { AcmeClientService, type AcmeLimits } from '../../src/services/acme/service.js';
import { tlsProbe } from '../../src/services/acme/probe.js';
import { Logger, memorySink } from '../../src/platform/log.js';
import { systemClock, type Clock } from '../../src/platform/clock.js';
import type { Actor, ConfigChange } from '../../src/services/interfaces.js';
import type { Value } from '../../schema/types.js';
import { startPebble, type Pebble, type PebbleOptions } from './pebble.js';
import { COMMANDS } from '../../commands/index.js';
import { Bus } from '../../src/bus/bus.js';
import { CliSession } from '../../src/cli/session.js';
import { SqliteAccountStore } from '../../src/stores/accounts.js';
import type { Services } from '../../src/services/interfaces.js';

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
}

type Teardown = { teardown(fn: () => unknown): void };

export async function acmeEnv(t: Teardown, opts: EnvOptions = {}): Promise<AcmeEnv> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xway-acme-'));
  const sink = memorySink();
  const clock = opts.clock ?? systemClock;
  const logger = new Logger(sink, () => clock.now());
  const db = openDatabase(path.join(dir, 'xway.db'));
  const registry = new Registry(CONFIG, STATUS, []);
  const config = new Configuration({ store: new SqliteConfigStore(db), declared: registry.allConfig(), logger, now: () => clock.now() });
  const state = new SqliteStateStore(db);
  const status = new Status();
  const alarms = new Alarms(status, logger, () => clock.now());
  fs.mkdirSync(path.join(dir, 'uploads'));
  const uploads = new Uploads(path.join(dir, 'uploads'));
  const trust = new FileTrustStore({ dir: path.join(dir, 'trust'), clock, logger, defaults: () => [] });
  const certs = await FileCertificateService.open({ dir: path.join(dir, 'certs'), clock, logger, alarms, trust, systemName: () => 'edge.example.com' });
  const material = certs.listenerMaterial();
  const listeners = new WebListeners({ server: material.server, domains: material.domains, logger });
  const httpPort = await listeners.listenHttp(0);
  const httpsPort = await listeners.listenHttps(0);
  certs.attach(listeners);
  const validatorPort = opts.front ? await opts.front(httpPort) : httpPort;
  const pebble = await startPebble({ httpPort: validatorPort, ...opts.pebble }, (fn) => t.teardown(fn));
  if (!opts.untrusted) trust.add(pebble.httpsCaPem, ADMIN);

  const events: AcmeEnv['events'] = [];
  const eventListeners: ((e: AcmeEnv['events'][number]) => void)[] = [];
  const acme = new AcmeClientService({
    config, state, status, alarms, uploads, trust, certificates: certs, challengeHost: listeners,
    events: { emit: (name, fields) => services.events.emit(name, fields) },
    probe: (sni) => tlsProbe('127.0.0.1', opts.probePort ? opts.probePort() : httpsPort, sni),
    dir: path.join(dir, 'acme'),
    clock,
    random: Math.random,
    logger,
    limits: opts.limits,
  });
  status.provide('Security', () => ({ Acme: acme.status() }));
  t.teardown(async () => {
    await acme.stop();
    await listeners.close();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const services: Services = {
    events: {
      emit: (name, fields) => {
        const e = { name, fields: { ...fields } };
        events.push(e);
        for (const l of eventListeners) l(e);
        bus.emitEvent(name, fields);
      },
    },
    config, state, status, alarms, uploads, trust, certificates: certs, tls: listeners, acme,
    accounts: new SqliteAccountStore(db, logger, () => clock.now()),
    system: { product: 'xway', version: 'test', releaseDate: '2026-11-23', uptimeSeconds: () => 0, reboot: async () => {} },
  };
  const bus = new Bus({ registry: new Registry(CONFIG, STATUS, COMMANDS), services, logger });
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
    dir, pebble, acme, certs, trust, listeners, httpPort, httpsPort, status, alarms, uploads, events, logLines: sink.lines,
    set,
    shell,
    onEvent: (fn) => void eventListeners.push(fn),
    acmeStatus: () => acme.status() as Record<string, unknown>,
    async csr(names, keyType = 'ECDSA-P256') {
      if (certs.csr()) certs.discardCsr(ADMIN);
      await certs.createCsr({ commonName: names[0]!, alternativeNames: names, keyType, reuseKey: false }, ADMIN);
    },
    async configure(o = {}) {
      set({ 'Security Acme Provider': 'Custom', 'Security Acme DirectoryUrl': pebble.directoryUrl, 'Security Acme AdminEmail': 'admin@example.com' });
      if (o.accept !== false) await acme.acceptTerms(ADMIN);
    },
  };
}
