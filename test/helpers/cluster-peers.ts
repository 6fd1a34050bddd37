// Appliances as cluster peers, each on its loopback address from test/helpers/etcd.ts with its own
// certificate from the test CA: in process (clusterPeer: its etcd member killed by pid in teardown,
// before the appliance closes, as a graceful stop of the last members waits for a quorum that is
// gone), or as a child process that a test kills with SIGKILL (PeerProcess).
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { spawn, type ChildProcess } from 'node:child_process';
import { testApp, tmpDir, type TestApp, type TestAppOptions } from './app.js';
import { ADDRESSES, ETCD_BIN, until, type TestCluster } from './etcd.js';
import type { ChildPeerConfig, ChildPeerState } from '../support/cluster-peer.js';
import { findRoot } from '../../src/platform/version.js';
import { canBind } from '../../bench/ports.js';

export type PeerStatus = { Status: string; ThisPeer?: number; Peer?: { Address: string; Status?: string; LastSeen?: string }[] };

/** Peer i (0-based) as an appliance; `opts` adds to the test app's options (an issuer, limits...). */
export function clusterPeer(t: Tap.Test, c: TestCluster, i: number, dataDir = tmpDir(), opts: TestAppOptions = {}): TestApp {
  const f = c.files(i);
  const app = testApp(t, {
    dataDir,
    storage: 'memory',
    cluster: { self: ADDRESSES[i]!, clientPort: c.clientPort, peerPort: c.peerPort, bin: ETCD_BIN },
    clusterTls: () => ({ certPem: f.certPem!, keyPem: f.keyPem!, caPems: [f.caPem] }),
    ...opts,
  });
  // Registered after testApp's close, so it runs first (teardowns run last in, first out).
  t.teardown(() => {
    const pid = app.cluster.memberPid;
    if (pid) process.kill(pid, 'SIGKILL');
  });
  return app;
}

export const clusterStatus = (app: TestApp) => app.services.status.snapshot().Clustering as PeerStatus;
export const alarmIds = (app: TestApp) => app.services.alarms.list().map((a) => a.id);

/** What an admin types on every peer to form a cluster of the first `count` test addresses. */
export function formLines(count: number, primary = 1, extra: string[] = []): string {
  const lines = [...ADDRESSES.slice(0, count).map((a, i) => `Peer ${i + 1} Address: ${a}`), `ConfigurationPrimary: ${primary}`, ...extra];
  return lines.map((l) => `xConfiguration Clustering ${l}\n`).join('') + 'xCommand Clustering Join\n';
}

/** Waits until the peer is Active and sees every peer Active. */
export function untilActive(app: TestApp, what: string, ms = 120_000): Promise<true> {
  return until(what, () => {
    const s = clusterStatus(app);
    return s.Status === 'Active' && s.Peer?.every((x) => x.Status === 'Active') ? true : undefined;
  }, ms);
}

// Compiled by `tsc -p .` (npm run test:cluster builds first).
const CHILD = path.join(findRoot(), 'dist/test/support/cluster-peer.js');

/**
 * A peer as a child process (test/support/cluster-peer.ts), so that it can die by SIGKILL
 * as a box does. start() again on the same data directory is the box coming back.
 */
export class PeerProcess {
  private child: ChildProcess | undefined;
  private next = 0;
  private readonly waiting = new Map<number, (m: Record<string, unknown>) => void>();
  private memberPid: number | undefined;
  readonly dataDir = tmpDir('xway-peer-');

  constructor(private readonly t: Tap.Test, private readonly c: TestCluster, readonly index: number) {
    t.teardown(() => this.kill9());
    t.teardown(() => fs.rmSync(this.dataDir, { recursive: true, force: true }));
  }

  get number(): number { return this.index + 1; }
  get pid(): number | undefined { return this.child?.pid; }

  /** Spawns the peer; resolves once its appliance is built. */
  async start(): Promise<void> {
    const f = this.c.files(this.index);
    const file = path.join(this.dataDir, '..', `${path.basename(this.dataDir)}.json`);
    const cfg: ChildPeerConfig = {
      dataDir: this.dataDir, self: ADDRESSES[this.index]!, clientPort: this.c.clientPort, peerPort: this.c.peerPort, bin: ETCD_BIN,
      certPem: f.certPem!, keyPem: f.keyPem!, caPem: f.caPem,
    };
    fs.writeFileSync(file, JSON.stringify(cfg), { mode: 0o600 });
    this.t.teardown(() => fs.rmSync(file, { force: true }));
    if (!fs.existsSync(CHILD)) throw new Error(`${CHILD} is missing: run npx tsc -p . first (npm run test:cluster does)`);
    const child = spawn(process.execPath, [CHILD, file], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    let err = '';
    child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
    const ready = new Promise<void>((resolve, reject) => {
      child.once('exit', (code, signal) => reject(new Error(`peer ${this.number} exited (${code ?? signal}) before it was ready: ${err}`)));
      readline.createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = JSON.parse(line) as Record<string, unknown>;
        if (m.ready) return resolve();
        this.waiting.get(m.id as number)?.(m);
        this.waiting.delete(m.id as number);
      });
    });
    await ready;
  }

  private ask(req: object): Promise<Record<string, unknown>> {
    const child = this.child;
    if (!child) return Promise.reject(new Error(`peer ${this.number} is not running`));
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      const gone = () => reject(new Error(`peer ${this.number} died answering ${JSON.stringify(req).slice(0, 80)}`));
      child.once('exit', gone);
      this.waiting.set(id, (m) => {
        child.off('exit', gone);
        resolve(m);
      });
      child.stdin!.write(JSON.stringify({ id, ...req }) + '\n');
    });
  }

  /** Runs shell input through a fresh session of the peer. */
  async run(input: string): Promise<{ out: string; code: number }> {
    const m = await this.ask({ op: 'run', input });
    return { out: m.out as string, code: m.code as number };
  }

  async state(): Promise<ChildPeerState> {
    const s = (await this.ask({ op: 'state' })).state as ChildPeerState;
    this.memberPid = s.memberPid;
    return s;
  }

  /**
   * kill -9 of the box: the appliance and its etcd member, each by pid; resolves once both are gone
   * (the appliance reaped, the member's listener closed, as an orphan is not ours to reap).
   */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const member = (await this.state().catch(() => undefined))?.memberPid ?? this.memberPid;
    const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    if (member) {
      try {
        process.kill(member, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await exited;
    this.child = undefined;
    this.memberPid = undefined;
    if (!member) return;
    const ports = [this.c.clientPort, this.c.peerPort];
    await until(`peer ${this.number}'s etcd gone`, async () => (await Promise.all(ports.map((port) => canBind(ADDRESSES[this.index]!, port)))).every(Boolean) || undefined, 15_000);
  }
}
