// Every peer answers every order's challenges (issue 9 "ACME per peer", issue 11 item 6), against
// real etcd members and a real Pebble whose mock DNS (challtestsrv) resolves each ordered name to a
// DIFFERENT peer's address than the ordering one: Pebble's validator connects to that address only,
// on the port every peer listens on, so an order can only succeed if that other peer answers.
// Peer 1 (127.0.0.2) is a whole appliance in a child process; peers 2 and 3 (127.0.0.3/.4) run in
// process. HTTP-01 both ways and TLS-ALPN-01; then peer 1 is killed (kill -9, its etcd member too)
// mid-order: peers 2 and 3 serve its token until the order's lease expires, then answer 404.
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpDir, type TestApp } from '../helpers/app.js';
import { startPebble } from '../helpers/pebble.js';
import { testCluster, until, freePortOn, ADDRESSES, ETCD_BIN, type TestCluster } from '../helpers/etcd.js';
import { clusterPeer } from '../helpers/cluster-peers.js';

const childScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'cluster-acme-child.ts');
const FORM = ['Peer 1 Address: 127.0.0.2', 'Peer 2 Address: 127.0.0.3', 'Peer 3 Address: 127.0.0.4', 'ConfigurationPrimary: 2', 'TlsVerify Mode: Enforce']
  .map((l) => `xConfiguration Clustering ${l}\n`).join('') + 'xCommand Clustering Join\n';

/** Peer 1 as a child process; resolves with it once it is Active, and its etcd member's pid. */
async function childPeer(t: Tap.Test, c: TestCluster): Promise<{ child: ChildProcess; memberPid: number; lines: string[]; next: (re: RegExp) => Promise<string> }> {
  const f = c.files(0);
  const dir = tmpDir();
  const cfgFile = path.join(dir, 'child.json');
  fs.writeFileSync(cfgFile, JSON.stringify({
    dataDir: path.join(dir, 'data'), self: ADDRESSES[0], clientPort: c.clientPort, peerPort: c.peerPort, bin: ETCD_BIN,
    certPem: f.certPem, keyPem: f.keyPem, caPem: f.caPem, form: FORM,
  }), { mode: 0o600 });
  fs.mkdirSync(path.join(dir, 'data'));
  const child = spawn(process.execPath, [...process.execArgv, childScript, cfgFile], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let err = '';
  const listeners = new Set<() => void>();
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
    for (const l of [...listeners]) l();
  });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  let memberPid = 0;
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (memberPid) { try { process.kill(memberPid, 'SIGKILL'); } catch { /* gone */ } }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  // Waits for the next line matching `re` (one already printed counts): an event, with a generous bound.
  const next = (re: RegExp) => new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { listeners.delete(check); reject(new Error(`peer 1 never said ${re}: ${lines.join(' | ')} ${err.slice(-2000)}`)); }, 180_000);
    const check = () => {
      const l = lines.find((x) => re.test(x) || x.startsWith('error '));
      if (!l) return;
      listeners.delete(check);
      clearTimeout(timer);
      if (l.startsWith('error ')) reject(new Error(`peer 1: ${l}`));
      else resolve(l);
    };
    listeners.add(check);
    child.once('exit', () => { listeners.delete(check); clearTimeout(timer); reject(new Error(`peer 1 exited: ${err.slice(-2000)}`)); });
    check();
  });
  memberPid = Number((await next(/^active \d+$/)).split(' ')[1]);
  return { child, memberPid, lines, next };
}

/** GET of a challenge path on one peer's HTTP listener: status and body. */
function get(host: string, port: number, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: p, timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Accepts Pebble's validation connections on `host:port` and never answers: the order stays open. */
async function holdServer(t: Tap.Test, host: string, port: number): Promise<{ firstPath: Promise<string> }> {
  let first!: (p: string) => void;
  const firstPath = new Promise<string>((r) => (first = r));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    let head = '';
    s.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      const line = head.split('\r\n', 1)[0]!;
      if (head.includes('\r\n')) first(line.split(' ')[1] ?? '');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  t.teardown(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }));
  return { firstPath };
}

const status = (app: TestApp) => (app.services.status.snapshot().Clustering as { Status: string }).Status;

