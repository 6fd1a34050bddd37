// The HTTP-01 responder under hostile requests. Pure: only GET/HEAD of the exact path of a live
// token is ever answered with 200. Live: while a real Pebble order is held open (its validation
// requests wait in a front), hostile requests go straight to the appliance's HTTP listener;
// only the exact tokens are served, and after the order nothing is.
import t from 'tap';
import fc from 'fast-check';
import net from 'node:net';
import { answer, CHALLENGE_PREFIX, TOKEN } from '../../src/services/acme/responder.js';
import { acmeEnv, ADMIN } from '../helpers/acme-env.js';
import { startFront, type Front } from '../helpers/front.js';

const TOK = 'abcdefghijklmnopqrstuvwxyzABCDEF0123456789_-x';
const lookup = (tk: string) => (tk === TOK ? 'KEYAUTH' : undefined);

t.test('pure: only the exact path of a live token, GET or HEAD, no body', async (t) => {
  t.same(answer('GET', CHALLENGE_PREFIX + TOK, false, lookup), { status: 200, body: 'KEYAUTH' });
  t.same(answer('HEAD', CHALLENGE_PREFIX + TOK, false, lookup), { status: 200, body: 'KEYAUTH' });
  t.same(answer('POST', CHALLENGE_PREFIX + TOK, false, lookup), { status: 405 });
  t.same(answer('GET', CHALLENGE_PREFIX + TOK, true, lookup), { status: 400 });
  for (const u of [CHALLENGE_PREFIX + TOK + '/', CHALLENGE_PREFIX + TOK + '?a=1', CHALLENGE_PREFIX + TOK.toUpperCase(),
    CHALLENGE_PREFIX + '%2e%2e/' + TOK, CHALLENGE_PREFIX + '../acme-challenge/' + TOK, CHALLENGE_PREFIX, CHALLENGE_PREFIX + TOK + '%00',
    CHALLENGE_PREFIX + TOK.slice(1), CHALLENGE_PREFIX + TOK + 'x']) {
    t.same(answer('GET', u, false, lookup), { status: 404 }, u);
  }
  t.equal(answer('GET', '/', false, lookup), undefined, 'other paths: the listener decides');
  t.equal(answer('GET', `http://x${CHALLENGE_PREFIX}${TOK}`, false, lookup), undefined, 'absolute-form is not the challenge path');
  t.ok(TOKEN.test(TOK));
  fc.assert(fc.property(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'get', 'OPTIONS'), fc.string({ maxLength: 120 }), fc.boolean(), (m, rest, body) => {
    const url = Math.random() < 0.5 ? CHALLENGE_PREFIX + rest : rest;
    const a = answer(m, url, body, lookup);
    const exact = (m === 'GET' || m === 'HEAD') && !body && url === CHALLENGE_PREFIX + TOK;
    return (a?.status === 200) === exact;
  }), { numRuns: 2000 });
});

/** One raw HTTP exchange; resolves with the status line (or how the connection ended) and body. */
function raw(port: number, request: string | Buffer, timeoutMs = 15_000): Promise<{ status: string; body: string; ms: number }> {
  return new Promise((resolve) => {
    const start = performance.now();
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    s.on('data', (d) => (data += d.toString('latin1')));
    const done = (why: string) => {
      const status = data ? data.split('\r\n')[0]! : why;
      const body = data.includes('\r\n\r\n') ? data.slice(data.indexOf('\r\n\r\n') + 4) : '';
      resolve({ status, body, ms: Math.round(performance.now() - start) });
    };
    s.on('end', () => done('closed'));
    s.on('close', () => done('closed'));
    s.on('error', () => done('reset'));
    s.setTimeout(timeoutMs, () => { s.destroy(); done('timeout'); });
    s.end(request);
  });
}

const req = (method: string, p: string, extra = '') => `${method} ${p} HTTP/1.1\r\nHost: edge.example.com\r\nConnection: close\r\n${extra}\r\n`;

