// Six in-process appliances on 127.0.0.2..7 form a cluster from the shell, as an admin would: the
// plan makes five of them voters (each starts a real etcd member, killed by pid in teardown) and
// peer 6 a plain client. The primary's configuration becomes everyone's; a change on the
// non-voting peer is seen on all five others; a CA added on another raises the count everywhere;
// `xStatus Clustering` on every peer shows all six Active.
import t from 'tap';
import { makeCa } from '../helpers/pki.js';
import { testCluster, until, ADDRESSES } from '../helpers/etcd.js';
import { clusterPeer, clusterStatus, formLines, untilActive } from '../helpers/cluster-peers.js';
import { ClusterClient } from '../../src/cluster/client.js';

const COUNT = 6;
const PRIMARY = 2;
const CLIENT = 6;

t.test('six peers: five voters and a client, changes seen everywhere', { timeout: 300_000 }, async (t) => {
  const c = await testCluster(t, { count: COUNT });
  const peers = ADDRESSES.slice(0, COUNT).map((_, i) => clusterPeer(t, c, i));
  // Before Join each has its own idle timeout; the primary's wins.
  for (const [i, p] of peers.entries()) t.notMatch((await p.run(`xConfiguration Ssh IdleTimeout: ${600 + i}\n`)).out, /ERROR/);

  const started = performance.now();
  const outs = await Promise.all(peers.map((p) => p.run(formLines(COUNT, PRIMARY))));
  for (const o of outs) t.match(o.out, /Joining the cluster: xStatus Clustering Status shows when it is formed/);
  await Promise.all(peers.map((p, i) => untilActive(p, `peer ${i + 1} Active with every peer seen`, 180_000)));
  t.comment(`six peers Active in ${(performance.now() - started).toFixed(0)} ms`);

  for (const [i, p] of peers.entries()) {
    const n = i + 1;
    t.equal(Boolean(p.cluster.memberPid), n !== CLIENT, n === CLIENT ? 'peer 6 runs no etcd member: a plain client' : `peer ${n} runs a voting member`);
    const shown = (await p.run('xStatus Clustering\n')).out;
    t.match(shown, new RegExp(`\\*s Clustering: /\\n\\s+Status: "Active"\\n\\s+ThisPeer: ${n}\\n`), `xStatus Clustering on peer ${n}: Active, this peer ${n}`);
    const listed = [...shown.matchAll(/Peer (\d):\n\s+Address: "([\d.]+)"\n\s+Status: "(\w+)"/g)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
    t.same(listed, ADDRESSES.slice(0, COUNT).map((a, j) => `${j + 1} ${a} Active`), `peer ${n} shows all six Active`);
    t.equal(p.services.config.value('Ssh IdleTimeout'), 600 + PRIMARY - 1, `peer ${n} took the primary's configuration`);
  }

  // A change on the non-voting peer, seen on all five others through their owners.
  const changed = performance.now();
  t.notMatch((await peers[CLIENT - 1]!.run('xConfiguration Ssh IdleTimeout: 4321\n')).out, /ERROR/);
  await Promise.all(peers.map((p, i) => until(`peer ${i + 1} sees peer 6's change`, () => (p.services.config.value('Ssh IdleTimeout') === 4321 ? true : undefined), 15_000, 5)));
  t.comment(`a change on peer 6 (a client) applied on all peers in ${(performance.now() - changed).toFixed(0)} ms`);
  for (const [i, p] of peers.entries()) t.match((await p.run('xConfiguration Ssh IdleTimeout\n')).out, /IdleTimeout: 4321/, `peer ${i + 1} reads it`);

  // A change made on another peer after ours came back through the watch, while our put has not
  // returned yet, is newer than ours and must be applied (it once was skipped, leaving the peer on a
  // value the cluster no longer had). Peer 2's put of 5001 is held after it lands, until peer 2
  // has applied peer 3's 5002.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const putAll = ClusterClient.prototype.putAll;
  t.teardown(() => {
    release();
    ClusterClient.prototype.putAll = putAll;
  });
  ClusterClient.prototype.putAll = async function (this: ClusterClient, ...args: Parameters<typeof putAll>) {
    const r = await putAll.apply(this, args);
    if ([...args[0].values()].some((v) => v.includes('"value":5001'))) await held;
    return r;
  };
  t.notMatch((await peers[1]!.run('xConfiguration Ssh IdleTimeout: 5001\n')).out, /ERROR/);
  await Promise.all(peers.map((p, i) => until(`peer ${i + 1} has 5001`, () => (p.services.config.value('Ssh IdleTimeout') === 5001 ? true : undefined), 15_000, 5)));
  t.notMatch((await peers[2]!.run('xConfiguration Ssh IdleTimeout: 5002\n')).out, /ERROR/);
  await Promise.all(peers.map((p, i) => until(`peer ${i + 1} has 5002, peer 2 with its own put unanswered`, () => (p.services.config.value('Ssh IdleTimeout') === 5002 ? true : undefined), 15_000, 5)));
  release();
  ClusterClient.prototype.putAll = putAll;
  t.pass('a newer change from another peer is applied while our put is unanswered');

  // A CA added on peer 4 raises the trust count everywhere.
  const before = peers.map((p) => p.services.trust.count());
  t.equal(new Set(before).size, 1, 'every peer trusts the same number of CAs');
  const extra = await makeCa({ cn: 'Six Peer Root' });
  const added = performance.now();
  t.match((await peers[3]!.run(`xCommand Security Certificates CA Add\n${extra.pem}.\n`)).out, /Added: 1/);
  await Promise.all(peers.map((p, i) => until(`peer ${i + 1} trusts the new CA`, () => (p.services.trust.count() === before[0]! + 1 && p.services.trust.get(extra.x509.fingerprint256) ? true : undefined), 15_000, 5)));
  t.comment(`a CA added on peer 4 trusted on all peers in ${(performance.now() - added).toFixed(0)} ms`);

  // Two CAs added at the same moment on two peers: both are trusted everywhere (the trust store is
  // one key; neither write may overwrite the other).
  const pair = await Promise.all([makeCa({ cn: 'Concurrent Root A' }), makeCa({ cn: 'Concurrent Root B' })]);
  const both = await Promise.all([peers[1]!.run(`xCommand Security Certificates CA Add\n${pair[0].pem}.\n`), peers[4]!.run(`xCommand Security Certificates CA Add\n${pair[1].pem}.\n`)]);
  for (const o of both) t.match(o.out, /Added: 1/);
  await Promise.all(peers.map((p, i) => until(`peer ${i + 1} trusts both CAs added at once`, () => (pair.every((ca) => p.services.trust.get(ca.x509.fingerprint256)) && p.services.trust.count() === before[0]! + 3 ? true : undefined), 15_000, 5)));
  t.pass('both concurrent additions are trusted on every peer');
  for (const [i, p] of peers.entries()) t.equal(clusterStatus(p).Status, 'Active', `peer ${i + 1} still Active`);
});
