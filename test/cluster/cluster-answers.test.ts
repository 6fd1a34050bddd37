// The etcd side of the shared challenge answers (src/cluster/answers.ts) against three real etcd
// members, one SharedAnswers per peer on its own client: a published order is served by the other
// peer (HTTP-01 token, TLS-ALPN-01 certificate to its follower) once publish() resolves, because
// publish() waits for the live peers' confirmation; a peer counted alive that never confirms holds
// publish() only for confirmMs; withdraw() removes everything everywhere; a fetch on another peer
// wakes the orderer's fetched().
import t from 'tap';
import { SharedAnswers, type AnswerPem } from '../../src/cluster/answers.js';
import { Logger, memorySink } from '../../src/platform/log.js';
import { testCluster, until } from '../helpers/etcd.js';

const TOKEN = 'sharedAnswerToken0123456789_-abcd';

t.test('publish, serve elsewhere, confirm, withdraw', async (t) => {
  const c = await testCluster(t);
  await Promise.all([0, 1, 2].map((i) => c.member(i).start()));
  const sink = memorySink();
  const logger = new Logger(sink);
  let alive: number[] = [2];
  const a = await SharedAnswers.open({ client: c.client(c.plan.endpoints, 0), self: 1, alive: () => alive, logger, confirmMs: 1500 });
  const b = await SharedAnswers.open({ client: c.client(c.plan.endpoints, 1), self: 2, alive: () => [1], logger });
  t.teardown(async () => { await a.close(); await b.close(); });
  const certs = new Map<string, AnswerPem | undefined>();
  b.followAlpn((name, pair) => certs.set(name, pair));

  const pair = { certPem: 'CERT', keyPem: 'KEY' };
  await a.publish('o1', { http: new Map([[TOKEN, `${TOKEN}.thumb`]]), alpn: new Map([['alpn.example.test', pair]]) });
  t.equal(b.httpAnswer(TOKEN), `${TOKEN}.thumb`, 'the other peer serves the token as soon as publish() resolves');
  t.same(certs.get('alpn.example.test'), pair, 'and its follower has the certificate');
  t.equal(a.httpAnswer(TOKEN), `${TOKEN}.thumb`, 'the orderer knows it too');
  t.notOk(sink.lines.some((l) => l.includes('cluster.answers.unconfirmed')), 'confirmed by peer 2');

  // The CA fetches the token from peer 2: the orderer hears of it.
  const woke = a.fetched('o1');
  t.equal(b.httpAnswer(TOKEN), `${TOKEN}.thumb`);
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<string>((resolve) => { timer = setTimeout(() => resolve('not within 10 s'), 10_000); });
  t.equal(await Promise.race([woke.then(() => 'woke'), bound]), 'woke', 'fetched() resolved after a fetch on peer 2');
  clearTimeout(timer);

  const snap = await c.client().snapshot('acme/');
  t.same([...snap.entries.keys()].sort(), ['acme/fetched/o1/2', 'acme/order/o1', 'acme/seen/o1/2'], 'the order, its confirmation and its fetch');

  await a.withdraw('o1');
  await until('peer 2 stops answering', () => (b.httpAnswer(TOKEN) === undefined ? true : undefined), 10_000, 10);
  await until('peer 2 removed the certificate', () => (certs.has('alpn.example.test') && certs.get('alpn.example.test') === undefined ? true : undefined), 10_000, 10);
  t.equal((await c.client().snapshot('acme/')).entries.size, 0, 'nothing left: the lease took every key');

  // A peer counted alive that never confirms holds publish() for confirmMs, no longer.
  alive = [2, 3];
  const started = performance.now();
  await a.publish('o2', { http: new Map([[TOKEN, `${TOKEN}.two`]]) });
  const waited = performance.now() - started;
  t.ok(waited >= 1400 && waited < 10_000, `publish() gave up waiting for peer 3 after ${waited.toFixed(0)} ms`);
  t.ok(sink.lines.some((l) => l.includes('cluster.answers.unconfirmed') && l.includes('"peers":[3]')), 'logged which peer did not confirm');
  await a.close();
  await until('closing withdraws this peer\'s orders', () => (b.httpAnswer(TOKEN) === undefined ? true : undefined), 10_000, 10);
});
