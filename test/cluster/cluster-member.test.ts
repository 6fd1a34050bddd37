// Real etcd members supervised by EtcdMember on 127.0.0.2-.4: the command line, bootstrap with
// TLS in both verification modes, replication seen by watches on other members, restart after
// kill -9 with back-off, and a graceful stop by pid.
import t from 'tap';
import fs from 'node:fs';
import { memberArgs, EtcdMember } from '../../src/cluster/member.js';
import { ClusterClient, presentedCertificates } from '../../src/cluster/client.js';
import { ReplicatedPrefix } from '../../src/cluster/replica.js';
import { makeCa, makeLeaf } from '../helpers/pki.js';
import { testCluster, kill9, until, rejectsUnavailable, ETCD_BIN } from '../helpers/etcd.js';

t.test('command line: flags from cluster.md, TLS per mode', async (t) => {
  const base = {
    bin: 'etcd', name: 'peer2', dataDir: '/d/etcd', address: '10.0.0.2', clientPort: 2379, peerPort: 2380,
    initialCluster: 'peer1=https://10.0.0.1:2380,peer2=https://10.0.0.2:2380', token: 'xway-t', state: 'new' as const,
    tls: { certFile: '/c.pem', keyFile: '/k.pem', caFile: '/ca.pem', verify: 'Enforce' as const },
  };
  const a = memberArgs(base).join(' ');
  t.match(a, '--name peer2 --data-dir /d/etcd --listen-client-urls https://10.0.0.2:2379 --advertise-client-urls https://10.0.0.2:2379');
  t.match(a, '--listen-peer-urls https://10.0.0.2:2380 --initial-advertise-peer-urls https://10.0.0.2:2380');
  t.match(a, '--initial-cluster-state new --initial-cluster-token xway-t --heartbeat-interval 100 --election-timeout 1000');
  t.match(a, '--auto-compaction-mode periodic --auto-compaction-retention 1h');
  t.match(a, '--cert-file /c.pem --key-file /k.pem --trusted-ca-file /ca.pem --client-cert-auth');
  t.match(a, '--peer-cert-file /c.pem --peer-key-file /k.pem --peer-trusted-ca-file /ca.pem --peer-client-cert-auth');
  const p = memberArgs({ ...base, state: 'existing', address: 'fd00::2', tls: { ...base.tls, verify: 'Permissive' } }).join(' ');
  t.match(p, '--listen-client-urls https://[fd00::2]:2379');
  t.match(p, '--initial-cluster-state existing');
  t.match(p, '--cert-file /c.pem --key-file /k.pem --peer-auto-tls');
  t.notMatch(p, /client-cert-auth|trusted-ca-file/);
});

t.test('a missing binary: start() rejects with the reason, no hang', async (t) => {
  const c = await testCluster(t);
  const m = new EtcdMember(c.config(0, { bin: '/nonexistent/etcd' }), { logger: c.logger, restart: false });
  await t.rejects(m.start(), /exited .* before it was ready[^]*ENOENT/);
});

t.test('Enforce: three members form a cluster; a put on member 2 is seen by watches on 1 and 3', async (t) => {
  const c = await testCluster(t, { verify: 'Enforce' });
  const t0 = performance.now();
  await Promise.all([0, 1, 2].map((i) => c.member(i).start()));
  const bootMs = performance.now() - t0;
  t.comment(`bootstrap of 3 members (TLS, Enforce) to ready: ${bootMs.toFixed(0)} ms`);
  const all = c.client();
  t.equal((await until('Active', async () => ((await all.health()).state === 'Active' ? true : undefined), 30_000)), true);
  const h = await all.health();
  t.same(h.members.map((m) => m.name), ['peer1', 'peer2', 'peer3']);
  t.ok(h.members.every((m) => m.leader && m.leader === h.members[0]!.leader), 'all agree on a leader');

  // One client per member, each on that member alone.
  const on = [0, 1, 2].map((i) => c.client([c.endpoint(i)], i));
  const r1 = await ReplicatedPrefix.open(on[0]!, 'cfg/');
  const r3 = await ReplicatedPrefix.open(on[2]!, 'cfg/');
  const seen = (r: ReplicatedPrefix, key: string, value: string) => new Promise<number>((resolve) => {
    const f = (k: string, v: string | undefined) => {
      if (k === key && v === value) {
        r.off('change', f);
        resolve(performance.now());
      }
    };
    r.on('change', f);
  });
  const a = seen(r1, 'cfg/x', 'one');
  const b = seen(r3, 'cfg/x', 'one');
  await on[1]!.put('cfg/x', 'one');
  await Promise.all([a, b]);
  t.equal(r1.get('cfg/x'), 'one');
  t.equal(r3.get('cfg/x'), 'one');

  // A snapshot then a watch misses nothing written in between.
  await on[1]!.put('cfg/before', '1');
  const late = await ReplicatedPrefix.open(on[2]!, 'cfg/');
  await on[1]!.put('cfg/after', '2');
  await until('late copy has both', () => (late.get('cfg/after') === '2' ? true : undefined), 10_000, 10);
  t.equal(late.get('cfg/before'), '1');

  // Figures: 200 sequential puts on member 2, each timed to its put event on member 1 and 3.
  const put: number[] = [];
  const watch: number[] = [];
  for (let i = 0; i < 200; i++) {
    const w1 = seen(r1, 'cfg/lat', String(i));
    const w3 = seen(r3, 'cfg/lat', String(i));
    const s = performance.now();
    await on[1]!.put('cfg/lat', String(i));
    put.push(performance.now() - s);
    const [e1, e3] = await Promise.all([w1, w3]);
    watch.push(e1 - s, e3 - s);
  }
  const pct = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!.toFixed(1);
  t.comment(`put (TLS, loopback) p50 ${pct(put, 0.5)} ms p99 ${pct(put, 0.99)} ms; watch event on another member p50 ${pct(watch, 0.5)} ms p99 ${pct(watch, 0.99)} ms`);
  t.ok(Number(pct(watch, 0.5)) < 100, 'replication within the 100 ms target at p50');
  for (const r of [r1, r3, late]) await r.close();

  // A client whose certificate no trusted CA issued is refused by every member.
  const stranger = await makeLeaf(await makeCa({ cn: 'Stranger CA' }), { cn: '127.0.0.2', sans: ['127.0.0.2', '127.0.0.1'] });
  const bad = new ClusterClient({ endpoints: c.plan.endpoints, tls: { caPem: c.ca.pem, certPem: stranger.pem, keyPem: stranger.keyPem }, callTimeoutMs: 2000 });
  t.teardown(() => bad.close());
  await rejectsUnavailable(t, bad.get('cfg/x'), /did not confirm reading cfg\/x within 2 s/, 'a foreign client certificate gets nothing');
  t.equal((await bad.health()).state, 'NoQuorum', 'and sees no member');
});

