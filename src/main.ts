// The daemon: reads flags and environment, builds the appliance, listens, and shuts down cleanly
// on SIGTERM. `xCommand SystemUnit Boot` closes everything and starts again in process.
import path from 'node:path';
import yargsParser from 'yargs-parser';
import { buildApp, type App } from './app.js';
import { startSshServer, type SshServer } from './ssh/server.js';
import { ensureHostKeys } from './ssh/hostkeys.js';
import { DatabaseError } from './stores/database.js';
import { Logger, stderrSink } from './platform/log.js';

export interface DaemonSettings {
  dataDir: string;
  bind: string;
  sshPort: number;
  httpPort: number;
  httpsPort: number;
  /** etcd's client and peer ports, the same on every peer of a cluster (unused while standalone). */
  etcdClientPort: number;
  etcdPeerPort: number;
  /** The etcd binary a clustered peer runs. */
  etcdBin: string;
  adminPassword?: string;
}

const USAGE = `Usage: xway [--data-dir DIR] [--bind ADDR] [--ssh-port N] [--http-port N] [--https-port N]
            [--etcd-client-port N] [--etcd-peer-port N]
Environment: XWAY_DATA_DIR, XWAY_BIND, XWAY_SSH_PORT, XWAY_HTTP_PORT, XWAY_HTTPS_PORT,
             XWAY_ETCD_CLIENT_PORT, XWAY_ETCD_PEER_PORT, XWAY_ETCD_BIN, XWAY_ADMIN_PASSWORD
Flags win over the environment. Development defaults: ./data, 127.0.0.1, 2222, 8080, 8443, 2379, 2380, etcd.`;

function port(v: unknown, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`Invalid ${name} ${String(v)}: expected <0..65535>`);
  return n;
}

/** Flags mirror the environment variables; flags win. Pure, for tests. */
export function settingsFrom(argv: string[], env: NodeJS.ProcessEnv): DaemonSettings {
  const a = yargsParser(argv, {
    string: ['data-dir', 'bind', 'ssh-port', 'http-port', 'https-port', 'etcd-client-port', 'etcd-peer-port'],
    boolean: ['help'],
    configuration: { 'strip-dashed': true },
  });
  if (a.help) throw new Error(USAGE);
  const unknown = Object.keys(a).filter((k) => !['_', 'dataDir', 'bind', 'sshPort', 'httpPort', 'httpsPort', 'etcdClientPort', 'etcdPeerPort', 'help'].includes(k));
  if (unknown.length || a._.length) throw new Error(`Unknown argument ${unknown[0] ?? a._[0]}\n${USAGE}`);
  return {
    dataDir: path.resolve(a.dataDir ?? env.XWAY_DATA_DIR ?? 'data'),
    bind: a.bind ?? env.XWAY_BIND ?? '127.0.0.1',
    sshPort: port(a.sshPort ?? env.XWAY_SSH_PORT ?? 2222, 'SSH port'),
    httpPort: port(a.httpPort ?? env.XWAY_HTTP_PORT ?? 8080, 'HTTP port'),
    httpsPort: port(a.httpsPort ?? env.XWAY_HTTPS_PORT ?? 8443, 'HTTPS port'),
    etcdClientPort: port(a.etcdClientPort ?? env.XWAY_ETCD_CLIENT_PORT ?? 2379, 'etcd client port'),
    etcdPeerPort: port(a.etcdPeerPort ?? env.XWAY_ETCD_PEER_PORT ?? 2380, 'etcd peer port'),
    etcdBin: env.XWAY_ETCD_BIN || 'etcd',
    adminPassword: env.XWAY_ADMIN_PASSWORD || undefined,
  };
}

/** The data directory (database, keys) cannot be used: a restart would not help. */
export class DataDirError extends Error {}

/** sysexits EX_CONFIG: the unit's RestartPreventExitStatus, so systemd does not loop on it. */
export const EXIT_DATA_DIR = 78;

export interface Running {
  app: App;
  ssh: SshServer;
  close(): Promise<void>;
}

/** Builds the appliance and starts its listeners. */
export async function start(s: DaemonSettings, onReboot: () => Promise<void>): Promise<Running> {
  const t0 = performance.now();
  let httpsPort: number | undefined;
  let app: App;
  let hostKeys: Buffer[];
  try {
    app = buildApp({
      dataDir: s.dataDir,
      adminPassword: s.adminPassword,
      onReboot: async () => onReboot(),
      httpsAddress: () => (httpsPort === undefined ? undefined : { host: s.bind, port: httpsPort }),
      cluster: { self: s.bind, clientPort: s.etcdClientPort, peerPort: s.etcdPeerPort, bin: s.etcdBin },
    });
  } catch (e) {
    throw new DataDirError(e instanceof DatabaseError ? e.message : `The data directory ${s.dataDir} cannot be used: ${(e as Error).message}`);
  }
  try {
    hostKeys = ensureHostKeys(app.paths.hostKeys);
  } catch (e) {
    await app.close();
    throw new DataDirError(`${(e as Error).message}; refusing to start`);
  }
  let ssh: SshServer | undefined;
  try {
    httpsPort = await app.web.web.listenHttps(s.httpsPort, s.bind);
    const httpPort = await app.web.web.listenHttp(s.httpPort, s.bind);
    ssh = await startSshServer({ app, host: s.bind, port: s.sshPort, hostKeys });
    app.logger.log({
      event: 'daemon.listening',
      version: app.version.version,
      bind: s.bind,
      ssh: ssh.port,
      https: httpsPort,
      http: httpPort,
      startMs: Math.round(performance.now() - t0),
    });
  } catch (e) {
    await ssh?.close();
    await app.close();
    throw e;
  }
  const sshServer = ssh;
  return {
    app,
    ssh: sshServer,
    async close() {
      await sshServer.close();
      await app.close();
    },
  };
}

async function main(): Promise<void> {
  const boot = new Logger(stderrSink);
  let settings: DaemonSettings;
  try {
    settings = settingsFrom(process.argv.slice(2), process.env);
  } catch (e) {
    process.stderr.write((e as Error).message + '\n');
    process.exit(2);
  }
  let running: Running | undefined;
  let stopping = false;
  // The first start and every `SystemUnit Boot` restart fail the same way: say why, exit
  // 78 when the data directory is unusable (systemd will not loop), 1 otherwise.
  const startOrExit = async (): Promise<Running> => {
    try {
      return await start(settings, reboot);
    } catch (e) {
      const msg = e instanceof DataDirError ? e.message : `Cannot start: ${(e as Error).message}`;
      boot.log({ event: 'daemon.start-failed', level: 'error', error: msg });
      process.stderr.write(msg + '\n');
      process.exit(e instanceof DataDirError ? EXIT_DATA_DIR : 1);
    }
  };
  const reboot = async () => {
    if (!running || stopping) return;
    const old = running;
    running = undefined;
    await old.close();
    running = await startOrExit();
  };
  running = await startOrExit();
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    boot.log({ event: 'daemon.stopping', signal });
    const timer = setTimeout(() => process.exit(1), 10_000);
    timer.unref();
    await running?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

// Run only when executed, not when imported by tests.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  void main();
}