t.test('live: hostile requests while an order is open', async (t) => {
  let front: Front | undefined;
  const env = await acmeEnv(t, {
    limits: { orderTimeoutMs: 60_000, orderAttempts: 1 },
    front: async (port) => { front = await startFront(port, 'hold'); t.teardown(() => front!.close()); return front.port; },
  });
  await env.configure();
  env.set({ 'Http Redirect Mode': 'On' });
  env.listeners.setRedirect(true);
  await env.csr(['hostile.example.com']);
  const signing = env.acme.sign(undefined, true, ADMIN);
  const tokenPath = await front!.firstRequest;
  t.match(tokenPath, new RegExp(`^${CHALLENGE_PREFIX.replace(/\//g, '\\/').replace(/\./g, '\\.')}[A-Za-z0-9_-]+$`));
  const token = tokenPath.slice(CHALLENGE_PREFIX.length);
  t.equal(env.acme.challengesActive(), true);

  const exact = await raw(env.httpPort, req('GET', tokenPath));
  t.match(exact.status, /^HTTP\/1\.1 200 /);
  t.match(exact.body, new RegExp(`^${token.replace(/-/g, '\\-')}\\.[A-Za-z0-9_-]{43}$`), 'the key authorization, nothing else');
  const head = await raw(env.httpPort, req('HEAD', tokenPath));
  t.match(head.status, /^HTTP\/1\.1 200 /);
  t.equal(head.body, '', 'HEAD has no body');

  // Slowloris: headers dribbled one byte a second must be cut off by the listener's header
  // timeout and never served. Started now, awaited after the order (pebble's validator would
  // time out if its request were held that long).
  const slowloris = new Promise<{ status: string; ms: number }>((resolve) => {
    const start = performance.now();
    const s = net.connect(env.httpPort, '127.0.0.1');
    let data = '';
    let i = 0;
    const text = `GET ${tokenPath} HTTP/1.1\r\nHost: edge.example.com\r\nX-Slow: ${'z'.repeat(100)}`;
    const timer = setInterval(() => { if (!s.destroyed && i < text.length) s.write(text[i++]!); }, 1000);
    s.write(text.slice(0, 40)); i = 40;
    s.on('data', (d) => (data += d.toString('latin1')));
    let settled = false;
    const done = (why: string) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      clearTimeout(guard);
      resolve({ status: data ? data.split('\r\n')[0]! : why, ms: Math.round(performance.now() - start) });
    };
    s.on('close', () => done('closed by the listener'));
    s.on('error', () => done('reset by the listener'));
    const guard = setTimeout(() => { s.destroy(); done('still open after 15 s'); }, 15_000);
  });

  const cases: [string, string | Buffer, RegExp][] = [
    ['root path is redirected as configured', req('GET', '/'), /^HTTP\/1\.1 301 /],
    ['other path', req('GET', '/index.html'), /^HTTP\/1\.1 301 /],
    ['prefix only', req('GET', CHALLENGE_PREFIX), /^HTTP\/1\.1 404 /],
    ['other token', req('GET', CHALLENGE_PREFIX + 'A'.repeat(43)), /^HTTP\/1\.1 404 /],
    ['token with trailing slash', req('GET', tokenPath + '/'), /^HTTP\/1\.1 404 /],
    ['token with query', req('GET', tokenPath + '?x=1'), /^HTTP\/1\.1 404 /],
    ['case changed', req('GET', CHALLENGE_PREFIX + token.toUpperCase() + (token === token.toUpperCase() ? 'x' : '')), /^HTTP\/1\.1 404 /],
    ['%2e%2e', req('GET', `${CHALLENGE_PREFIX}%2e%2e/${token}`), /^HTTP\/1\.1 404 /],
    ['dot segments', req('GET', `${CHALLENGE_PREFIX}../acme-challenge/${token}`), /^HTTP\/1\.1 404 /],
    ['encoded prefix', req('GET', `/.well-known/acme-challenge%2F${token}`), /^HTTP\/1\.1 301 /],
    ['absolute-form', req('GET', `http://edge.example.com${tokenPath}`), /^HTTP\/1\.1 (400|404) /],
    ['POST', req('POST', tokenPath, 'Content-Length: 0\r\n'), /^HTTP\/1\.1 405 /],
    ['PUT with body', Buffer.from(req('PUT', tokenPath, 'Content-Length: 5\r\n') + 'hello'), /^HTTP\/1\.1 405 /],
    ['GET with body', Buffer.from(req('GET', tokenPath, 'Content-Length: 5\r\n') + 'hello'), /^HTTP\/1\.1 400 /],
    ['64 KiB header', req('GET', tokenPath, `X-Big: ${'a'.repeat(64 * 1024)}\r\n`), /^(HTTP\/1\.1 431 |closed|reset)/],
    ['NUL in path', req('GET', `${tokenPath}%00`), /^HTTP\/1\.1 404 /],
  ];
  for (const [name, r, want] of cases) {
    const got = await raw(env.httpPort, r);
    t.match(got.status, want, `${name}: ${got.status}`);
    t.notMatch(got.body, new RegExp(token.replace(/-/g, '\\-') + '\\.'), `${name}: key authorization not disclosed`);
  }

  front!.release();
  const r = await signing;
  t.equal(r.status, 'Succeeded', r.reason);
  t.equal(env.acme.challengesActive(), false);
  const afterwards = await raw(env.httpPort, req('GET', tokenPath));
  t.match(afterwards.status, /^HTTP\/1\.1 404 /, 'the token is no longer served (and not redirected)');
  const other = await raw(env.httpPort, req('GET', '/index.html'));
  t.match(other.status, /^HTTP\/1\.1 301 /, 'port 80 back to its configured behaviour');

  const slow = await slowloris;
  t.notMatch(slow.status, /200/, `slowloris: ${slow.status}`);
  t.notMatch(slow.status, /still open/, `slowloris cut off after ${slow.ms} ms`);
  t.ok(slow.ms < 8000, `cut off near the 5 s header timeout, not Node's 30 s check interval (${slow.ms} ms)`);
  // Node checks header timeouts every connectionsCheckingInterval (30 s unless the listener sets it).
  t.comment(`slowloris connection ended after ${slow.ms} ms: ${slow.status}`);
});
