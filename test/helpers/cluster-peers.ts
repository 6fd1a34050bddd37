// In-process appliances as cluster peers on 127.0.0.2/.3/.4 (test/helpers/etcd.ts gives the ports,
// certificates and CA): each starts its own real etcd member on Join, killed by pid in teardown.
import { testApp, tmpDir, type TestApp, type TestAppOptions } from './app.js';
import { until, ADDRESSES, ETCD_BIN, type TestCluster } from './etcd.js';

type Teardown = { teardown(fn: () => void | Promise<void>): void };

/** Peer i (0-based) as an appliance; `opts` adds to the test app's options (an issuer, limits...). */
export function clusterPeer(t: Teardown, c: TestCluster, i: number, dataDir = tmpDir(), opts: TestAppOptions = {}): TestApp {
  const f = c.files(i);
  const app = testApp(t, {
    dataDir,
    storage: 'memory',
    cluster: { self: ADDRESSES[i]!, clientPort: c.clientPort, peerPort: c.peerPort, bin: ETCD_BIN },
    clusterTls: () => ({ certPem: f.certPem!, keyPem: f.keyPem!, caPems: [f.caPem] }),
    ...opts,
  });
  // Killed by pid whatever happens: a graceful stop of the last members waits for a lost quorum.
  t.teardown(() => {
    const pid = app.cluster.memberPid;
    if (pid) process.kill(pid, 'SIGKILL');
  });
  return app;
}

export type ClusterView = { Status: string; ThisPeer?: number; Peer?: { Address: string; Status?: string; LastSeen?: string }[] };
export const clusterStatus = (app: TestApp) => app.services.status.snapshot().Clustering as ClusterView;
export const alarmIds = (app: TestApp) => app.services.alarms.list().map((a) => a.id);

/** The shell lines that configure `count` peers (primary 1, Enforce) and join. */
export function formLines(count: number): string {
  return [...ADDRESSES.slice(0, count).map((a, i) => `Peer ${i + 1} Address: ${a}`), 'ConfigurationPrimary: 1', 'TlsVerify Mode: Enforce']
    .map((l) => `xConfiguration Clustering ${l}\n`).join('') + 'xCommand Clustering Join\n';
}

/** Resolves once the peer is Active and sees every peer Active. */
export function allActive(app: TestApp, what: string, ms = 120_000): Promise<true> {
  return until(what, () => {
    const s = clusterStatus(app);
    return s.Status === 'Active' && s.Peer?.every((x) => x.Status === 'Active') ? true : undefined;
  }, ms);
}
