// Builds the appliance from its parts: data directory, database, services, registry, bus.
// It never listens: src/main.ts does, so tests can build a whole appliance in process.
import crypto from 'node:crypto';
import os from 'node:os';
import { CONFIG } from '../schema/config.js';
import { STATUS } from '../schema/status.js';
import { COMMANDS } from '../commands/index.js';
import { Registry } from './bus/registry.js';
import { Bus } from './bus/bus.js';
import { CliSession, type SessionIO, type SessionMode } from './cli/session.js';
import type { Actor, EventSink, Services, SystemService } from './services/interfaces.js';
import { Status } from './services/status.js';
import { Alarms } from './services/alarms.js';
import { openDatabase, type Db } from './stores/database.js';
import { SqliteConfigStore } from './stores/config.js';
import { Configuration } from './services/config/configuration.js';
import { systemUnitOwner } from './services/system/owner.js';
import { clusteringOwner } from './services/cluster/owner.js';
import { ClusterService, type ClusterSettings, type ClusterTlsMaterial } from './services/cluster/service.js';
import { SshSettings } from './ssh/owner.js';
import { SqliteStateStore } from './stores/state.js';
import { SqliteAccountStore } from './stores/accounts.js';
import { DataPaths } from './platform/paths.js';
import { ensureDir, atomicWrite, removeDurably } from './platform/files.js';
import { Uploads } from './stores/uploads.js';
import { FileStorage } from './stores/filestorage.js';
import type { Storage } from './stores/storage.js';
import type { CertificateIssuer } from './services/acme/issuer.js';
import type { CaDirectory } from './services/acme/ca-directory.js';
import type { OrderLock } from './services/acme/order-lock.js';
import { Logger, stderrSink, type LogSink } from './platform/log.js';
import { systemClock, type Clock } from './platform/clock.js';
import { readVersion, type VersionInfo } from './platform/version.js';
import { buildCertificateServices, type CertificateServices } from './services/certs/wire.js';
import { AcmeClientService, type AcmeLimits } from './services/acme/service.js';
import { tlsProbe } from './services/acme/probe.js';
import { SshCounters } from './services/metrics/ssh-activity.js';
import { MetricsEndpoint } from './services/metrics/endpoint.js';
import { metricsOwner } from './services/metrics/owner.js';

export const PRODUCT = 'xway';

export interface AppOptions {
  dataDir: string;
  /** The admin password for a first boot; generated into a 0600 file when absent. */
  adminPassword?: string;
  logSink?: LogSink;
  clock?: Clock;
  /** Where the first boot says which file holds the generated admin password. */
  announce?: (text: string) => void;
  /** Restarts the services (main.ts closes listeners, rebuilds the app, listens again). */
  onReboot?: (actor: Actor) => Promise<void>;
  version?: VersionInfo;
  /** Where the HTTPS listener is bound (known after main.ts listens); ACME deploy probes it. */
  httpsAddress?: () => { host: string; port: number } | undefined;
  /** Random source in [0, 1) for the renewal scheduler (tests inject a seeded one). */
  random?: () => number;
  // Overrides for tests; each defaults to the real thing.
  /** Certificates, trust bundle, ACME state and uploads (default: files in the data directory). */
  storage?: Storage;
  /** Talks to the ACME CA (default: acme-client over HTTPS). */
  issuer?: CertificateIssuer;
  /** Reads the CA's directory and renewal information (default: HTTPS, trusting the trust store). */
  caDirectory?: CaDirectory;
  /** The first self-signed certificate's key (default: a new RSA-2048 key). */
  keySource?: () => crypto.KeyObject;
  /** The CA list a first boot and `CA Reset` install (default: Node's bundled roots). */
  defaultCas?: () => readonly string[];
  /** ACME timeouts, retries and renewal periods (default: DEFAULT_LIMITS). */
  acmeLimits?: Partial<AcmeLimits>;
  /** Who may order which names now (default: the cluster service's etcd locks; standalone, anyone). */
  orderLock?: OrderLock;
  /** This peer's address and etcd ports and binary (default: 127.0.0.1, 2379, 2380, `etcd`). */
  cluster?: ClusterSettings;
  /**
   * The etcd TLS material (default: the server certificate and key in use and the trust store).
   * Tests on loopback give certificates naming 127.0.0.x, which the certificate service refuses.
   */
  clusterTls?: () => ClusterTlsMaterial;
}

