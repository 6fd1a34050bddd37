// Real etcd members for the cluster tests: one per loopback address (127.0.0.2, .3, ...), all on the
// same two ports as in production (free ports are taken, so test files can run side by side), with
// a test CA and each peer's own server certificate. Every member is started through the product's
// supervisor and killed by pid; teardown stops whatever is left.
import fs from 'node:fs';
import path from 'node:path';
import { EtcdMember, type MemberConfig, type TlsVerifyMode } from '../../src/cluster/member.js';
import { planCluster, type ClusterPlan } from '../../src/cluster/plan.js';
import { ClusterClient, ClusterUnavailable, type ClientTls } from '../../src/cluster/client.js';
import { Logger, memorySink } from '../../src/platform/log.js';
import { makeCa, makeLeaf, tmpDir, type Issued } from './pki.js';
import { freePortOn } from '../../bench/ports.js';

export { freePortOn };

// Up to six peers, the most a cluster has (src/cluster/plan.ts MAX_PEERS).
export const ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7'];
export const ETCD_BIN = process.env.XWAY_ETCD_BIN ?? 'etcd';

export interface PeerFiles extends ClientTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

export interface TestCluster {
  readonly dir: string;
  readonly ca: Issued;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly plan: ClusterPlan;
  readonly members: EtcdMember[];
  readonly logger: Logger;
  readonly logLines: string[];
  files(i: number): PeerFiles;
  config(i: number, over?: Partial<MemberConfig>): MemberConfig;
  member(i: number, over?: Partial<MemberConfig>, restart?: boolean): EtcdMember;
  client(endpoints?: readonly string[], i?: number, callTimeoutMs?: number): ClusterClient;
  endpoint(i: number): string;
}

/**
 * Sets up `count` peers (members are made but not started). `verify` chooses the TLS mode; with
 * `selfSigned`, each peer's certificate is its own issuer and no CA vouches for it.
 */
export async function testCluster(
  t: Tap.Test,
  opts: { count?: number; verify?: TlsVerifyMode; selfSigned?: boolean } = {},
): Promise<TestCluster> {
  const count = opts.count ?? 3;
  const dir = tmpDir(t, 'xway-etcd-');
  const ca = await makeCa({ cn: 'xway cluster test CA' });
  const caFile = path.join(dir, 'ca.pem');
  fs.writeFileSync(caFile, ca.pem);
  const peerFiles: PeerFiles[] = [];
  for (let i = 0; i < ADDRESSES.length; i++) {
    // Loopback connections leave from 127.0.0.1 whatever address they target, and etcd checks a
    // client certificate's SAN against the connection's source address: so the test certificates
    // also name 127.0.0.1 (a peer on a real network connects from its own address).
    const sans = [ADDRESSES[i]!, '127.0.0.1'];
    const leaf = await makeLeaf(opts.selfSigned ? undefined : ca, { cn: ADDRESSES[i], sans });
    const certFile = path.join(dir, `peer${i + 1}.pem`);
    const keyFile = path.join(dir, `peer${i + 1}.key`);
    fs.writeFileSync(certFile, leaf.pem);
    fs.writeFileSync(keyFile, leaf.keyPem, { mode: 0o600 });
    peerFiles.push({ certFile, keyFile, caFile, caPem: ca.pem, certPem: leaf.pem, keyPem: leaf.keyPem });
  }
  const clientPort = await freePortOn(ADDRESSES);
  const peerPort = await freePortOn(ADDRESSES, [clientPort]);
  const addresses = ADDRESSES.slice(0, count);
  const { plan, problems } = planCluster({ peers: addresses, self: addresses[0]!, primary: 1, clientPort, peerPort });
  if (!plan) throw new Error(problems.join('; '));
  const sink = memorySink();
  const logger = new Logger(sink);
  const members: EtcdMember[] = [];
  const clients: ClusterClient[] = [];
  const verify = opts.verify ?? 'Enforce';
  const c: TestCluster = {
    dir, ca, clientPort, peerPort, plan, members, logger, logLines: sink.lines,
    files: (i) => peerFiles[i]!,
    endpoint: (i) => `https://${ADDRESSES[i]}:${clientPort}`,
    config: (i, over = {}) => ({
      bin: ETCD_BIN,
      name: `peer${i + 1}`,
      dataDir: path.join(dir, `peer${i + 1}`, 'etcd'),
      address: ADDRESSES[i]!,
      clientPort,
      peerPort,
      initialCluster: plan.initialCluster,
      token: plan.token,
      state: 'new',
      tls: { certFile: peerFiles[i]!.certFile, keyFile: peerFiles[i]!.keyFile, caFile, verify },
      ...over,
    }),
    member(i, over = {}, restart = false) {
      const m = new EtcdMember(c.config(i, over), { logger, restart, restartMinMs: 100, readyTimeoutMs: 90_000, graceMs: 5_000 });
      members[i] = m;
      return m;
    },
    client(endpoints = plan.endpoints, i = 0, callTimeoutMs = 3_000) {
      const f = peerFiles[i]!;
      const cl = new ClusterClient({ endpoints, tls: { caPem: verify === 'Enforce' ? f.caPem : pinned(peerFiles), certPem: f.certPem, keyPem: f.keyPem }, callTimeoutMs, logger });
      clients.push(cl);
      return cl;
    },
  };
  t.teardown(async () => {
    for (const cl of clients) await cl.close().catch(() => undefined);
    // SIGKILL by pid: a graceful stop of the last members waits for a quorum that is gone.
    for (const m of members) if (m?.pid) process.kill(m.pid, 'SIGKILL');
    await Promise.all(members.map((m) => m?.stop()));
  });
  return c;
}

/** Permissive: the client trusts whatever certificates the peers present (here known in advance). */
function pinned(files: readonly PeerFiles[]): string {
  return files.map((f) => f.certPem).join('');
}

/** Kills a member's etcd process with SIGKILL, by pid, and waits for the supervisor to see it gone. */
export async function kill9(m: EtcdMember): Promise<void> {
  const pid = m.pid;
  if (!pid) throw new Error(`${m.name} is not running`);
  const gone = new Promise<void>((resolve) => m.once('exit', () => resolve()));
  process.kill(pid, 'SIGKILL');
  await gone;
}

/** Resolves when `check` holds, checked after every event-free interval; rejects after `ms`. */
export async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 30_000, every = 50): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Asserts that `p` rejects with ClusterUnavailable whose message matches `re`; returns the error. */
export async function rejectsUnavailable(t: Tap.Test, p: Promise<unknown>, re: RegExp, what: string): Promise<Error | undefined> {
  try {
    await p;
    t.fail(`${what}: expected ClusterUnavailable, it succeeded`);
    return undefined;
  } catch (e) {
    t.ok(e instanceof ClusterUnavailable && re.test((e as Error).message), `${what}: ${(e as Error).message}`);
    return e as Error;
  }
}
