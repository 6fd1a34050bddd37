// Failure of real members under load: kill -9 of the leader during a bounded write loop loses no
// acknowledged write and the cluster stays writable (Degraded); a second kill loses quorum, which
// health() reports, writes fail within one deadline with one sentence, and the local copy is still
// readable; both members restarted, every member converges and the cluster is Active again.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { ReplicatedPrefix } from '../../src/cluster/replica.js';
import { testCluster, kill9, until, rejectsUnavailable } from '../helpers/etcd.js';

t.test('kill -9 under writes, then quorum lost and regained', async (t) => {
  const c = await testCluster(t);
  const ms = [0, 1, 2].map((i) => c.member(i));
  await Promise.all(ms.map((m) => m.start()));
  const all = c.client(c.plan.endpoints, 0, 3000);
  await until('Active', async () => ((await all.health()).state === 'Active' ? true : undefined));
  // Peer 1's own view: a client on its member alone, and its local copy of cfg/.
  const local = c.client([c.endpoint(0)], 0, 3000);
  const cache = await ReplicatedPrefix.open(local, 'cfg/');

  // Victims: the leader first (unless it is peer 1, whose copy the test reads), then the other one.
  const leader = (await all.health()).members.find((m) => m.name === m.leader)?.name;
  const first = leader && leader !== 'peer1' ? Number(leader.slice(4)) - 1 : 1;
  const second = first === 1 ? 2 : 1;

  const acked: string[] = [];
  let failed = 0;
  let slowest = 0;
  let killedAt = -1;
  const started = Date.now();
  for (let i = 0; i < 300 && Date.now() - started < 60_000; i++) {
    if (i === 60) {
      killedAt = acked.length;
      await kill9(ms[first]!);
    }
    const s = performance.now();
    try {
      await all.put(`cfg/w${i}`, String(i));
      acked.push(`cfg/w${i}`);
    } catch {
      failed++;
    }
    slowest = Math.max(slowest, performance.now() - s);
  }
  t.comment(`write loop: ${acked.length} acknowledged, ${failed} failed, slowest ${slowest.toFixed(0)} ms (leader ${leader} killed after ${killedAt})`);
  t.ok(killedAt > 0 && acked.length - killedAt >= 200, 'writes went on after the kill');
  t.ok(failed <= 3, `only writes in flight during the election are unconfirmed (${failed})`);
  const h1 = await all.health();
  t.equal(h1.state, 'Degraded', 'one voter down: Degraded');
  t.equal(h1.reachable, 2);
  const snap = await all.snapshot('cfg/');
  t.same(acked.filter((k) => !snap.entries.has(k)), [], 'every acknowledged write is there');
  await until('local copy caught up', () => (acked.every((k) => cache.get(k) !== undefined) ? true : undefined), 10_000);

  // A second kill: no quorum.
  await kill9(ms[second]!);
  const h2 = await until('NoQuorum', async () => {
    const h = await all.health();
    return h.state === 'NoQuorum' ? h : undefined;
  }, 15_000);
  t.equal(h2.reachable, 1);
  const s = performance.now();
  await rejectsUnavailable(t, all.put('cfg/refused', 'x'), /^The cluster did not confirm writing cfg\/refused within 3 s: no quorum or no member reachable$/, 'a write without quorum');
  const took = performance.now() - s;
  t.comment(`write without quorum refused after ${took.toFixed(0)} ms`);
  t.ok(took < 3000 + 2000, 'within one deadline (and some slack)');
  await rejectsUnavailable(t, local.get('cfg/w0'), /did not confirm reading cfg\/w0/, 'a linearizable read without quorum');
  t.equal(cache.get('cfg/w0'), '0', 'the local copy still answers');
  t.equal(cache.get(acked.at(-1)!), acked.at(-1)!.slice(5));

  // Both back: the same command, their data directories win; every member has every write.
  const back = performance.now();
  await Promise.all([ms[first]!.start(), ms[second]!.start()]);
  t.comment(`two members restarted to ready in ${(performance.now() - back).toFixed(0)} ms`);
  await until('Active again', async () => ((await all.health()).state === 'Active' ? true : undefined));
  await all.put('cfg/after', 'quorum');
  for (const i of [0, 1, 2]) {
    const one = c.client([c.endpoint(i)], i, 3000);
    const copy = await ReplicatedPrefix.open(one, 'cfg/');
    t.same(acked.filter((k) => copy.get(k) === undefined), [], `peer${i + 1} has every acknowledged write`);
    await until(`peer${i + 1} sees the write after recovery`, () => (copy.get('cfg/after') === 'quorum' ? true : undefined), 10_000);
    await copy.close();
  }
  await until('peer 1 copy caught up', () => (cache.get('cfg/after') === 'quorum' ? true : undefined), 10_000);
  await cache.close();
});

t.test('a peer down while history was compacted reloads its copy and misses nothing', async (t) => {
  const c = await testCluster(t);
  const ms = [0, 1, 2].map((i) => c.member(i));
  await Promise.all(ms.map((m) => m.start()));
  const local = c.client([c.endpoint(0)], 0, 3000);
  const cache = await ReplicatedPrefix.open(local, 'cfg/');
  const others = c.client([c.endpoint(1), c.endpoint(2)], 1, 3000);
  await others.put('cfg/a', '1');
  await until('seen', () => (cache.get('cfg/a') === '1' ? true : undefined), 10_000, 5);
  const reset = new Promise<void>((resolve) => cache.once('reset', () => resolve()));
  await kill9(ms[0]!);
  await others.put('cfg/a', '2');
  await others.put('cfg/b', 'new');
  await others.delete('cfg/a');
  const rev = await others.put('cfg/c', 'last');
  // etcdctl as the oracle tool: compact the history the down peer's watch would resume from.
  const f = c.files(1);
  const r = spawnSync('etcdctl', ['--endpoints', c.endpoint(1), '--cacert', f.caFile, '--cert', f.certFile, '--key', f.keyFile, 'compact', String(rev)], { encoding: 'utf8', timeout: 30_000 });
  t.equal(r.status, 0, `etcdctl compact: ${r.stdout}${r.stderr}`);
  await ms[0]!.start();
  await reset;
  t.same([...cache.entries()].sort(), [['cfg/b', 'new'], ['cfg/c', 'last']], 'the copy equals the cluster after the reload');
  t.ok(cache.revision >= rev);
  t.match(c.logLines.join(''), /"event":"cluster.watch.resync"/);
  await others.put('cfg/d', 'after');
  await until('watching again after the reload', () => (cache.get('cfg/d') === 'after' ? true : undefined), 10_000, 5);
  await cache.close();
});
