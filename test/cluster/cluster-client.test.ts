// The client's primitives against three real members: compare-and-set, leases (revoke and holder
// death), the per-name lock (exclusive, expires with its holder), order locks on several names at
// once, heartbeats, and a fourth member
// joining and leaving. Holders that die are child processes killed by pid.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ReplicatedPrefix } from '../../src/cluster/replica.js';
import { Heartbeat, PeerWatch } from '../../src/cluster/heartbeat.js';
import { joinCluster, leaveCluster } from '../../src/cluster/membership.js';
import { LOCKS_PREFIX, NameLocks } from '../../src/cluster/locks.js';
import { NameLocked } from '../../src/errors.js';
import { testCluster, until, type TestCluster } from '../helpers/etcd.js';

const holderScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'cluster-holder.ts');

async function startedCluster(t: Tap.Test): Promise<TestCluster> {
  const c = await testCluster(t);
  await Promise.all([0, 1, 2].map((i) => c.member(i).start()));
  return c;
}

/** A holder process (challenge answer under a lease, a lock, heartbeat as `peer`) that is ready. */
async function holder(t: Tap.Test, c: TestCluster, o: { ttl: number; lock: string; key: string; peer: number }) {
  const f = c.files(1);
  const cfgFile = path.join(c.dir, `holder-${o.peer}.json`);
  fs.writeFileSync(cfgFile, JSON.stringify({ endpoints: c.plan.endpoints, caPem: f.caPem, certPem: f.certPem, keyPem: f.keyPem, ...o }));
  const p = spawn(process.execPath, [...process.execArgv, holderScript, cfgFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`holder not ready in 60 s: ${out}`)), 60_000);
    const take = (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n') || out.includes('lock-busy\n')) {
        clearTimeout(timer);
        resolve();
      }
    };
    p.stdout.on('data', take);
    p.stderr.on('data', take);
    p.once('exit', (code) => { clearTimeout(timer); reject(new Error(`holder exited (${code}): ${out}`)); });
  });
  return { proc: p, out: () => out, kill: () => process.kill(p.pid!, 'SIGKILL') };
}

t.test('compare-and-set and create-once', async (t) => {
  const c = await startedCluster(t);
  const cl = c.client();
  t.same(await cl.compareAndSet('cfg/v', undefined, 'a'), { ok: true }, 'created when absent');
  t.same(await cl.compareAndSet('cfg/v', undefined, 'b'), { ok: false, current: 'a' }, 'create-once refuses');
  t.same(await cl.compareAndSet('cfg/v', 'x', 'b'), { ok: false, current: 'a' }, 'a stale expectation refuses');
  t.same(await cl.compareAndSet('cfg/v', 'a', 'b'), { ok: true });
  t.equal(await cl.get('cfg/v'), 'b');
  await cl.delete('cfg/v');
  t.equal(await cl.get('cfg/v'), undefined);
});

t.test('leases: revoke deletes the answers everywhere; a killed holder loses them after the TTL', async (t) => {
  const c = await startedCluster(t);
  const a = c.client([c.endpoint(0)], 0);
  const b = c.client([c.endpoint(2)], 2);
  const seen = await ReplicatedPrefix.open(b, 'challenge/');
  const lease = await a.lease(2);
  await lease.put('challenge/tok1', 'answer1');
  await until('answer replicated', () => (seen.get('challenge/tok1') === 'answer1' ? true : undefined), 10_000, 5);
  const gone = new Promise<void>((resolve) => seen.on('change', (k: string, v?: string) => { if (k === 'challenge/tok1' && v === undefined) resolve(); }));
  await lease.revoke();
  await gone;
  t.equal(seen.get('challenge/tok1'), undefined, 'revoked: the watcher on another member saw the delete');

  const h = await holder(t, c, { ttl: 2, lock: 'edge.example.com', key: 'challenge/tok2', peer: 5 });
  t.match(h.out(), /^ready$/m, 'the holder took the lock');
  await until('holder answer replicated', () => (seen.get('challenge/tok2') === 'answer' ? true : undefined), 10_000, 5);
  // Kept alive well past the TTL while the holder lives.
  const held = Date.now();
  await until('3 s passed', () => (Date.now() - held > 3000 ? true : undefined), 10_000, 100);
  t.equal(seen.get('challenge/tok2'), 'answer', 'kept alive past its TTL by the living holder');
  const expired = new Promise<number>((resolve) => seen.on('change', (k: string, v?: string) => { if (k === 'challenge/tok2' && v === undefined) resolve(Date.now()); }));
  const killed = Date.now();
  h.kill();
  const at = await expired;
  t.comment(`answer gone ${at - killed} ms after its holder was killed (TTL 2 s)`);
  t.ok(at - killed < 10_000, 'gone within the TTL and some slack');
  await seen.close();
});

t.test('lock: exclusive while held, free after release or after its holder died', async (t) => {
  const c = await startedCluster(t);
  const a = c.client(c.plan.endpoints, 0);
  const b = c.client(c.plan.endpoints, 1);
  const la = await a.tryLock('shop.example.com', 2);
  t.ok(la, 'first taker holds it');
  t.equal(await b.tryLock('shop.example.com', 2), undefined, 'a second taker is refused at once');
  const other = await b.tryLock('other.example.com', 2);
  t.ok(other, 'another name is another lock');
  await la!.release();
  const lb = await b.tryLock('shop.example.com', 2);
  t.ok(lb, 'free after release');
  await lb!.release();
  await other!.release();

  const h = await holder(t, c, { ttl: 2, lock: 'edge.example.com', key: 'challenge/x', peer: 6 });
  t.equal(await a.tryLock('edge.example.com', 2), undefined, 'held by the holder process');
  const killed = Date.now();
  h.kill();
  const got = await until('lock free after the holder died', () => a.tryLock('edge.example.com', 2), 15_000, 100);
  t.comment(`lock free ${Date.now() - killed} ms after its holder was killed (TTL 2 s)`);
  t.ok(got);
  await got.release();
});

