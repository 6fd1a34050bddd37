// Two peers in the default TlsVerify Mode (Permissive) with self-signed certificates no CA vouches
// for and that name only a host name, not the peer address (as a fresh appliance's first-boot
// certificate does): the plan makes peer 1 the only voter and peer 2 a plain client of it (no etcd member). They
// form a cluster, share configuration both ways, and Leave on the client peer needs no member removal.
import t from 'tap';
import { testApp, tmpDir, type TestApp } from '../helpers/app.js';
import { makeLeaf, type Issued } from '../helpers/pki.js';
import { testCluster, until, ADDRESSES, ETCD_BIN, type TestCluster } from '../helpers/etcd.js';

function peer(t: Tap.Test, c: TestCluster, i: number, own: Issued): TestApp {
  const app = testApp(t, {
    dataDir: tmpDir(),
    storage: 'memory',
    cluster: { self: ADDRESSES[i]!, clientPort: c.clientPort, peerPort: c.peerPort, bin: ETCD_BIN },
    // Nothing in the trust store vouches for these: Permissive pins what the voters present.
    clusterTls: () => ({ certPem: own.pem, keyPem: own.keyPem, caPems: [] }),
  });
  t.teardown(() => {
    const pid = app.cluster.memberPid;
    if (pid) process.kill(pid, 'SIGKILL');
  });
  return app;
}

const status = (app: TestApp) => app.services.status.snapshot().Clustering as { Status: string; ThisPeer?: number; Peer?: { Status?: string }[] };

t.test('two peers, Permissive, one voter and one client', async (t) => {
  const c = await testCluster(t, { count: 2, selfSigned: true, verify: 'Permissive' });
  const own = await Promise.all([0, 1].map((i) => makeLeaf(undefined, { cn: `appliance${i + 1}`, sans: [`appliance${i + 1}`] })));
  const peers = [0, 1].map((i) => peer(t, c, i, own[i]!));
  const form = 'xConfiguration Clustering Peer 1 Address: 127.0.0.2\nxConfiguration Clustering Peer 2 Address: 127.0.0.3\nxCommand Clustering Join\n';
  await Promise.all(peers.map((p) => p.run(form)));
  t.notOk(peers[1]!.cluster.memberPid, 'peer 2 runs no etcd member');
  for (const [i, p] of peers.entries()) {
    await until(`peer ${i + 1} Active`, () => (status(p).Status === 'Active' && status(p).Peer?.every((x) => x.Status === 'Active') ? true : undefined), 60_000);
  }
  t.equal(status(peers[1]!).ThisPeer, 2);
  const metrics = await peers[1]!.run('xConfiguration Metrics Token: abcdefghijklmnopqrstuvwxyz\nxConfiguration Metrics Mode: On\n');
  t.notMatch(metrics.out, /ERROR/, metrics.out);
  await until('peer 1 has both commits, in order', () => (peers[0]!.services.config.value('Metrics Mode') === 'On' && peers[0]!.services.config.value('Metrics Token') === 'abcdefghijklmnopqrstuvwxyz' ? true : undefined), 10_000);
  t.notMatch((await peers[0]!.run('xConfiguration Ssh IdleTimeout: 77\n')).out, /ERROR/);
  await until('peer 2 has peer 1\'s change', () => (peers[1]!.services.config.value('Ssh IdleTimeout') === 77 ? true : undefined), 10_000);

  t.match((await peers[1]!.run('xCommand Clustering Leave\n')).out, /This peer left the cluster and runs standalone/);
  t.same(status(peers[1]!), { Status: 'Standalone' });
  await until('peer 1 sees peer 2 gone', () => (status(peers[0]!).Peer?.[1]?.Status === 'Unreachable' ? true : undefined), 15_000);
  t.equal(status(peers[0]!).Status, 'Active', 'the only voter is still Active');
});

t.test('three voters, Permissive: a voter that starts after the others formed is pinned when it answers', async (t) => {
  const c = await testCluster(t, { count: 3, selfSigned: true, verify: 'Permissive' });
  const own = await Promise.all([0, 1, 2].map((i) => makeLeaf(undefined, { cn: `appliance${i + 1}`, sans: [`appliance${i + 1}`] })));
  const peers = [0, 1, 2].map((i) => peer(t, c, i, own[i]!));
  const form = [0, 1, 2].map((i) => `xConfiguration Clustering Peer ${i + 1} Address: ${ADDRESSES[i]}\n`).join('') + 'xCommand Clustering Join\n';
  // Peers 1 and 2 are a quorum: they form without peer 3 and pin only each other.
  await Promise.all(peers.slice(0, 2).map((p) => p.run(form)));
  for (const [i, p] of peers.slice(0, 2).entries()) {
    await until(`peer ${i + 1} Degraded, peer 3 Unreachable`, () => (status(p).Status === 'Degraded' && status(p).Peer?.[2]?.Status === 'Unreachable' ? true : undefined), 120_000);
  }
  // Peer 3 joins later: its member answers, and the others pin it and show everyone Active.
  await peers[2]!.run(form);
  for (const [i, p] of peers.entries()) {
    await until(`peer ${i + 1} Active with every peer Active`, () => (status(p).Status === 'Active' && status(p).Peer?.every((x) => x.Status === 'Active') ? true : undefined), 120_000);
  }
  t.ok(peers.slice(0, 2).every((p) => p.logLines.some((l) => l.includes('"event":"cluster.pinned"'))), 'peers 1 and 2 pinned peer 3 when it answered');
});