export interface App {
  readonly paths: DataPaths;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly bus: Bus;
  readonly services: Services;
  readonly clock: Clock;
  readonly accounts: SqliteAccountStore;
  readonly version: VersionInfo;
  /** Trust store, certificates and the HTTPS/HTTP listeners (not yet listening). */
  readonly web: CertificateServices;
  readonly acme: AcmeClientService;
  readonly cluster: ClusterService;
  /** The Ssh configuration's owner, read by the SSH layer (idle timeout). */
  readonly sshSettings: SshSettings;
  /** Where the SSH layer counts sessions and refused logins (read by /metrics). */
  readonly sshActivity: SshCounters;
  readonly metrics: MetricsEndpoint;
  banner(): string;
  newSession(actor: Actor, mode: SessionMode, io: SessionIO): CliSession;
  /** Stops timers, orders and listeners, then closes the database. */
  close(): Promise<void>;
}

export function buildApp(opts: AppOptions): App {
  const clock = opts.clock ?? systemClock;
  const now = () => clock.now();
  const logger = new Logger(opts.logSink ?? stderrSink, now);
  const version = opts.version ?? readVersion();
  const paths = new DataPaths(opts.dataDir);
  ensureDir(paths.root);
  for (const d of [paths.hostKeys, paths.logs]) ensureDir(d);
  const storage = opts.storage ?? new FileStorage(paths.root);

  const db: Db = openDatabase(paths.database);
  const registry = new Registry(CONFIG, STATUS, COMMANDS);
  const state = new SqliteStateStore(db);
  const accounts = new SqliteAccountStore(db, logger, now);
  const status = new Status();
  const alarms = new Alarms(status, logger, now);
  const config = new Configuration({ store: new SqliteConfigStore(db), declared: registry.allConfig(), logger, alarms, now });
  const sshSettings = new SshSettings(config);
  const uploads = new Uploads(storage);
  const started = clock.monotonic();

  firstBootAdmin(accounts, paths, opts, logger);
  // The generated first-boot password stops being a secret worth keeping once it is changed.
  accounts.onChange((c) => {
    if (c.kind === 'password' && c.user === 'admin') removeDurably(paths.adminPasswordFile);
  });

  const system: SystemService = {
    product: PRODUCT,
    version: version.version,
    releaseDate: version.releaseDate,
    uptimeSeconds: () => Math.floor((clock.monotonic() - started) / 1000),
    async reboot(actor) {
      logger.log({ event: 'system.reboot', who: actor.user, from: actor.remote });
      await opts.onReboot?.(actor);
    },
  };

  // Events reach the bus once it exists; services built before it hold this sink.
  let bus: Bus | undefined;
  const events: EventSink = { emit: (name, fields) => bus?.emitEvent(name, fields) };

  const web = buildCertificateServices({ storage, clock, logger, alarms, status, config, firstKey: opts.keySource, defaultCas: opts.defaultCas });
  const acme = new AcmeClientService({
    config, state, status, alarms, events, uploads,
    trust: web.trust,
    certificates: web.certificates,
    challengeHost: web.web,
    alpnHost: web.web,
    probe: opts.httpsAddress
      ? (servername) => {
          const a = opts.httpsAddress!();
          if (!a) return Promise.reject(new Error('the HTTPS listener is not listening'));
          return tlsProbe(a.host, a.port, servername);
        }
      : undefined,
    storage,
    issuer: opts.issuer,
    caDirectory: opts.caDirectory,
    limits: opts.acmeLimits,
    clock,
    random: opts.random ?? Math.random,
    logger,
    // The cluster service (built next) is asked only when an order starts or a renewal is planned.
    orderLock: opts.orderLock ?? { acquire: (names) => cluster.lockNames(names) },
    renewalSlot: () => cluster.renewalSlot(),
  });

  const clusterSettings = opts.cluster ?? { self: '127.0.0.1', clientPort: 2379, peerPort: 2380, bin: 'etcd' };
  const cluster = new ClusterService({
    settings: clusterSettings, config, trust: web.trust, state, status, alarms, logger,
    etcdDir: paths.etcd, tlsDir: paths.clusterTls,
    tls: opts.clusterTls ?? (() => ({ ...web.certificates.listenerMaterial().server, caPems: web.trust.caPems() })),
    shareChallenges: (board) => acme.shareChallenges(board),
  });

  const services: Services = {
    events, config, state, status, alarms, accounts, system, uploads,
    trust: web.trust, certificates: web.certificates, tls: web.web, acme, cluster,
  };

  status.provide('SystemUnit', () => ({
    Product: PRODUCT,
    Name: config.value('SystemUnit Name') || os.hostname(),
    Software: { Version: version.version, ReleaseDate: version.releaseDate },
    Uptime: system.uptimeSeconds(),
  }));
  // The name shows in status too: announce it, or `xFeedback register /Status/SystemUnit` misses it.
  config.onChange((changes) => {
    if (changes.some((c) => c.key === 'SystemUnit Name')) status.changed(['SystemUnit', 'Name']);
  });
  status.provide('Security', () => ({ Certificates: web.status(), Acme: acme.status() }));
  status.provide('Alarm', () => alarms.statusTree());
  acme.start();
  // The owners of the other subtrees (Security Acme's is the ACME service's, taken in start()).
  config.own(systemUnitOwner(status));
  config.own(clusteringOwner(clusterSettings));
  config.own(sshSettings);
  const sshActivity = new SshCounters();
  const metrics = new MetricsEndpoint(web.web, {
    certificates: web.certificates, trust: web.trust, acme, alarms, ssh: sshActivity,
    rssBytes: () => process.memoryUsage.rss(), version: version.version,
  }, logger);
  config.own(metricsOwner(metrics));
  metrics.follow(config);
  config.checkOwnership();
  config.verifyStored();
  cluster.resume();

  bus = new Bus({ registry, services, logger });
  const theBus = bus;
  let closing: Promise<void> | undefined;
  const banner = `Welcome to ${PRODUCT}\n${PRODUCT} version ${version.version}, released ${version.releaseDate}`;

  return {
    paths, logger, registry, bus: theBus, services, clock, accounts, version, web, acme, cluster, sshSettings, sshActivity, metrics,
    banner: () => banner,
    newSession: (actor, mode, io) =>
      // ReadOnly accounts have no access to files: not even their names are completed.
      new CliSession({ bus: theBus, actor, mode, io, banner, files: () => (actor.role === 'Admin' ? uploads.list() : []) }),
    close() {
      closing ??= (async () => {
        await acme.stop();
        await cluster.close();
        await web.close();
        db.close();
      })();
      return closing;
    },
  };
}

/**
 * First boot (no account at all): the admin account, with the given password or a generated one.
 * A generated password is written to a 0600 file and never printed: the console ends up in the
 * journal, readable by more people than the appliance's admins. The file is deleted when the
 * admin password is changed.
 */
function firstBootAdmin(accounts: SqliteAccountStore, paths: DataPaths, opts: AppOptions, logger: Logger): void {
  if (accounts.users().length) return;
  const given = opts.adminPassword;
  const password = given ?? crypto.randomBytes(15).toString('base64url');
  accounts.ensureAccount('admin', 'Admin', password);
  logger.log({ event: 'firstboot.admin', source: given ? 'environment' : 'generated' });
  if (!given) {
    atomicWrite(paths.adminPasswordFile, password + '\n', { mode: 0o600 });
    (opts.announce ?? ((t) => process.stderr.write(t + '\n')))(
      `xway first boot: the generated admin password is in ${paths.adminPasswordFile} (mode 0600); it is deleted when you change the password with xCommand SystemUnit AdminPassword Set`,
    );
  }
}
