// Per-name order locks across real peers: peer 1 is a whole appliance in a child process ordering
// edge.example.com against a CA that never answers; peers 2 and 3 run in process. Peer 2's Sign
// and dry run of the same name are refused with one sentence naming peer 1, and change nothing;
// its automated renewal is held back without failing;
// another name is another lock; a lock goes when its order ends; and after peer 1 is killed -9
// (by pid) its lock lasts until its lease expires, then peer 2 takes it.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpDir, type TestApp } from '../helpers/app.js';
import { FakeIssuer } from '../helpers/fake-issuer.js';
import { alarmIds, untilActive, clusterPeer, formLines } from '../helpers/cluster-peers.js';
import { testCluster, until, type TestCluster } from '../helpers/etcd.js';
import { systemClock } from '../../src/platform/clock.js';
import { LOCKS_PREFIX } from '../../src/cluster/locks.js';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'cluster-order-process.ts');

const ACME_CONFIG = [
  'xConfiguration Security Acme DirectoryUrl: "https://ca.fake.example/dir"',
  'xConfiguration Security Acme Provider: Custom',
  'xConfiguration Security Acme AdminEmail: admin@example.com',
].join('\n') + '\n';
const account = (cn: string) => `xCommand Security Acme AcceptTerms Agree: True\nxCommand Security Certificates CSR Create CommonName: ${cn} KeyType: ECDSA-P256\n`;

/** Peer 1 as a child process: resolves with its pid and its etcd member's pid once it orders. */
function orderingPeer(t: Tap.Test, c: TestCluster) {
  const f = c.files(0);
  const cfgFile = path.join(c.dir, 'order-peer1.json');
  fs.writeFileSync(cfgFile, JSON.stringify({
    index: 0, count: 3, dataDir: tmpDir(), clientPort: c.clientPort, peerPort: c.peerPort, certPem: f.certPem, keyPem: f.keyPem, caPem: f.caPem,
    acme: ACME_CONFIG + account('edge.example.com') + 'xCommand Security Acme Sign\n',
  }));
  const p = spawn(process.execPath, [...process.execArgv, script, cfgFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let member: number | undefined;
  t.teardown(() => {
    if (p.exitCode === null && p.signalCode === null) process.kill(p.pid!, 'SIGKILL');
    // Its etcd member outlives it (a child of the killed process): killed by pid too.
    if (member) try { process.kill(member, 'SIGKILL'); } catch { /* gone already */ }
  });
  const seen = (what: RegExp, ms: number) => new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`peer 1 did not print ${what} in ${ms / 1000} s: ${out.slice(-2000)}`)), ms);
    const check = () => {
      const m = what.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); check(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    p.once('exit', (code) => { clearTimeout(timer); reject(new Error(`peer 1 exited (${code}): ${out.slice(-2000)}`)); });
    check();
  });
  return {
    pid: p.pid!,
    member: seen(/member (\d+)\n/, 120_000).then((m) => (member = Number(m[1]))),
    ordering: seen(/ordering\n/, 60_000),
    exited: new Promise<void>((resolve) => p.once('exit', () => resolve())),
  };
}

const startedOrder = (app: TestApp) => app.logLines.some((l) => l.includes('"what":"Security Acme Sign"') && l.includes('"result":"started"'));
const REFUSED = /Reason: "Cluster peer 1 \(127\.0\.0\.2\) is ordering a certificate for edge\.example\.com now: two peers never order the same name at once"/;