t.test('orders validated through another peer, both ways; a dead orderer\'s answers expire', async (t) => {
  const c = await testCluster(t, { count: 3 });
  const httpPort = await freePortOn(ADDRESSES);
  const tlsPort = await freePortOn(ADDRESSES, [httpPort]);
  const pebble = await startPebble({ httpPort, tlsPort }, (fn) => t.teardown(fn));
  const peers = [1, 2].map((i) => clusterPeer(t, c, i));
  for (const [i, p] of peers.entries()) {
    await p.web.web.listenHttp(httpPort, ADDRESSES[i + 1]);
    await p.web.web.listenHttps(tlsPort, ADDRESSES[i + 1]);
  }
  const [joined, p1] = await Promise.all([Promise.all(peers.map((p) => p.run(FORM))), childPeer(t, c)]);
  for (const o of joined) t.match(o.out, /Joining the cluster/);
  for (const [i, p] of peers.entries()) await until(`peer ${i + 2} Active`, () => status(p) === 'Active' || undefined, 120_000);

  // The CA, its certificate and the challenge type are cluster-wide: set once, on peer 2.
  const [p2, p3] = peers as [TestApp, TestApp];
  const cas = p3.services.trust.count();
  const configured = await p2.run([
    `xConfiguration Security Acme DirectoryUrl: ${pebble.directoryUrl}`,
    'xConfiguration Security Acme Provider: Custom',
    'xConfiguration Security Acme AdminEmail: admin@example.com',
    'xConfiguration Security Acme Challenge Type: Http01',
    `xCommand Security Certificates CA Add\n${pebble.httpsCaPem}.`,
  ].join('\n') + '\n');
  t.notMatch(configured.out, /ERROR/, configured.out);
  await until('peer 3 has the CA and the provider', () => (p3.services.config.value('Security Acme DirectoryUrl') === pebble.directoryUrl
    && p3.services.trust.count() === cas + 1 ? true : undefined), 30_000);
  for (const p of peers) t.match((await p.run('xCommand Security Acme AcceptTerms Agree: True\n')).out, /OK/);

  const sign = async (p: TestApp, name: string) => {
    const r = await p.run(`xCommand Security Certificates CSR Discard\nxCommand Security Certificates CSR Create CommonName: ${name} KeyType: ECDSA-P256\nxCommand Security Acme Sign Wait: True\n`);
    return r.out;
  };
  const answersLeft = async () => (await c.client().snapshot('acme/')).entries.size;

  // HTTP-01, peer 2 orders and peer 3 answers; then peer 3 orders and peer 2 answers.
  for (const [orderer, answerer, name] of [[p2, 2, 'two.cluster.test'], [p3, 1, 'three.cluster.test']] as const) {
    await pebble.setA(name, [ADDRESSES[answerer]!]);
    const started = performance.now();
    const out = await sign(orderer, name);
    t.match(out, /Status: "?Succeeded"?/, `${name} validated at ${ADDRESSES[answerer]} (${(performance.now() - started).toFixed(0)} ms)\n${out}`);
    t.equal(await answersLeft(), 0, 'the order\'s answers and confirmations left etcd with its lease');
  }
  // Control: a name resolving to an address where no peer listens fails: the orders above could fail.
  await pebble.setA('nobody.cluster.test', ['127.0.0.5']);
  t.match(await sign(p2, 'nobody.cluster.test'), /Challenge failed for nobody\.cluster\.test/, 'no peer at the address: the CA cannot validate');

  // TLS-ALPN-01: peer 2 orders, peer 3's HTTPS listener shows the challenge certificate.
  t.notMatch((await p2.run('xConfiguration Security Acme Challenge Type: TlsAlpn01\n')).out, /ERROR/);
  await until('peer 3 uses TlsAlpn01', () => p3.services.config.value('Security Acme Challenge Type') === 'TlsAlpn01' || undefined, 30_000);
  await pebble.setA('alpn.cluster.test', [ADDRESSES[2]!]);
  const alpnOut = await sign(p2, 'alpn.cluster.test');
  t.match(alpnOut, /Status: "?Succeeded"?/, `tls-alpn-01 validated at peer 3\n${alpnOut}`);
  t.ok(p3.logLines.some((l) => /tls\.alpn-challenge/.test(l) && l.includes('"alpn.cluster.test"')), 'peer 3 served the challenge certificate');
  t.equal(await answersLeft(), 0);
  t.notMatch((await p2.run('xConfiguration Security Acme Challenge Type: Http01\n')).out, /ERROR/);
  await until('peer 3 back on Http01', () => p3.services.config.value('Security Acme Challenge Type') === 'Http01' || undefined, 30_000);

  // Peer 1 orders; the name resolves to 127.0.0.5 where nothing answers, so the order stays open.
  const held = await holdServer(t, '127.0.0.5', httpPort);
  await pebble.setA('dead.cluster.test', ['127.0.0.5']);
  p1.child.stdin!.write('order dead.cluster.test\n');
  await p1.next(/^ordering$/);
  const challengePath = await Promise.race([held.firstPath, p1.next(/^sign Failed/).then((l) => { throw new Error(`peer 1's order failed: ${l}`); })]);
  t.match(challengePath, /^\/\.well-known\/acme-challenge\/[A-Za-z0-9_-]{16,}$/, 'the CA asks for peer 1\'s token');
  const token = challengePath.split('/').pop()!;
  for (const host of [ADDRESSES[1]!, ADDRESSES[2]!]) {
    const r = await get(host, httpPort, challengePath);
    t.equal(r.status, 200, `${host} serves peer 1's token while it orders`);
    t.ok(r.body.startsWith(`${token}.`), 'with its key authorization');
  }
  await p1.next(/^sign InProgress$/);
  t.equal(p1.lines.filter((l) => l.startsWith('sign ')).at(-1), 'sign InProgress', 'peer 1 is mid-order');
  process.kill(p1.child.pid!, 'SIGKILL');
  process.kill(p1.memberPid, 'SIGKILL');
  const killed = performance.now();
  // Nobody revoked the lease: the answer outlives its orderer for a while...
  const right = await get(ADDRESSES[1]!, httpPort, challengePath);
  t.equal(right.status, 200, 'just after the kill the answer is still there (the lease holds)');
  // ...and is gone from every peer once the lease expires (TTL 10 s, plus an election if peer 1 led).
  for (const host of [ADDRESSES[1]!, ADDRESSES[2]!]) {
    await until(`${host} stops answering the dead order's token`, async () => ((await get(host, httpPort, challengePath)).status === 404 ? true : undefined), 60_000, 200);
  }
  const gone = (performance.now() - killed) / 1000;
  t.comment(`answers gone ${gone.toFixed(1)} s after the orderer died`);
  t.ok(gone > 3, 'not before the lease could expire');
  t.equal(await answersLeft(), 0, 'nothing left in etcd');
  t.equal((await get(ADDRESSES[1]!, httpPort, '/.well-known/acme-challenge/')).status, 404, 'same rules as ever: no token, 404');
  t.equal((await new Promise<number>((resolve, reject) => {
    const req = http.request({ host: ADDRESSES[1], port: httpPort, path: challengePath, method: 'POST', agent: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', reject);
    req.end();
  })), 405, 'POST to a challenge path: 405');
});
