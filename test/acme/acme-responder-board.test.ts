// The HTTP-01 responder with a cluster's board (src/services/acme/board.ts), over a real HTTP
// listener on loopback. The board here is an in-memory one standing for etcd (the etcd one is
// tested in test/cluster/cluster-acme.test.ts): while it is shared the handler stays on the
// listener and serves every peer's tokens by the same per-request rules; an order publishes its
// tokens there and withdraws them at close; a board that refuses them fails the order step with
// one sentence; without a board nothing changes (the handler comes and goes with the orders).
import t from 'tap';
import http from 'node:http';
import { ChallengeResponder, CHALLENGE_PREFIX } from '../../src/services/acme/responder.js';
import type { BoardPem, ChallengeBoard } from '../../src/services/acme/board.js';
import { OrderFailure } from '../../src/services/acme/reasons.js';
import { startChallengeHost } from '../helpers/challenge-host.js';

const OTHER = 'otherPeerToken0123456789_-abcdef';
const MINE = 'thisPeerToken0123456789_-abcdefgh';

class MemoryBoard implements ChallengeBoard {
  readonly http = new Map<string, Map<string, string>>();
  readonly log: string[] = [];
  refuse = false;
  async publish(id: string, a: { http?: ReadonlyMap<string, string>; alpn?: ReadonlyMap<string, BoardPem> }): Promise<void> {
    if (this.refuse) throw new Error('The cluster did not confirm writing acme/order/x within 3 s: no quorum or no member reachable');
    this.http.set(id, new Map(a.http));
    this.log.push(`publish ${id}`);
  }
  async withdraw(id: string): Promise<void> {
    this.http.delete(id);
    this.log.push(`withdraw ${id}`);
  }
  httpAnswer(token: string): string | undefined {
    for (const m of this.http.values()) if (m.has(token)) return m.get(token);
    return undefined;
  }
  fetched(): Promise<void> {
    return new Promise(() => undefined);
  }
  followAlpn(): void {}
}

function request(port: number, method: string, p: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, agent: false, headers: body ? { 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

t.test('a shared board: every peer\'s tokens, the same rules, published and withdrawn', async (t) => {
  const host = await startChallengeHost();
  t.teardown(() => host.close());
  const responder = new ChallengeResponder(host);
  const board = new MemoryBoard();
  board.http.set('peer2-order', new Map([[OTHER, `${OTHER}.thumb`]]));

  t.equal((await request(host.port, 'GET', CHALLENGE_PREFIX + OTHER)).status, 404, 'standalone: another peer\'s token is unknown');
  t.notOk(host.installed, 'standalone without an order: no handler');

  responder.share(board);
  t.ok(host.installed, 'shared: the handler is on the listener without any order of its own');
  t.same(await request(host.port, 'GET', CHALLENGE_PREFIX + OTHER), { status: 200, body: `${OTHER}.thumb` }, 'another peer\'s token served');
  t.equal((await request(host.port, 'HEAD', CHALLENGE_PREFIX + OTHER)).status, 200);
  t.equal((await request(host.port, 'POST', CHALLENGE_PREFIX + OTHER)).status, 405, 'same rules: POST refused');
  t.equal((await request(host.port, 'GET', CHALLENGE_PREFIX + OTHER, 'x')).status, 400, 'same rules: a body refused');
  t.equal((await request(host.port, 'GET', CHALLENGE_PREFIX + OTHER + '?x=1')).status, 404, 'same rules: exact path only');
  t.equal((await request(host.port, 'GET', CHALLENGE_PREFIX + MINE)).status, 404);

  await responder.open('o1', new Map([[MINE, `${MINE}.thumb`]]));
  t.same(board.log, ['publish o1'], 'the order\'s tokens went to the board');
  t.same(await request(host.port, 'GET', CHALLENGE_PREFIX + MINE), { status: 200, body: `${MINE}.thumb` });
  responder.close('o1');
  await new Promise((r) => setImmediate(r));
  t.same(board.log, ['publish o1', 'withdraw o1'], 'withdrawn when the order ends');
  t.equal((await request(host.port, 'GET', CHALLENGE_PREFIX + MINE)).status, 404);
  t.ok(host.installed, 'the handler stays while the board is shared');

  board.http.delete('peer2-order');
  t.equal((await request(host.port, 'GET', CHALLENGE_PREFIX + OTHER)).status, 404, 'gone from the board: gone here');

  board.refuse = true;
  const refused = await responder.open('o2', new Map([[MINE, `${MINE}.thumb`]])).then(() => undefined, (e: unknown) => e);
  t.ok(refused instanceof OrderFailure, 'a board that refuses fails the order step');
  t.match((refused as OrderFailure).failure, { kind: 'local', retryable: true, reason: /^The cluster did not take the challenge answers: The cluster did not confirm/ });
  responder.close('o2');

  responder.share(undefined);
  t.notOk(host.installed, 'standalone again: the handler leaves with the board');
  const withdrawn = board.log.length;
  await responder.open('o3', new Map([[MINE, `${MINE}.thumb`]]));
  responder.close('o3');
  t.equal(board.log.length, withdrawn, 'a standalone order touches no board');
});