t.test('Enforce: a member whose certificate no trusted CA issued cannot join the others', async (t) => {
  const c = await testCluster(t, { verify: 'Enforce' });
  const stranger = await makeLeaf(await makeCa({ cn: 'Stranger CA' }), { cn: '127.0.0.4', sans: ['127.0.0.4', '127.0.0.1'] });
  const certFile = `${c.dir}/stranger.pem`;
  const keyFile = `${c.dir}/stranger.key`;
  fs.writeFileSync(certFile, stranger.pem);
  fs.writeFileSync(keyFile, stranger.keyPem, { mode: 0o600 });
  await Promise.all([0, 1].map((i) => c.member(i).start()));
  const m3 = new EtcdMember(c.config(2, { tls: { ...c.config(2).tls, certFile, keyFile } }), { logger: c.logger, restart: false, readyTimeoutMs: 8000 });
  t.teardown(async () => { if (m3.pid) process.kill(m3.pid, 'SIGKILL'); await m3.stop(); });
  await t.rejects(m3.start(), /peer3 was not ready within 8 s/, 'never admitted');
  t.match(m3.logTail(), /certificate signed by unknown authority|bad certificate|tls:/, 'refused at the TLS handshake');
  const cl = c.client(c.plan.endpoints.slice(0, 2), 0);
  await cl.put('cfg/two', 'still writable');
  const h = await cl.health();
  t.same([h.state, h.voters, h.reachable], ['Degraded', 3, 2], 'the two trusted members carry on, one voter short');
});

t.test('Permissive: peers with self-signed certificates form a cluster; the client pins what they present', async (t) => {
  const c = await testCluster(t, { verify: 'Permissive', selfSigned: true });
  await Promise.all([0, 1, 2].map((i) => c.member(i).start()));
  for (const i of [0, 1, 2]) t.ok(fs.existsSync(`${c.config(i).dataDir}/fixtures/peer/cert.pem`), `peer${i + 1} encrypts peer traffic with its own generated certificate`);
  const pins = await presentedCertificates(c.plan.endpoints);
  t.equal(pins.match(/BEGIN CERTIFICATE/g)?.length, 3, 'three certificates pinned');
  const cl = new ClusterClient({ endpoints: c.plan.endpoints, tls: { caPem: pins }, callTimeoutMs: 3000 });
  t.teardown(() => cl.close());
  await cl.put('cfg/p', 'permissive');
  t.equal(await cl.get('cfg/p'), 'permissive');
  // The members' own CA vouches for none of the self-signed certificates: verification is really off.
  const strict = new ClusterClient({ endpoints: c.plan.endpoints, tls: { caPem: c.ca.pem }, callTimeoutMs: 1500 });
  t.teardown(() => strict.close());
  await rejectsUnavailable(t, strict.get('cfg/p'), /did not confirm/, 'a client that verifies against another CA is not fooled');
});

t.test('supervision: kill -9 restarts the member with back-off; stop() ends it by pid with SIGTERM', async (t) => {
  const c = await testCluster(t);
  const ms = [0, 1, 2].map((i) => c.member(i, {}, i === 1));
  await Promise.all(ms.map((m) => m.start()));
  const m = ms[1]!;
  const firstPid = m.pid!;
  const restarted = new Promise<number>((resolve) => m.once('restart', (_n: number, delay: number) => resolve(delay)));
  const ready = new Promise<number>((resolve) => m.once('ready', (pid: number) => resolve(pid)));
  await kill9(m);
  t.equal(await restarted, 100, 'first restart after the minimum back-off');
  const pid = await ready;
  t.not(pid, firstPid, 'a new process');
  t.equal(m.state, 'Ready');
  const cl = c.client([c.endpoint(1)], 1);
  await cl.put('cfg/after-restart', 'yes');
  t.equal(await cl.get('cfg/after-restart'), 'yes');
  t.match(c.logLines.join(''), /"event":"cluster.member.restart","member":"peer2","attempt":1,"delayMs":100/);

  const exited = new Promise<[number | null, string | null]>((resolve) => m.once('exit', (code: number | null, sig: string | null) => resolve([code, sig])));
  await m.stop();
  const [code, sig] = await exited;
  t.ok(code === 0 || sig === 'SIGTERM', `stopped by SIGTERM (${code ?? sig})`);
  t.equal(m.state, 'Stopped');
  t.equal(m.pid, undefined);
  t.throws(() => ms[0]!.wipe(), /is running; stop it before removing its data/);
  m.wipe();
  t.notOk(fs.existsSync(c.config(1).dataDir), 'data removed');
  t.ok(ETCD_BIN);
});
