// Re-joining a running cluster: three in-process peers form a cluster; peer 3 leaves (the others
// report it Unreachable, Degraded, with its alarm); changes are made on peer 1 and on the standalone
// peer 3; peer 3 runs Join again and, the others still running, joins their cluster as a new etcd
// member (its old member data gone) instead of bootstrapping one: it takes the cluster's shared
// configuration and trust store, its own changes replicate again, and everyone is Active.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { tmpDir } from '../helpers/app.js';
import { alarmIds, untilActive, clusterPeer, clusterStatus, formLines } from '../helpers/cluster-peers.js';
import { makeCa } from '../helpers/pki.js';
import { testCluster, until } from '../helpers/etcd.js';

t.test('a peer that left joins the running cluster again', async (t) => {
  const c = await testCluster(t, { count: 3 });
  const dirs = [0, 1, 2].map(() => tmpDir());
  const peers = [0, 1, 2].map((i) => clusterPeer(t, c, i, dirs[i]));
  const [one, two, three] = peers as [typeof peers[0], typeof peers[0], typeof peers[0]];
  await Promise.all(peers.map((p) => p.run(formLines(3, 1, ['TlsVerify Mode: Enforce']))));
  for (const [i, p] of peers.entries()) await untilActive(p, `peer ${i + 1} Active`);
  const firstMember = three.cluster.memberPid;

  // Peer 3 leaves: standalone, its member removed, stopped and its data gone.
  t.match((await three.run('xCommand Clustering Leave\n')).out, /This peer left the cluster and runs standalone/);
  t.same(clusterStatus(three), { Status: 'Standalone' });
  t.notOk(fs.existsSync(path.join(dirs[2]!, 'etcd')), 'its etcd data is removed');
  for (const [i, p] of [one, two].entries()) {
    await until(`peer ${i + 1} reports peer 3 gone`, () => {
      const s = clusterStatus(p);
      return s.Status === 'Degraded' && s.Peer?.[2]?.Status === 'Unreachable' && alarmIds(p).includes('cluster-peer-3') ? true : undefined;
    }, 30_000);
  }
  const members = c.client(c.plan.endpoints.slice(0, 2), 0);
  t.same((await members.members()).map((m) => m.name).sort(), ['peer1', 'peer2'], 'two members left');

  // Meanwhile: a change and a CA on peer 1 (replicated to peer 2), a local change on peer 3.
  t.match((await one.run('xConfiguration Ssh IdleTimeout: 1200\n')).out, /^OK$/m);
  const extra = await makeCa({ cn: 'Added While Away' });
  t.match((await one.run(`xCommand Security Certificates CA Add\n${extra.pem}.\n`)).out, /Added: 1/);
  const trusted = one.services.trust.count();
  await until('peer 2 has both', () => (two.services.config.value('Ssh IdleTimeout') === 1200 && two.services.trust.count() === trusted ? true : undefined), 10_000);
  t.match((await three.run('xConfiguration Ssh IdleTimeout: 60\n')).out, /^OK$/m, 'standalone, peer 3 changes its own');
  t.notOk(three.services.trust.get(extra.x509.fingerprint256), 'and does not have the new CA');

  // Join again while peers 1 and 2 run: added through them, started as an existing member.
  t.match((await three.run('xCommand Clustering Join\n')).out, /Joining the cluster: xStatus Clustering Status shows when it is formed/);
  for (const [i, p] of peers.entries()) await untilActive(p, `peer ${i + 1} Active again`);
  t.ok(three.logLines.some((l) => l.includes('"event":"cluster.join-running"')), 'peer 3 joined the running cluster');
  t.notOk(three.logLines.some((l) => l.includes('"event":"cluster.join-failed"')), 'without a failed attempt');
  t.not(three.cluster.memberPid, firstMember, 'with a new member process');
  t.same((await members.members()).map((m) => m.name).sort(), ['peer1', 'peer2', 'peer3'], 'three members again');
  await until('peer 3 took the cluster\'s configuration and trust store', () => (
    three.services.config.value('Ssh IdleTimeout') === 1200 && three.services.trust.get(extra.x509.fingerprint256) ? true : undefined), 10_000);
  t.equal(three.services.trust.count(), trusted, 'the same trust store as peer 1');
  for (const p of [one, two]) {
    await until('the peer-3 alarm lowered', () => (alarmIds(p).includes('cluster-peer-3') ? undefined : true), 30_000);
  }

  // Its own changes replicate again, both ways.
  t.match((await three.run('xConfiguration Http Redirect Mode: On\n')).out, /^OK$/m);
  for (const [i, p] of [one, two].entries()) {
    await until(`peer ${i + 1} sees peer 3's change`, () => (p.services.config.value('Http Redirect Mode') === 'On' ? true : undefined), 10_000);
  }
  t.match((await two.run('xConfiguration Ssh IdleTimeout: 900\n')).out, /^OK$/m);
  await until('peer 3 sees peer 2\'s change', () => (three.services.config.value('Ssh IdleTimeout') === 900 ? true : undefined), 10_000);
});