t.test('name locks: every name of an order or none, the holder named, released at once', async (t) => {
  const c = await startedCluster(t);
  const a = new NameLocks(c.client(c.plan.endpoints, 0), { peer: 1, address: '127.0.0.2' }, 2);
  const b = new NameLocks(c.client(c.plan.endpoints, 1), { peer: 2, address: '127.0.0.3' }, 2);
  const first = await a.acquire(['Shop.Example.com', 'www.example.com', 'shop.example.com']);
  t.ok('held' in first && first.held.names.length === 2, 'two names, case folded and deduplicated');
  t.same(await b.acquire(['www.example.com', 'api.example.com']), { busy: 'www.example.com', holder: { peer: 1, address: '127.0.0.2' } }, 'one taken name refuses the order, naming the holder');
  const api = await b.acquire(['API.example.com']);
  t.ok('held' in api, 'the refused order took none of its names');
  t.same(await a.acquire(['shop.example.com']), { busy: 'shop.example.com', holder: { peer: 1, address: '127.0.0.2' } }, 'the holder itself is refused a second order');
  if ('held' in first) await first.held.release();
  t.ok('held' in (await b.acquire(['shop.example.com', 'www.example.com'])), 'free at once after release');
  // A value this appliance did not write: held, by someone it cannot name.
  await c.client(c.plan.endpoints, 2).put(`${LOCKS_PREFIX}foreign.example.com`, 'x');
  t.same(await a.acquire(['foreign.example.com']), { busy: 'foreign.example.com' });
  t.equal(new NameLocked('foreign.example.com').message, 'Another cluster peer is ordering a certificate for foreign.example.com now: two peers never order the same name at once');
});

t.test('heartbeats: alive while beating, gone on a clean stop at once and after a kill within the TTL', async (t) => {
  const c = await startedCluster(t);
  const a = c.client(c.plan.endpoints, 0);
  const watch = await PeerWatch.open(c.client([c.endpoint(2)], 2));
  // TTL 5 s: a clean stop must be seen long before the lease could have expired.
  const hb = await Heartbeat.start(a, 1, { ttlSeconds: 5, intervalMs: 200 });
  const h = await holder(t, c, { ttl: 2, lock: 'hb.example.com', key: 'challenge/hb', peer: 2 });
  await until('both alive', () => (watch.get(1)?.alive && watch.get(2)?.alive ? true : undefined), 10_000, 10);
  const first = watch.get(1)!.lastSeen!;
  await until('LastSeen moves', () => (watch.get(1)!.lastSeen! > first ? true : undefined), 10_000, 20);
  t.match(watch.get(1)!.lastSeen!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  const killed = Date.now();
  h.kill();
  await until('peer 2 gone', () => (watch.get(2)?.alive === false ? true : undefined), 15_000, 20);
  t.comment(`peer 2 seen gone ${Date.now() - killed} ms after it was killed (TTL 2 s)`);
  t.ok(watch.get(2)!.lastSeen, 'its LastSeen is kept');

  const stopped = Date.now();
  await hb.stop();
  await until('peer 1 gone', () => (watch.get(1)?.alive === false ? true : undefined), 5_000, 5);
  t.ok(Date.now() - stopped < 3000, 'a clean stop is seen at once (lease revoked), not after the 5 s TTL');
  t.same(watch.all().map((p) => [p.peer, p.alive]), [[1, false], [2, false]]);
  await watch.close();
});

t.test('a fourth member joins, serves, and leaves', async (t) => {
  const c = await testCluster(t, { count: 3 });
  await Promise.all([0, 1, 2].map((i) => c.member(i).start()));
  const cl = c.client(c.plan.endpoints, 0);
  await cl.put('cfg/before-join', '1');
  const m4 = c.member(3, { state: 'existing', initialCluster: '' });
  const t0 = performance.now();
  await joinCluster(cl, m4);
  t.comment(`member add + start of a 4th member to ready: ${(performance.now() - t0).toFixed(0)} ms`);
  t.same((await cl.members()).map((m) => m.name).sort(), ['peer1', 'peer2', 'peer3', 'peer4']);
  const four = c.client([...c.plan.endpoints, c.endpoint(3)], 0);
  await until('4 voters Active', async () => {
    const h = await four.health();
    return h.state === 'Active' && h.reachable === 4 ? true : undefined;
  }, 20_000);
  const on4 = c.client([c.endpoint(3)], 3);
  t.equal(await on4.get('cfg/before-join'), '1', 'the new member has the data from before it joined');
  await on4.put('cfg/from4', 'x');
  t.equal(await cl.get('cfg/from4'), 'x');
  await t.rejects(joinCluster(cl, m4), /already member peer4 of the cluster/, 'joining twice is refused');

  await leaveCluster(cl, m4);
  t.same((await cl.members()).map((m) => m.name).sort(), ['peer1', 'peer2', 'peer3']);
  t.equal(m4.state, 'Stopped');
  t.notOk(fs.existsSync(c.config(3).dataDir), 'its data is gone');
  await cl.put('cfg/after-leave', 'y');
  t.equal((await cl.health()).state, 'Active', 'the three left are Active');
  t.equal(await cl.removeMember('peer4'), false, 'removing it again finds nothing');
});
