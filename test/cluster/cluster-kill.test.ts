// Whole peers killed with SIGKILL, as boxes die: three appliances, each a child process with its own
// etcd member (test/helpers/cluster-peers.ts PeerProcess), form a cluster from the shell. While the
// two others run a bounded write loop through their shells, the raft leader's peer (or peer 3) is
// killed by pid, appliance and member: no acknowledged change is lost on the survivors, which stay
// working (Degraded), show it Unreachable and raise its alarm. A second peer killed: the last one is
// NoQuorum, refuses changes of shared state with one sentence, and still reads and shows its status.
// Both restarted on their data directories: all three converge on the same configuration and trust
// store, Active everywhere. (cluster-quorum.test.ts does the same to bare etcd members and the
// client; this is the appliance, through its shell.)
import t from 'tap';
import { makeCa } from '../helpers/pki.js';
import { testCluster, until, ADDRESSES } from '../helpers/etcd.js';
import { formLines, PeerProcess } from '../helpers/cluster-peers.js';

// Each writer changes its own shared key, so the last acknowledged value of each key is well defined.
const KEYS = ['Ssh IdleTimeout', 'Security Acme Dns Port', 'Security Acme Dns PropagationTimeout'];
const BASE = [1000, 2000, 100];
const WRITES = 150;
const MAX_WRITES = 20_000;
// Values cycle within every key's range (PropagationTimeout's ends at 3600).
const CYCLE = 3000;
const KILL_AT = 40;
const NO_QUORUM_CONFIG = 'The cluster has no quorum: cluster-wide configuration cannot be changed now (reads and Clustering, SystemUnit Name, Security Acme Scheduler still can)';
const NO_QUORUM_TRUST = 'The cluster has no quorum: the trust store cannot be changed now (it can still be read)';

const ok = (out: string) => /^OK$/m.test(out) && !/ERROR/.test(out);
const reasons = (out: string) => [...out.matchAll(/Reason: "([^"]*)"/g)].map((m) => m[1]);
const listed = (out: string) => [...out.matchAll(/Peer (\d):\n\s+Address: "[\d.]+"\n\s+Status: "(\w+)"/g)].map((m) => `${m[1]} ${m[2]}`);

