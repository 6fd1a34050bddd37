// Appliances as cluster peers, in process: each on its loopback address from test/helpers/etcd.ts,
// with its own certificate from the test CA, its etcd member killed by pid in teardown (before the
// appliance closes: a graceful stop of the last members waits for a quorum that is gone).
import { testApp, tmpDir, type TestApp } from './app.js';
import { ADDRESSES, ETCD_BIN, until, type TestCluster } from './etcd.js';

export type PeerStatus = { Status: string; ThisPeer?: number; Peer?: { Address: string; Status?: string; LastSeen?: string }[] };

export function clusterPeer(t: Tap.Test, c: TestCluster, i: number, dataDir = tmpDir()): TestApp {
  const f = c.files(i);
  const app = testApp(t, {
    dataDir,
    storage: 'memory',
    cluster: { self: ADDRESSES[i]!, clientPort: c.clientPort, peerPort: c.peerPort, bin: ETCD_BIN },
    clusterTls: () => ({ certPem: f.certPem!, keyPem: f.keyPem!, caPems: [f.caPem] }),
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
export function formLines(count: number, primary: number, extra: string[] = []): string {
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
