// The shared challenge answers as one peer sees them (src/cluster/answers.ts AnswerTable): pure
// map logic over the puts and deletes under `acme/`. HTTP-01 tokens of every order answer here;
// TLS-ALPN-01 certificates of other peers' orders come and go as changes (this peer's own are
// served by its own solver); confirmations are counted per order; foreign values change nothing.
import t from 'tap';
import { AnswerTable, encodeOrder, fetchedKey, orderKey, seenKey } from '../../src/cluster/answers.js';

const pem = (n: string) => ({ certPem: `cert ${n}`, keyPem: `key ${n}` });
const order = (peer: number, http: Record<string, string>, alpn: Record<string, ReturnType<typeof pem>> = {}) =>
  encodeOrder(peer, '7587', { http: new Map(Object.entries(http)), alpn: new Map(Object.entries(alpn)) });

t.test('HTTP-01 tokens answer exactly while their order is present', async (t) => {
  const table = new AnswerTable(2);
  t.same(table.apply(orderKey('o1'), order(1, { tok1: 'tok1.thumb' })), [], 'no certificate change');
  t.same(table.apply(orderKey('o2'), order(2, { tok2: 'tok2.thumb' })), []);
  t.equal(table.http('tok1'), 'tok1.thumb', "another peer's token");
  t.equal(table.http('tok2'), 'tok2.thumb', "this peer's own token too");
  t.equal(table.http('nope'), undefined);
  t.same(table.foreignOrders(), [{ id: 'o1', lease: '7587' }], 'only the other peer\'s order needs a confirmation');
  t.same(table.foreignOwner('tok1'), { id: 'o1', lease: '7587' }, 'a served foreign token names its order');
  t.equal(table.foreignOwner('tok2'), undefined, 'this peer\'s own token: nobody to tell');
  table.apply(orderKey('o1'), undefined);
  t.equal(table.http('tok1'), undefined, 'gone with its order');
  t.equal(table.http('tok2'), 'tok2.thumb');
});

t.test('TLS-ALPN-01 certificates of other peers come and go as changes', async (t) => {
  const table = new AnswerTable(2);
  t.same(table.apply(orderKey('a'), order(1, {}, { 'One.Example.com': pem('a1'), 'two.example.com': pem('a2') })), [
    { name: 'one.example.com', pair: pem('a1') }, { name: 'two.example.com', pair: pem('a2') },
  ], 'names lower-cased');
  t.same(table.apply(orderKey('mine'), order(2, {}, { 'three.example.com': pem('m') })), [], "this peer's own order is no change");
  t.same(table.apply(orderKey('b'), order(3, {}, { 'two.example.com': pem('b2') })), [{ name: 'two.example.com', pair: pem('b2') }], 'a later order wins a name');
  t.same(table.apply(orderKey('b'), undefined), [{ name: 'two.example.com', pair: pem('a2') }], 'the earlier one is back when it ends');
  t.same(table.apply(orderKey('a'), undefined), [{ name: 'one.example.com', pair: undefined }, { name: 'two.example.com', pair: undefined }]);
  t.same([...table.alpnView()], []);
});

t.test('a snapshot replaces everything and says what changed', async (t) => {
  const table = new AnswerTable(1);
  table.apply(orderKey('a'), order(2, { ta: 'ta.x' }, { 'a.example.com': pem('a') }));
  table.apply(orderKey('b'), order(3, {}, { 'b.example.com': pem('b') }));
  table.apply(seenKey('a', 3), '');
  const changes = table.reset(new Map([
    [orderKey('b'), order(3, {}, { 'b.example.com': pem('b') })],
    [orderKey('c'), order(2, { tc: 'tc.x' }, { 'c.example.com': pem('c') })],
    [seenKey('c', 3), ''],
  ]));
  t.same(changes, [{ name: 'a.example.com', pair: undefined }, { name: 'c.example.com', pair: pem('c') }], 'b unchanged: not repeated');
  t.equal(table.http('ta'), undefined);
  t.equal(table.http('tc'), 'tc.x');
  t.same([...table.seenBy('a')], [], 'confirmations reset too');
  t.same([...table.seenBy('c')], [3]);
});

t.test('confirmations per order; foreign keys and bad values change nothing', async (t) => {
  const table = new AnswerTable(1);
  table.apply(orderKey('o'), order(1, { t1: 't1.x' }));
  table.apply(seenKey('o', 2), '');
  table.apply(seenKey('o', 3), '');
  t.same([...table.seenBy('o')].sort(), [2, 3]);
  table.apply(seenKey('o', 2), undefined);
  t.same([...table.seenBy('o')], [3], 'a confirmation gone with its lease');
  table.apply(fetchedKey('o', 2), '');
  t.same([...table.fetchedFrom('o')], [2], 'the CA fetched a token from peer 2');
  t.same([...table.seenBy('o')], [3], 'fetches are not confirmations');
  for (const [k, v] of [
    [orderKey('bad'), '{not json'],
    [orderKey('bad2'), JSON.stringify({ peer: 'x', lease: '1', http: {}, alpn: {} })],
    [orderKey('bad3'), JSON.stringify({ peer: 2, http: {}, alpn: {} })],
    ['acme/order/../x', order(2, { evil: 'e' })],
    ['acme/order/a/b', order(2, { evil: 'e' })],
    ['acme/seen/o/0', ''],
    ['acme/seen/o/x', ''],
    ['acme/fetched/o/0', ''],
    ['acme/other', 'x'],
  ] as const) {
    t.same(table.apply(k, v), [], `${k}: no change`);
  }
  t.equal(table.http('evil'), undefined);
  t.same([...table.seenBy('o')], [3]);
  t.same(table.foreignOrders(), []);
  // A token with a non-string answer is dropped, the rest kept; a certificate without its key too.
  table.apply(orderKey('mixed'), JSON.stringify({ peer: 2, lease: '9', http: { good: 'g.x', bad: 5 }, alpn: { 'x.example.com': { certPem: 'c' } } }));
  t.equal(table.http('good'), 'g.x');
  t.equal(table.http('bad'), undefined);
  t.same([...table.alpnView()], []);
});