t.test('kill -9 of one peer under writes, then of a second, then both back', { timeout: 420_000 }, async (t) => {
  const c = await testCluster(t, { count: 3 });
  const peers = [0, 1, 2].map((i) => new PeerProcess(t, c, i));
  await Promise.all(peers.map((p) => p.start()));
  const formed = await Promise.all(peers.map((p) => p.run(formLines(3, 1))));
  for (const o of formed) t.match(o.out, /Joining the cluster/);
  // On a timeout the error says what the peer showed last.
  const allActive = (p: PeerProcess, what: string, ms = 120_000) => {
    let last: unknown;
    return until(what, async () => {
      const s = (last = (await p.state()).clustering);
      return s.Status === 'Active' && s.Peer?.length === 3 && s.Peer.every((x) => x.Status === 'Active') ? true : undefined;
    }, ms).catch((e: Error) => {
      throw new Error(`${e.message}; it showed ${JSON.stringify(last)}`);
    });
  };
  await Promise.all(peers.map((p) => allActive(p, `peer ${p.number} Active with every peer seen`)));

  // The victim: the raft leader's peer, the hardest case (a new election under the writes).
  const health = await c.client(c.plan.endpoints, 0, 3000).health();
  const leader = health.members.find((m) => m.name === m.leader)?.name;
  const victim = peers.find((p) => `peer${p.number}` === leader) ?? peers[2]!;
  const writers = peers.filter((p) => p !== victim);
  t.comment(`etcd leader ${leader}; killing peer ${victim.number} while peers ${writers.map((w) => w.number).join(' and ')} write`);

  const acked = new Map<PeerProcess, number[]>(writers.map((w) => [w, []]));
  const refused: string[] = [];
  let killing: Promise<void> | undefined;
  let killedAfter = -1;
  let writing = true;
  // What the writers' xStatus Clustering Status said while the loop ran, sampled every 50 ms, and
  // whether both show the victim Unreachable yet: the writes go on until they do, so they span the
  // election and the heartbeat's expiry.
  const seen = new Set<string>();
  let noticed = false;
  const sampling = (async () => {
    for (let i = 0; writing && i < 5000; i++) {
      const states = await Promise.all(writers.map((w) => w.state()));
      for (const st of states) seen.add(st.clustering.Status);
      noticed = killing !== undefined && states.every((st) => st.clustering.Peer?.[victim.index]?.Status === 'Unreachable');
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const deadline = Date.now() + 120_000;
  await Promise.all(writers.map(async (w, n) => {
    for (let i = 0; (i < WRITES || !noticed) && i < MAX_WRITES && Date.now() < deadline; i++) {
      if (n === 0 && i === KILL_AT) {
        killedAfter = acked.get(w)!.length + acked.get(writers[1]!)!.length;
        killing = victim.kill9();
      }
      const value = BASE[w.index]! + (i % CYCLE);
      const r = await w.run(`xConfiguration ${KEYS[w.index]}: ${value}\n`);
      if (ok(r.out)) acked.get(w)!.push(value);
      else refused.push(`peer ${w.number}: ${reasons(r.out).join(' ')}`);
    }
  }));
  await killing;
  writing = false;
  await sampling;
  const total = writers.reduce((s, w) => s + acked.get(w)!.length, 0);
  t.comment(`write loop: ${total} acknowledged, ${refused.length} refused, peer ${victim.number} killed after ${killedAfter}; writers' status seen: ${[...seen].sort().join(', ')}`);
  // The killed member led: while the two others elect a new leader etcd takes no write, but a
  // quorum is there, so the peers admit changes (their writes are retried until the leader takes them).
  t.same(refused, [], 'with one peer down every change is acknowledged, also during the election');
  t.notOk(seen.has('NoQuorum'), 'the writers never said NoQuorum');
  t.ok(killedAfter > 0 && total - killedAfter >= WRITES, 'writes went on after the kill');
  t.ok(noticed, 'until both writers showed the killed peer Unreachable');

  // Every survivor has the last acknowledged value of every writer's key.
  const last = (w: PeerProcess) => `${KEYS[w.index]}=${acked.get(w)!.at(-1)}`;
  for (const p of writers) {
    await until(`peer ${p.number} has every acknowledged change`, async () => {
      const s = await p.state();
      return writers.every((w) => s.shared.includes(last(w))) ? true : undefined;
    }, 20_000);
    t.pass(`peer ${p.number} has ${writers.map(last).join(', ')}`);
  }
  for (const p of writers) {
    const s = await until(`peer ${p.number} Degraded, peer ${victim.number} Unreachable, its alarm raised`, async () => {
      const s = await p.state();
      return s.clustering.Status === 'Degraded' && s.clustering.Peer?.[victim.index]?.Status === 'Unreachable' && s.alarms.includes(`cluster-peer-${victim.number}`) ? s : undefined;
    }, 30_000);
    t.same(s.clustering.Peer?.map((x, i) => `${i + 1} ${x.Status}`), peers.map((q) => `${q.number} ${q === victim ? 'Unreachable' : 'Active'}`), `peer ${p.number}: the other survivor Active, the killed one Unreachable`);
    const shown = await p.run('xStatus Clustering\nxStatus Alarm\n');
    t.match(shown.out, /\*s Clustering: \/\n\s+Status: "Degraded"/);
    t.same(listed(shown.out), peers.map((q) => `${q.number} ${q === victim ? 'Unreachable' : 'Active'}`), `xStatus Clustering on peer ${p.number}`);
    t.match(shown.out, new RegExp(`Cluster peer ${victim.number} \\(${ADDRESSES[victim.index]!.replace(/\./g, '\\.')}\\) is unreachable`));
  }

  // A CA added while degraded: the killed peer must catch up on it when it comes back.
  const extra = await makeCa({ cn: 'Kill Test Root' });
  t.match((await writers[1]!.run(`xCommand Security Certificates CA Add\n${extra.pem}.\n`)).out, /Added: 1/);
  await until(`peer ${writers[0]!.number} trusts the CA added on peer ${writers[1]!.number}`, async () => ((await writers[0]!.state()).trust.includes(extra.x509.fingerprint256) ? true : undefined), 15_000);

  // A second peer killed: the last one has no quorum.
  const [survivor, second] = writers as [PeerProcess, PeerProcess];
  await second.kill9();
  const alone = await until(`peer ${survivor.number} NoQuorum with its alarm`, async () => {
    const s = await survivor.state();
    return s.clustering.Status === 'NoQuorum' && s.alarms.includes('cluster-no-quorum') ? s : undefined;
  }, 30_000);
  const before = { shared: alone.shared, trust: alone.trust };
  const change = await survivor.run(`xConfiguration ${KEYS[survivor.index]}: 7\n`);
  t.same(reasons(change.out), [NO_QUORUM_CONFIG], 'a change of shared configuration: refused in one sentence');
  t.match(change.out, /\nERROR\n?$/);
  const ca = await survivor.run(`xCommand Security Certificates CA Delete Fingerprint: ${extra.x509.fingerprint256}\n`);
  t.same(reasons(ca.out), [NO_QUORUM_TRUST], 'a change of the trust store: refused in one sentence');
  const reads = await survivor.run(`xConfiguration ${KEYS[survivor.index]}\nxStatus Clustering\nxStatus Alarm\n`);
  t.notMatch(reads.out, /ERROR/, 'reads and xStatus work');
  t.match(reads.out, new RegExp(`${KEYS[survivor.index]!.split(' ').at(-1)}: ${acked.get(survivor)!.at(-1)}\n`), 'the last acknowledged value is read');
  t.match(reads.out, /\*s Clustering: \/\n\s+Status: "NoQuorum"/);
  t.same(listed(reads.out), peers.map((q) => `${q.number} ${q === survivor ? 'Active' : 'Unreachable'}`), 'the two killed peers shown Unreachable');
  t.match(reads.out, /The cluster has no quorum \(1 of 3 voters reachable\)/);
  t.match((await survivor.run('xConfiguration SystemUnit Name: alone\n')).out, /^OK$/m, 'a local key still changes');
  const after = await survivor.state();
  t.same({ shared: after.shared, trust: after.trust }, before, 'nothing shared changed');

  // Both back on their data directories: all converge, Active everywhere.
  const back = performance.now();
  await Promise.all([victim.start(), second.start()]);
  await Promise.all(peers.map((p) => allActive(p, `peer ${p.number} Active again with every peer seen`)));
  t.comment(`two peers restarted to all Active in ${(performance.now() - back).toFixed(0)} ms`);
  const states = await Promise.all(peers.map((p) => until(`peer ${p.number} converged`, async () => {
    const s = await p.state();
    return s.shared.join() === after.shared.join() && s.trust.join() === after.trust.join() ? s : undefined;
  }, 20_000)));
  for (const [i, s] of states.entries()) {
    t.ok(writers.every((w) => s.shared.includes(last(w))), `peer ${i + 1} has every acknowledged change`);
    t.ok(s.trust.includes(extra.x509.fingerprint256), `peer ${i + 1} trusts the CA added while it was down`);
    t.notOk(s.alarms.some((a) => a.startsWith('cluster-')), `peer ${i + 1}: no cluster alarm`);
  }
  for (const p of peers) t.match((await p.run('xStatus Clustering\n')).out, /\*s Clustering: \/\n\s+Status: "Active"/, `xStatus Clustering on peer ${p.number}: Active`);
  // Quorum back: the change refused before is taken now, and seen everywhere.
  t.match((await survivor.run(`xConfiguration ${KEYS[survivor.index]}: 7\n`)).out, /^OK$/m);
  await Promise.all(peers.map((p) => until(`peer ${p.number} sees the change made after recovery`, async () => ((await p.state()).shared.includes(`${KEYS[survivor.index]}=7`) ? true : undefined), 15_000)));
});