t.test('two peers never order the same name at once; a dead peer\'s lock goes with its lease', async (t) => {
  const c = await testCluster(t, { count: 3 });
  const issuers = [new FakeIssuer(systemClock), new FakeIssuer(systemClock)];
  const one = orderingPeer(t, c);
  const [two, three] = [1, 2].map((i) => clusterPeer(t, c, i, tmpDir(), { issuer: issuers[i - 1]! })) as [TestApp, TestApp];
  await Promise.all([two, three].map((p) => p.run(formLines(3, 1, ['TlsVerify Mode: Enforce']))));
  await one.member;
  await untilActive(two, 'peer 2 Active');
  await untilActive(three, 'peer 3 Active');
  await one.ordering;
  // Peer 1's ACME configuration is shared; the account and CSR are each peer's own.
  await until('peer 2 has the shared ACME configuration', () => (two.services.config.value('Security Acme Provider') === 'Custom' ? true : undefined), 10_000);
  t.notMatch((await two.run(account('edge.example.com'))).out, /ERROR/);
  t.notMatch((await three.run(account('other.example.com'))).out, /ERROR/);

  const probe = c.client(c.plan.endpoints, 1);
  const locks = async () => [...(await probe.snapshot(LOCKS_PREFIX)).entries].map(([k, v]) => [k, (JSON.parse(v) as { peer: number }).peer]);
  t.same(await locks(), [[`${LOCKS_PREFIX}edge.example.com`, 1]], 'peer 1 holds the lock of its order\'s name');

  const before = (await two.run('xStatus Security Acme LastSign\n')).out;
  const refused = await two.run('xCommand Security Acme Sign Wait: True\n');
  t.match(refused.out, REFUSED, 'peer 2\'s Sign is refused, naming peer 1');
  t.match(refused.out, /SecurityAcmeSignResult \(status=Error\)/);
  t.match((await two.run('xCommand Security Acme Sign DryRun: True Wait: True\n')).out, REFUSED, 'a dry run too');
  t.equal(issuers[0]!.attempts.length, 0, 'peer 2 did not reach the CA');
  t.equal((await two.run('xStatus Security Acme LastSign\n')).out, before, 'nothing changed on peer 2');
  t.notOk(startedOrder(two), 'no order was audited as started');
  // An automated renewal meets the same lock: no failure and no alarm; it tries again later.
  t.match((await two.run('xConfiguration Security Acme Scheduler Mode: On\n')).out, /^OK$/m);
  await until('peer 2\'s renewal job met the lock', () => (two.logLines.some((l) => l.includes('"event":"acme.order-locked"')) ? true : undefined), 30_000);
  t.notOk(alarmIds(two).some((a) => a.startsWith('acme.renewal-failing')), 'no failing alarm');
  t.equal((await two.run('xStatus Security Acme LastSign\n')).out, before, 'no failed sign recorded');
  const next = Date.parse(/NextSign: "([^"]+)"/.exec((await two.run('xStatus Security Acme NextSign\n')).out)?.[1] ?? '');
  t.ok(next > Date.now() + 5 * 60_000, 'the next attempt waits');
  t.equal(issuers[0]!.attempts.length, 0, 'and the CA saw nothing');
  t.match((await two.run('xConfiguration Security Acme Scheduler Mode: Off\n')).out, /^OK$/m);

  // Another name is another lock, held only while its order runs.
  t.match((await three.run('xCommand Security Acme Sign Wait: True\n')).out, /Status: "?Succeeded"?/, 'peer 3 orders another name meanwhile');
  t.ok(startedOrder(three), 'its order was audited as started');
  await until('peer 3\'s lock gone when its order ended', async () => ((await locks()).length === 1 ? true : undefined), 10_000);
  t.same(await locks(), [[`${LOCKS_PREFIX}edge.example.com`, 1]], 'only peer 1\'s lock is left');
  t.notMatch((await two.run('xCommand Security Certificates Domain Add Name: other.example.com\n')).out, /ERROR/);
  t.match((await two.run('xCommand Security Acme Sign Domain: other.example.com Wait: True\n')).out, /Status: "?Succeeded"?/, 'so peer 2 may order that name now');

  // Peer 1 dies mid-order. Its lease is kept alive no more: the lock lasts until the TTL runs out.
  const killed = Date.now();
  process.kill(one.pid, 'SIGKILL');
  await one.exited;
  t.match((await two.run('xCommand Security Acme Sign Wait: True\n')).out, REFUSED, 'right after the kill the lock is still held');
  let refusals = 1;
  const signed = await until('peer 2 takes the name once peer 1\'s lease expired', async () => {
    const o = (await two.run('xCommand Security Acme Sign Wait: True\n')).out;
    if (REFUSED.test(o)) {
      refusals++;
      return undefined;
    }
    return o;
  }, 40_000, 250);
  const after = Date.now() - killed;
  t.comment(`lock free ${after} ms after peer 1 was killed (TTL 10 s), ${refusals} refusals`);
  t.match(signed, /Status: "?Succeeded"?[\s\S]*Subject: "CN=edge\.example\.com"/, 'peer 2 signed edge.example.com');
  t.ok(after < 25_000, 'within the TTL and some slack');
  // Released just after the order ended (the answer does not wait for the revoke).
  await until('peer 2 released the lock', async () => ((await locks()).length === 0 ? true : undefined), 10_000);
});
