// One etcd member, supervised as a child process of the appliance (Debian `etcd-server`, binary
// `etcd`, path from XWAY_ETCD_BIN). Contract:
// - start() spawns etcd and resolves when the member is ready to serve clients, which etcd says
//   with its "serving client traffic securely" log event (written only once the member has joined
//   a quorum and published itself); it rejects with the member's last log lines when etcd exits
//   first or the bound passes. No fixed sleeps.
// - An unexpected exit restarts the member after a bounded, doubling back-off (restartMinMs up to
//   restartMaxMs; the count resets once a run reached ready). A restarted member takes the same
//   command: its data directory wins over the --initial-* flags.
// - stop() sends SIGTERM to the child's pid, SIGKILL after graceMs, and resolves when it is gone;
//   restarts stop. Nothing is ever killed by name.
// - wipe() removes the data directory (a member that left, or one joining afresh); refused while running.
//
// TLS (both listeners are always TLS; the certificate and key are the peer's own server certificate):
// - Enforce: members verify each other against the trust store (`--peer-trusted-ca-file`,
//   `--peer-client-cert-auth`), and clients must present a certificate the trust store vouches for
//   (`--trusted-ca-file`, `--client-cert-auth`). Certificates need the peer's address in their SAN and,
//   being used both ways, must allow TLS client use (no EKU, or EKU with clientAuth). etcd also
//   checks that a connecting certificate names the address the connection comes from (an IP SAN,
//   or a DNS SAN resolving to it): on one host, loopback connections come from 127.0.0.1, so peers
//   sharing a machine (tests) need 127.0.0.1 in their certificates as well.
// - Permissive: peer traffic is encrypted with certificates etcd makes itself (`--peer-auto-tls`)
//   and not verified; the client listener serves the certificate it is given (the cluster service
//   gives one naming the peer address, see services/cluster/service.ts) and asks clients for none.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../platform/clock.js';
import type { Logger } from '../platform/log.js';

export type TlsVerifyMode = 'Enforce' | 'Permissive';

export interface MemberTls {
  /** This peer's server certificate (PEM, chain may follow). */
  readonly certFile: string;
  readonly keyFile: string;
  /** The trust store's CA bundle (PEM); used in Enforce mode. */
  readonly caFile: string;
  readonly verify: TlsVerifyMode;
}

export interface MemberConfig {
  /** The etcd binary: XWAY_ETCD_BIN, default `etcd` on PATH. */
  readonly bin: string;
  /** The member name from the plan, `peer<n>`. */
  readonly name: string;
  /** `<data>/etcd`. */
  readonly dataDir: string;
  /** The peer's address (IP or FQDN) its listeners bind and advertise. */
  readonly address: string;
  readonly clientPort: number;
  readonly peerPort: number;
  /** `--initial-cluster` from the plan (or from member add, for a joining member). */
  readonly initialCluster: string;
  readonly token: string;
  /** 'new' when the cluster is bootstrapped; 'existing' for a member added to a running cluster. */
  readonly state: 'new' | 'existing';
  readonly tls: MemberTls;
}

export interface SupervisorOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Restart an exited member (default true). */
  readonly restart?: boolean;
  readonly restartMinMs?: number;
  readonly restartMaxMs?: number;
  /** Bound on start() waiting for ready (default 60 s: a bootstrap waits for the other members). */
  readonly readyTimeoutMs?: number;
  /** SIGTERM to SIGKILL (default 10 s; the last member of a cluster takes ~7 s to stop). */
  readonly graceMs?: number;
}

export type MemberState = 'Stopped' | 'Starting' | 'Ready' | 'Restarting';

function host(a: string): string {
  return a.includes(':') ? `[${a}]` : a;
}

/** The etcd command line for a member. Pure. */
export function memberArgs(c: MemberConfig): string[] {
  const client = `https://${host(c.address)}:${c.clientPort}`;
  const peer = `https://${host(c.address)}:${c.peerPort}`;
  const tls = c.tls.verify === 'Enforce'
    ? [
        '--cert-file', c.tls.certFile, '--key-file', c.tls.keyFile, '--trusted-ca-file', c.tls.caFile, '--client-cert-auth',
        '--peer-cert-file', c.tls.certFile, '--peer-key-file', c.tls.keyFile, '--peer-trusted-ca-file', c.tls.caFile, '--peer-client-cert-auth',
      ]
    : ['--cert-file', c.tls.certFile, '--key-file', c.tls.keyFile, '--peer-auto-tls'];
  return [
    '--name', c.name,
    '--data-dir', c.dataDir,
    '--listen-client-urls', client, '--advertise-client-urls', client,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
    '--initial-cluster', c.initialCluster,
    '--initial-cluster-state', c.state,
    '--initial-cluster-token', c.token,
    // Fast failure detection on a LAN; etcd's defaults (100/1000) made explicit so a change is visible.
    '--heartbeat-interval', '100', '--election-timeout', '1000',
    // Without compaction revisions grow until the space quota makes the cluster read-only.
    '--auto-compaction-mode', 'periodic', '--auto-compaction-retention', '1h',
    '--logger', 'zap', '--log-outputs', 'stderr',
    ...tls,
  ];
}

const TAIL_LINES = 20;
// etcd 3.4 writes this once it has joined a quorum, published itself and opened its TLS client listener.
const READY = /"msg":"(serving client traffic securely|ready to serve client requests)"/;

/**
 * Supervises one member. Events: 'ready' (pid), 'exit' (code, signal), 'restart' (attempt, delayMs).
 */
export class EtcdMember extends EventEmitter {
  private child: ChildProcess | undefined;
  private wanted = false;
  private failures = 0;
  private timer: { cancel(): void } | undefined;
  private tail: string[] = [];
  private current: MemberState = 'Stopped';
  private readonly clock: Clock;

  constructor(private config: MemberConfig, private readonly opts: SupervisorOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
  }

  get state(): MemberState { return this.current; }
  get pid(): number | undefined { return this.child?.pid; }
  get name(): string { return this.config.name; }
  /** The URL other members dial, as in `--initial-cluster`. */
  get peerUrl(): string { return `https://${host(this.config.address)}:${this.config.peerPort}`; }
  /** The member's last log lines, for error messages and the log. */
  logTail(): string { return this.tail.join('\n'); }

  /** Changes the configuration for the next start (e.g. 'existing' after a join). */
  reconfigure(change: Partial<MemberConfig>): void {
    this.config = { ...this.config, ...change };
  }

  /** Spawns etcd (if not running) and resolves once it is ready to serve clients. */
  async start(): Promise<void> {
    this.wanted = true;
    this.timer?.cancel();
    this.timer = undefined;
    if (!this.child) this.spawnChild();
    if (this.current === 'Ready') return;
    await this.whenReady(this.opts.readyTimeoutMs ?? 60_000);
  }

  private whenReady(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => done(new Error(`etcd member ${this.config.name} was not ready within ${ms / 1000} s; last log:\n${this.logTail()}`)), ms);
      const onReady = () => done();
      const onExit = (code: number | null, signal: string | null) => done(new Error(`etcd member ${this.config.name} exited (${code ?? signal}) before it was ready; last log:\n${this.logTail()}`));
      const done = (err?: Error) => {
        timer.cancel();
        this.off('ready', onReady);
        this.off('exit', onExit);
        if (err) reject(err);
        else resolve();
      };
      this.on('ready', onReady);
      this.on('exit', onExit);
    });
  }

  private spawnChild(): void {
    fs.mkdirSync(this.config.dataDir, { recursive: true, mode: 0o700 });
    const child = spawn(this.config.bin, memberArgs(this.config), { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.current = 'Starting';
    let partial = '';
    child.stderr!.on('data', (d: Buffer) => {
      const lines = (partial + d.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const line of lines) this.onLine(line);
    });
    child.on('error', (e) => {
      // spawn failed (no such binary): surfaces as an exit so start() rejects with the reason.
      this.tail.push(`spawn ${this.config.bin}: ${e.message}`);
      this.onExit(child, null, null);
    });
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
  }

  private onLine(line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    if (this.current === 'Ready' || !READY.test(line)) return;
    this.current = 'Ready';
    this.failures = 0;
    this.opts.logger.log({ event: 'cluster.member.ready', member: this.config.name, pid: this.child?.pid });
    this.emit('ready', this.child?.pid);
  }

  private onExit(child: ChildProcess, code: number | null, signal: string | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.current = 'Stopped';
    this.opts.logger.log({ event: 'cluster.member.exit', level: this.wanted ? 'warn' : 'info', member: this.config.name, code, signal });
    this.emit('exit', code, signal);
    if (!this.wanted || this.opts.restart === false) return;
    this.failures++;
    const min = this.opts.restartMinMs ?? 200;
    const delay = Math.min(this.opts.restartMaxMs ?? 30_000, min * 2 ** Math.min(this.failures - 1, 16));
    this.current = 'Restarting';
    this.opts.logger.log({ event: 'cluster.member.restart', member: this.config.name, attempt: this.failures, delayMs: delay });
    this.emit('restart', this.failures, delay);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.wanted && !this.child) this.spawnChild();
    }, delay);
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. No restart follows. */
  async stop(): Promise<void> {
    this.wanted = false;
    this.timer?.cancel();
    this.timer = undefined;
    const child = this.child;
    if (!child) {
      this.current = 'Stopped';
      return;
    }
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const kill = this.clock.setTimeout(() => child.kill('SIGKILL'), this.opts.graceMs ?? 10_000);
    await gone;
    kill.cancel();
  }

  /** Whether the member has data of a cluster it belonged to (etcd's `member/` directory). */
  hasData(): boolean {
    return fs.existsSync(path.join(this.config.dataDir, 'member'));
  }

  /** Removes the member's data directory. Refused while the member runs. */
  wipe(): void {
    if (this.child) throw new Error(`etcd member ${this.config.name} is running; stop it before removing its data`);
    fs.rmSync(this.config.dataDir, { recursive: true, force: true });
  }
}
